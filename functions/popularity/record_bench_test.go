package popularity

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// BenchmarkInteraction measures reading one clean record, the processor's per-event decoding.
func BenchmarkInteraction(b *testing.B) {
	events := popularitytest.NewGenerator(1, 1000, time.Now()).Events(1000)
	msgs := make([]*sarama.ConsumerMessage, len(events))
	for i := range events {
		pm, err := kafka.NewSink(nil, "clean").Record(b.Context(), &events[i])
		if err != nil {
			b.Fatal(err)
		}
		rec := asRecord(b, pm)
		msgs[i] = &sarama.ConsumerMessage{Key: rec.Key, Value: rec.Value, Headers: rec.Headers}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := interaction(b.Context(), msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeChangelog measures reading one changelog record, the cost per record of a
// restore and of the view.
func BenchmarkDecodeChangelog(b *testing.B) {
	state := hotness.ItemState{
		ItemID: "item-123456", Category: "books", Score: 12.75, ScoreTime: time.Unix(1_800_000_000, 0), UpdatedAt: time.Unix(1_800_000_100, 1),
		Counts:   map[contract.Action]int64{contract.ActionLiked: 12, contract.ActionViewed: 40, contract.ActionShared: 1},
		Segments: map[string]float64{"25-34.f": 3.5, "18-24.m": 1.25},
	}
	msg, err := changelogRecord(b.Context(), "pop", 0, state)
	if err != nil {
		b.Fatal(err)
	}
	rec := asRecord(b, msg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeChangelog(b.Context(), rec); err != nil {
			b.Fatal(err)
		}
	}
}
