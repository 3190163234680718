package ingest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
)

// BenchmarkIngestBinary posts single binary-mode events from 64 concurrent clients to ingest
// over an in-process broker: HTTP, decoding, validation, encoding and the Kafka acknowledgement.
func BenchmarkIngestBinary(b *testing.B) {
	benchmarkIngest(b, 1)
}

// BenchmarkIngestBatch posts batches of 100 structured events from 64 concurrent clients.
func BenchmarkIngestBatch(b *testing.B) {
	benchmarkIngest(b, 100)
}

func benchmarkIngest(b *testing.B, batch int) {
	s := newServer(b, func(c *config.Ingest) { c.MaxBodyBytes = 1 << 20; c.MaxBatchEvents = 1000 })
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	client := &http.Client{Transport: transport}
	var seq atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			var req *http.Request
			if batch == 1 {
				req, _ = http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(fmt.Sprintf(`{"user_id":"u%d","item_id":"i%d","title":"A title","category":"books"}`, n%1000, n%5000)))
				req.Header = http.Header{
					"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {fmt.Sprint("e", n)},
					"Ce-Source": {"bench"}, "Ce-Type": {contract.TypeLiked},
				}
			} else {
				var sb strings.Builder
				sb.WriteByte('[')
				for i := range batch {
					if i > 0 {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, `{"specversion":"1.0","id":"e%d-%d","source":"bench","type":%q,"data":{"user_id":"u%d","item_id":"i%d","title":"A title","category":"books"}}`, n, i, contract.TypeLiked, i, n%5000)
				}
				sb.WriteByte(']')
				req, _ = http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(sb.String()))
				req.Header.Set("Content-Type", "application/cloudevents-batch+json")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N*batch), "cpu-µs/event")
}

// cpuTime returns the CPU time the process has used, user and system: clients, ingest and the
// broker together.
func cpuTime() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
