package main

import (
	"math"
	"math/bits"
	"time"
)

// subBucketBits sets the histogram's precision: each power-of-two range of durations is split
// into 2^subBucketBits buckets, so a percentile is reported at most 1/128 (0.8%) above the
// recorded value.
const subBucketBits = 7

const (
	subBuckets = 1 << subBucketBits
	// linearLimit is the first value that does not have a bucket of its own.
	linearLimit = 2 * subBuckets
	// numBuckets covers every non-negative int64: the linear range plus one group of subBuckets
	// for each further power of two.
	numBuckets = linearLimit + (63-subBucketBits-1)*subBuckets
)

// Histogram counts durations in log-linear buckets, in the manner of an HDR histogram: values up
// to 255 ns are exact, and every larger value falls in a bucket no wider than 1/128 of it. It
// records in constant time and memory, so every request can be recorded, and quantiles are
// read without sorting samples. The zero value is empty and ready to use; a Histogram is not
// safe for concurrent use.
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	sum    float64
	max    time.Duration
}

// Record adds one duration; a negative duration counts as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(d)]++
	h.total++
	h.sum += float64(d)
	h.max = max(h.max, d)
}

// Merge adds every duration recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the average duration recorded, or zero for an empty histogram.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the duration below or at which the fraction q of the recorded durations lie
// (nearest rank: q=0.99 of 1,000 durations is the 990th smallest), rounded up to the top of its
// bucket and never above Max. It returns zero for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(min(max(q, 0), 1) * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(bucketTop(i), h.max)
		}
	}
	return h.max
}

// bucketOf returns the index of the bucket d falls in.
func bucketOf(d time.Duration) int {
	v := uint64(d)
	if v < linearLimit {
		return int(v)
	}
	shift := bits.Len64(v) - (subBucketBits + 1)
	top := int(v >> shift) // in [subBuckets, 2*subBuckets)
	return linearLimit + (shift-1)*subBuckets + top - subBuckets
}

// bucketTop returns the largest duration that falls in bucket i.
func bucketTop(i int) time.Duration {
	if i < linearLimit {
		return time.Duration(i)
	}
	shift := (i-linearLimit)/subBuckets + 1
	top := uint64((i-linearLimit)%subBuckets + subBuckets)
	return time.Duration((top+1)<<shift - 1)
}
