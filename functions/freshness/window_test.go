package freshness

import (
	"testing"
	"time"
)

func TestBucketBoundsHoldTheirValues(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, time.Millisecond, 1100 * time.Microsecond,
		1101 * time.Microsecond, 250 * time.Millisecond, 2 * time.Second, time.Hour, 100 * time.Hour} {
		i := bucket(d)
		if i < numBuckets-1 && bounds[i] < d {
			t.Errorf("bucket(%v) = %d with bound %v below the value", d, i, bounds[i])
		}
		if i > 0 && bounds[i-1] >= d {
			t.Errorf("bucket(%v) = %d, but bucket %d's bound %v already holds it", d, i, i-1, bounds[i-1])
		}
	}
}

func TestSummarizeQuantilesAreWithinTenPercentAbove(t *testing.T) {
	w := NewWindow(DefaultWindow, DefaultSlots)
	now := time.Unix(1_700_000_000, 0)
	// 1 ms, 2 ms, ..., 1000 ms: the median is 500 ms and the 99th percentile 990 ms.
	for i := 1; i <= 1000; i++ {
		w.Observe(time.Duration(i)*time.Millisecond, now)
	}
	s := w.Summarize(now)
	if s.Samples != 1000 {
		t.Fatalf("samples = %d, want 1000", s.Samples)
	}
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", s.P50, 500 * time.Millisecond}, {"p99", s.P99, 990 * time.Millisecond}} {
		if c.got < c.want || c.got > c.want*11/10 {
			t.Errorf("%s = %v, want within [%v, %v]", c.name, c.got, c.want, c.want*11/10)
		}
	}
}

func TestSummarizeForgetsWhatLeftTheWindow(t *testing.T) {
	w := NewWindow(time.Minute, 6)
	start := time.Unix(1_700_000_000, 0)
	w.Observe(30*time.Second, start)
	w.Observe(time.Second, start.Add(55*time.Second))
	if s := w.Summarize(start.Add(55 * time.Second)); s.Samples != 2 {
		t.Fatalf("within the minute: samples = %d, want 2", s.Samples)
	}
	s := w.Summarize(start.Add(65 * time.Second))
	if s.Samples != 1 || s.P99 < time.Second || s.P99 > 1100*time.Millisecond {
		t.Fatalf("after the first slot left: %+v, want the 1s sample alone", s)
	}
	if s := w.Summarize(start.Add(10 * time.Minute)); s != (Summary{}) {
		t.Fatalf("long after: %+v, want nothing", s)
	}
}

func TestObserveReusesAStaleSlot(t *testing.T) {
	w := NewWindow(time.Minute, 6)
	start := time.Unix(1_700_000_000, 0)
	w.Observe(time.Hour, start)
	later := start.Add(time.Minute) // same slot position, next lap
	w.Observe(time.Millisecond, later)
	if s := w.Summarize(later); s.Samples != 1 || s.P99 != time.Millisecond {
		t.Fatalf("%+v, want only the 1ms sample", s)
	}
}

func TestNegativeLatencyCountsAsZero(t *testing.T) {
	w := NewWindow(time.Minute, 6)
	now := time.Unix(1_700_000_000, 0)
	w.Observe(-time.Second, now)
	if s := w.Summarize(now); s.Samples != 1 || s.P99 != minBound {
		t.Fatalf("%+v, want one sample in the first bucket", s)
	}
}
