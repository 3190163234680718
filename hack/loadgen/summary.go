package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is the outcome of a load run, printed at its end and, with -json, as JSON.
type Summary struct {
	// Mode is the load mode.
	Mode string `json:"mode"`
	// Target is the URL or broker the load went to.
	Target string `json:"target"`
	// Connections is the number of concurrent workers.
	Connections int `json:"connections"`
	// Batch is the events per request (1 but in batch mode and batched freshness background).
	Batch int `json:"batch"`
	// InFlight bounds the records awaiting Kafka's acknowledgement (raw-producer mode).
	InFlight int `json:"in_flight,omitempty"`
	// Rate is the events per second asked for; 0 means as fast as possible.
	Rate float64 `json:"rate"`
	// Seed is the seed of the generated events; -seed repeats them.
	Seed uint64 `json:"seed"`
	// DurationSeconds is the time from the first request to the last answer.
	DurationSeconds float64 `json:"duration_seconds"`
	// Requests counts the requests with an outcome (records, in raw-producer mode).
	Requests int64 `json:"requests"`
	// Events counts the events those requests carried.
	Events int64 `json:"events"`
	// Accepted counts the events accepted (2xx) or, in raw-producer mode, acknowledged.
	Accepted int64 `json:"accepted"`
	// Failed counts the requests that were not accepted.
	Failed int64 `json:"failed"`
	// EventsPerSecond is Accepted per second.
	EventsPerSecond float64 `json:"events_per_second"`
	// RequestsPerSecond is Requests per second.
	RequestsPerSecond float64 `json:"requests_per_second"`
	// Latency summarises the latency of every request.
	Latency Percentiles `json:"latency_ms"`
	// Status counts the requests per HTTP status code.
	Status map[int]int64 `json:"status,omitempty"`
	// Errors counts the requests that got no answer, per kind of error.
	Errors map[string]int64 `json:"errors,omitempty"`
	// FirstError is the message of the first such error.
	FirstError string `json:"first_error,omitempty"`
	// Freshness summarises the freshness probes (freshness mode).
	Freshness *FreshnessSummary `json:"freshness,omitempty"`
}

// Percentiles summarise a distribution of durations, in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// FreshnessSummary is the outcome of the freshness probes.
type FreshnessSummary struct {
	// Probes counts the probe likes posted.
	Probes int64 `json:"probes"`
	// Failed counts the probe likes ingest did not accept.
	Failed int64 `json:"failed"`
	// Visible counts the likes popularity counted within the probe timeout.
	Visible int64 `json:"visible"`
	// Stale counts the accepted likes popularity did not count in time.
	Stale int64 `json:"stale"`
	// Freshness summarises the time from an accepted like to its count being served.
	Freshness Percentiles `json:"freshness_ms"`
	// FirstError tells why the first failed or stale probe did.
	FirstError string `json:"first_error,omitempty"`
}

// summarize turns the totals of a run that took elapsed into its Summary.
func summarize(cfg Config, t Totals, elapsed time.Duration) Summary {
	s := Summary{
		Mode: cfg.Mode, Target: cfg.Ingest, Connections: cfg.Connections, Batch: 1, Rate: cfg.Rate, Seed: cfg.Seed,
		DurationSeconds: elapsed.Seconds(),
		Requests:        t.Requests, Events: t.Events, Accepted: t.Accepted, Failed: t.Failed(),
		EventsPerSecond:   float64(t.Accepted) / elapsed.Seconds(),
		RequestsPerSecond: float64(t.Requests) / elapsed.Seconds(),
		Latency:           percentiles(&t.Latency),
		Status:            t.Status, Errors: t.Errors, FirstError: t.FirstError,
	}
	switch cfg.Mode {
	case ModeSingle, ModeFreshness:
		s.Target = strings.TrimSuffix(cfg.Ingest, "/") + "/"
	case ModeLikes:
		s.Target = strings.TrimSuffix(cfg.Ingest, "/") + "/v1/likes"
	case ModeRawProducer:
		s.Target = cfg.Kafka + " topic " + cfg.Topic
		s.InFlight = cfg.Connections * cfg.Batch
	}
	if cfg.Mode == ModeBatch || cfg.Mode == ModeFreshness && cfg.Batch > 1 {
		s.Target = strings.TrimSuffix(cfg.Ingest, "/") + "/"
		s.Batch = cfg.Batch
	}
	return s
}

