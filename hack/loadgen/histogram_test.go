package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted: the reference Histogram is checked
// against.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
	return sorted[rank-1]
}

func TestHistogramQuantileMatchesSortedSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name string
		draw func() time.Duration
	}{
		{"sub-microsecond", func() time.Duration { return time.Duration(rng.IntN(256)) }},
		{"uniform up to 10ms", func() time.Duration { return time.Duration(rng.Int64N(int64(10 * time.Millisecond))) }},
		{"log-normal around 2ms", func() time.Duration {
			return time.Duration(float64(2*time.Millisecond) * math.Exp(rng.NormFloat64()))
		}},
		{"bimodal with a slow tail", func() time.Duration {
			if rng.IntN(100) == 0 {
				return time.Duration(rng.Int64N(int64(5 * time.Second)))
			}
			return time.Duration(rng.Int64N(int64(time.Millisecond)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			samples := make([]time.Duration, 20_000)
			for i := range samples {
				samples[i] = tt.draw()
				h.Record(samples[i])
			}
			slices.Sort(samples)
			if got := h.Count(); got != uint64(len(samples)) {
				t.Fatalf("Count() = %d, want %d", got, len(samples))
			}
			if got, want := h.Max(), samples[len(samples)-1]; got != want {
				t.Errorf("Max() = %v, want %v", got, want)
			}
			for _, q := range []float64{0, 0.001, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(samples, q)
				got := h.Quantile(q)
				// The histogram reports the top of the value's bucket: never below the exact
				// value, and at most 1/128 above it.
				if got < want || float64(got-want) > float64(want)/128 {
					t.Errorf("Quantile(%v) = %v, want %v within +1/128", q, got, want)
				}
			}
		})
	}
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	var h Histogram
	for d := range time.Duration(256) {
		h.Record(d)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 127}, {0.99, 253}, {1, 255}} {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	if h.Count() != 0 || h.Quantile(0.99) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Errorf("empty histogram: count %d, p99 %v, max %v, mean %v; want all zero", h.Count(), h.Quantile(0.99), h.Max(), h.Mean())
	}
}

func TestHistogramExtremes(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	h.Record(time.Duration(math.MaxInt64))
	if got := h.Quantile(0.5); got != 0 {
		t.Errorf("a negative duration counts as %v, want 0", got)
	}
	if got := h.Quantile(1); got != time.Duration(math.MaxInt64) {
		t.Errorf("Quantile(1) = %v, want the largest duration", got)
	}
}

func TestHistogramMergeEqualsRecordingAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b, all Histogram
	for i := range 10_000 {
		d := time.Duration(rng.Int64N(int64(time.Second)))
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	a.Merge(&b)
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Mean() != all.Mean() {
		t.Fatalf("merged count/max/mean = %d/%v/%v, want %d/%v/%v", a.Count(), a.Max(), a.Mean(), all.Count(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.99} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
}

func TestBucketBoundaries(t *testing.T) {
	// Every bucket's top falls in that bucket and the next value in the next one.
	for i := range numBuckets - 1 {
		top := bucketTop(i)
		if got := bucketOf(top); got != i {
			t.Fatalf("bucketOf(bucketTop(%d) = %d) = %d", i, top, got)
		}
		if got := bucketOf(top + 1); got != i+1 {
			t.Fatalf("bucketOf(%d) = %d, want %d", top+1, got, i+1)
		}
	}
	if got := bucketOf(time.Duration(math.MaxInt64)); got != numBuckets-1 {
		t.Errorf("the largest duration falls in bucket %d, want the last, %d", got, numBuckets-1)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i) * 997)
	}
}
