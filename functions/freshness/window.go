// Package freshness measures how long events take to become visible in the served rankings. A
// Window keeps the latencies of the last minute in fixed buckets and answers quantiles; Report is
// the JSON form popularity serves at Path and the operator reads into a pipeline's status. The
// package imports only the standard library, so the operator can use it without Kafka.
package freshness

import (
	"math"
	"sync"
	"time"
)

// Path is where popularity serves its Report.
const Path = "/v1/freshness"

// Bucket bounds: the first upper bound is minBound and each next one is growth times the last,
// up to about an hour, so a reported quantile is at most 10% above the true one.
const (
	minBound   = time.Millisecond
	growth     = 1.1
	numBuckets = 160
)

// DefaultWindow is how far back a Window remembers, and DefaultSlots how many parts it keeps:
// the oldest part is forgotten as a whole, so a quantile covers between 50 and 60 seconds.
const (
	DefaultWindow = time.Minute
	DefaultSlots  = 6
)

// bounds are the buckets' upper bounds; the last bucket also holds everything above it.
var bounds = func() [numBuckets]time.Duration {
	var b [numBuckets]time.Duration
	for i := range b {
		b[i] = time.Duration(float64(minBound) * math.Pow(growth, float64(i)))
	}
	return b
}()

// Window is a sliding window of latencies: bounded memory (DefaultSlots × 160 counters) whatever
// the event rate. It is safe for concurrent use.
type Window struct {
	span time.Duration // of one slot

	mu    sync.Mutex
	slots []slot
}

type slot struct {
	index  int64 // start time / span; slots with another index are stale
	counts [numBuckets]uint64
}

// NewWindow returns an empty Window over the last window, kept in slots parts.
func NewWindow(window time.Duration, slots int) *Window {
	return &Window{span: window / time.Duration(slots), slots: make([]slot, slots)}
}

// Observe records that something took d to become visible at now. A negative d, from a client
// clock ahead of ours, counts as zero.
func (w *Window) Observe(d time.Duration, now time.Time) {
	i := bucket(d)
	idx := now.UnixNano() / int64(w.span)
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &w.slots[idx%int64(len(w.slots))]
	if s.index != idx {
		*s = slot{index: idx}
	}
	s.counts[i]++
}

// Summary is what a Window saw in its window.
type Summary struct {
	// Samples is the number of latencies observed.
	Samples uint64
	// P50 and P99 are the median and 99th percentile, rounded up to a bucket bound; zero when
	// there are no samples.
	P50, P99 time.Duration
}

// Summarize returns the quantiles of what was observed in the window that ends at now.
func (w *Window) Summarize(now time.Time) Summary {
	var counts [numBuckets]uint64
	var total uint64
	newest := now.UnixNano() / int64(w.span)
	w.mu.Lock()
	for _, s := range w.slots {
		if s.index <= newest-int64(len(w.slots)) || s.index > newest {
			continue
		}
		for i, c := range s.counts {
			counts[i] += c
			total += c
		}
	}
	w.mu.Unlock()
	if total == 0 {
		return Summary{}
	}
	return Summary{Samples: total, P50: quantile(&counts, total, 0.50), P99: quantile(&counts, total, 0.99)}
}

// quantile returns the upper bound of the bucket holding the q-quantile of counts.
func quantile(counts *[numBuckets]uint64, total uint64, q float64) time.Duration {
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return bounds[i]
		}
	}
	return bounds[numBuckets-1]
}

// bucket returns the index of the first bucket whose bound is at least d.
func bucket(d time.Duration) int {
	if d <= minBound {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(minBound)) / math.Log(growth)))
	// Floating point may land one off the exact bound.
	for i > 0 && i < numBuckets && bounds[i-1] >= d {
		i--
	}
	for i < numBuckets-1 && bounds[i] < d {
		i++
	}
	return min(i, numBuckets-1)
}