// summarizeFreshness turns the probe counts into their summary.
func summarizeFreshness(t *FreshnessTotals) *FreshnessSummary {
	return &FreshnessSummary{
		Probes: t.Sent, Failed: t.Failed, Visible: t.Visible, Stale: t.Stale,
		Freshness: percentiles(&t.Freshness), FirstError: t.FirstError,
	}
}

func percentiles(h *Histogram) Percentiles {
	return Percentiles{
		P50: millis(h.Quantile(0.50)), P90: millis(h.Quantile(0.90)), P99: millis(h.Quantile(0.99)),
		Max: millis(h.Max()), Mean: millis(h.Mean()),
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteText writes the summary for a person.
func (s Summary) WriteText(w io.Writer) {
	rate := "as fast as possible"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g events/s asked", s.Rate)
	}
	unit := "requests"
	if s.Mode == ModeRawProducer {
		unit = "records"
		fmt.Fprintf(w, "\nloadgen %s -> %s (%d workers, at most %d records unacknowledged, %s, seed %d)\n", s.Mode, s.Target, s.Connections, s.InFlight, rate, s.Seed)
	} else {
		fmt.Fprintf(w, "\nloadgen %s -> %s (%d connections, %d events per request, %s, seed %d)\n", s.Mode, s.Target, s.Connections, s.Batch, rate, s.Seed)
	}
	fmt.Fprintf(w, "  events      %d accepted of %d sent in %d %s (%d failed)\n", s.Accepted, s.Events, s.Requests, unit, s.Failed)
	fmt.Fprintf(w, "  duration    %.2f s\n", s.DurationSeconds)
	fmt.Fprintf(w, "  throughput  %.0f events/s, %.0f %s/s\n", s.EventsPerSecond, s.RequestsPerSecond, unit)
	fmt.Fprintf(w, "  latency     %s\n", s.Latency)
	fmt.Fprintf(w, "  status      %s\n", counts(s.Status, strconv.Itoa))
	fmt.Fprintf(w, "  errors      %s\n", counts(s.Errors, func(k string) string { return k }))
	if s.FirstError != "" {
		fmt.Fprintf(w, "  first error %s\n", s.FirstError)
	}
	if f := s.Freshness; f != nil {
		fmt.Fprintf(w, "  probes      %d sent, %d visible, %d not visible in time, %d not accepted\n", f.Probes, f.Visible, f.Stale, f.Failed)
		fmt.Fprintf(w, "  freshness   %s\n", f.Freshness)
		if f.FirstError != "" {
			fmt.Fprintf(w, "  probe error %s\n", f.FirstError)
		}
	}
}

// String formats the percentiles on one line.
func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  mean %.2f ms", p.P50, p.P90, p.P99, p.Max, p.Mean)
}

// counts formats a count per key, keys in order, or "none".
func counts[K int | string](m map[K]int64, format func(K) string) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", format(k), m[k]))
	}
	return strings.Join(parts, "  ")
}

// writeProgress writes one progress line for the totals after elapsed.
func writeProgress(w io.Writer, elapsed time.Duration, t *Totals) {
	fmt.Fprintf(w, "%5.0fs  %d events accepted  %.0f events/s  %d failed  p50 %.2f ms  p99 %.2f ms\n",
		elapsed.Seconds(), t.Accepted, float64(t.Accepted)/elapsed.Seconds(), t.Failed(),
		millis(t.Latency.Quantile(0.50)), millis(t.Latency.Quantile(0.99)))
}
