package freshness

import (
	"math"
	"time"
)

// Report is the answer popularity serves at Path: how long the events of the last window took
// from their event time until the view served them.
type Report struct {
	// WindowSeconds is how far back the report looks.
	WindowSeconds float64 `json:"window_seconds"`
	// Samples is how many item updates became visible in the window; zero means none, and the
	// quantiles say nothing.
	Samples uint64 `json:"samples"`
	// P50Seconds and P99Seconds are the median and 99th percentile, in seconds.
	P50Seconds float64 `json:"p50_seconds"`
	P99Seconds float64 `json:"p99_seconds"`
	// AsOf is when the report was made.
	AsOf time.Time `json:"as_of"`
}

// NewReport returns the Report of s over window at asOf.
func NewReport(s Summary, window time.Duration, asOf time.Time) Report {
	return Report{
		WindowSeconds: window.Seconds(),
		Samples:       s.Samples,
		P50Seconds:    s.P50.Seconds(),
		P99Seconds:    s.P99.Seconds(),
		AsOf:          asOf.UTC(),
	}
}

// P99 returns the 99th percentile as a Duration rounded to the millisecond.
func (r Report) P99() time.Duration {
	return time.Duration(math.Round(r.P99Seconds*1000)) * time.Millisecond
}
