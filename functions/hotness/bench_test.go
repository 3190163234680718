package hotness_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
)

// Benchmark boards hold a million items with ids like "item-123456", 50 categories and 14
// audience segments (7 age bands by 2 genders), as the targets assume.
const (
	benchItems      = 1_000_000
	benchCategories = 50
	benchSegments   = 14
)

func benchID(buf []byte, k int) []byte {
	return strconv.AppendInt(append(buf[:0], "item-"...), int64(100_000+k), 10)
}

func benchCategory(k int) string { return "category-" + strconv.Itoa(k%benchCategories) }

func benchSegment(k int) string { return "segment-" + strconv.Itoa(k%benchSegments) }

// loadBoard returns a Board with benchItems items, each liked once in each of segments
// segments, at times spread over a day.
func loadBoard(segments int) *hotness.Board {
	b := hotness.NewBoard(hotness.Config{HalfLife: 6 * time.Hour, Weights: defaultWeights()})
	var buf []byte
	for k := range benchItems {
		buf = benchID(buf, k)
		in := hotness.Interaction{
			ItemID:   string(buf),
			Category: benchCategory(k),
			Action:   contract.ActionLiked,
			Time:     epoch.Add(time.Duration(k) * 86 * time.Millisecond),
		}
		b.Apply(in)
		for s := range segments {
			in.Segment = benchSegment(k + s)
			b.Apply(in)
		}
	}
	return b
}

// BenchmarkApply measures one interaction applied to a Board of a million items: an existing
// item chosen uniformly (every update misses the caches) or Zipf-distributed (a realistic hot
// set), any action, the item's category, a segment, and an event time 10 µs after the last one
// (100,000 events/s).
func BenchmarkApply(b *testing.B) {
	for _, dist := range []string{"uniform", "zipf"} {
		b.Run(dist, func(b *testing.B) {
			board := loadBoard(1)
			rng := rand.New(rand.NewPCG(1, 2))
			zipf := rand.NewZipf(rng, 1.1, 1, benchItems-1)
			events := make([]hotness.Interaction, 1<<16)
			var buf []byte
			for j := range events {
				k := rng.IntN(benchItems)
				if dist == "zipf" {
					k = int(zipf.Uint64())
				}
				buf = benchID(buf, k)
				in := hotness.Interaction{
					ItemID:   string(buf),
					Category: benchCategory(k),
					Segment:  benchSegment(rng.IntN(benchSegments)),
					Action:   contract.Actions[rng.IntN(len(contract.Actions))],
					Rating:   1 + rng.IntN(5),
				}
				events[j] = in
			}
			at := epoch.Add(24 * time.Hour)
			j := 0
			b.ReportAllocs()
			clock := startCPUClock()
			for b.Loop() {
				in := &events[j&(len(events)-1)]
				in.Time = at
				board.Apply(*in)
				at = at.Add(10 * time.Microsecond)
				j++
			}
			clock.report(b)
		})
	}
}

// BenchmarkMemory reports the heap a Board holds per item at a million items, indexes included,
// for items in no segment and in one or three segments.
func BenchmarkMemory(b *testing.B) {
	for _, segments := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("segments=%d", segments), func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				board := loadBoard(segments)
				runtime.GC()
				runtime.ReadMemStats(&after)
				if board.Len() != benchItems {
					b.Fatalf("board holds %d items, want %d", board.Len(), benchItems)
				}
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/benchItems, "bytes/item")
				runtime.KeepAlive(board)
			}
		})
	}
}

// BenchmarkTop100 measures a top-100 read at a million items, overall, in one of 50 categories,
// in one of 14 segments, and in a category within a segment.
func BenchmarkTop100(b *testing.B) {
	board := loadBoard(1)
	now := epoch.Add(24 * time.Hour)
	queries := []struct {
		name  string
		query hotness.Query
	}{
		{"overall", hotness.Query{N: 100}},
		{"category", hotness.Query{N: 100, Category: benchCategory(7)}},
		{"segment", hotness.Query{N: 100, Segment: benchSegment(3)}},
		{"segment+category", hotness.Query{N: 100, Segment: benchSegment(3), Category: benchCategory(7)}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			clock := startCPUClock()
			for b.Loop() {
				if got := board.Top(q.query, now); len(got) != 100 {
					b.Fatalf("Top returned %d items, want 100", len(got))
				}
			}
			clock.report(b)
		})
	}
}
