package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
)

// BenchmarkDecodeBatch is ingest's own work on a batch of 100 structured events, without HTTP or
// Kafka: reading the body, checking every event against the contract and encoding its record.
func BenchmarkDecodeBatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"specversion":"1.0","id":"bench-%d","source":"bench","type":%q,"subject":"i%d","data":{"user_id":"u%d","item_id":"i%d","title":"A title","category":"books"}}`,
			i, contract.TypeLiked, i, i, i)
	}
	sb.WriteByte(']')
	body := []byte(sb.String())
	header := http.Header{"Content-Type": {mediaBatch}}
	b.ReportAllocs()
	for b.Loop() {
		events, rej := decodeBinary(header, body, 1000)
		if rej != nil {
			b.Fatal(rej)
		}
		for i := range events {
			kafka.EncodeBinary("raw", &events[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}
