package popularity

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the popularity function's Prometheus metrics.
type Metrics struct {
	// EventsApplied counts clean events applied to the processor's state.
	EventsApplied prometheus.Counter
	// EventsSkipped counts clean records that could not be read as interaction events; their
	// offsets are committed like any other.
	EventsSkipped prometheus.Counter
	// RestoredRecords counts changelog records read to restore assigned partitions.
	RestoredRecords prometheus.Counter
	// ChangelogSkipped counts changelog records that could not be read.
	ChangelogSkipped prometheus.Counter
	// TrackedItems is the number of items in the served view.
	TrackedItems prometheus.Gauge
	// ViewLag is how many changelog offsets the served view is behind the last stable offsets.
	ViewLag prometheus.Gauge
	// Freshness observes, for each item update the view applies, the time from the item's newest
	// event time until the view serves it.
	Freshness prometheus.Histogram

	// registry is where the metrics are registered; the processor's transactions register theirs
	// there too (recoflow_transactions_total and the rest of kafka.Transactor's).
	registry prometheus.Registerer
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns, sub = "recoflow", "popularity"
	m := &Metrics{
		EventsApplied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "events_applied_total",
			Help: "Clean events applied to the processor's state.",
		}),
		EventsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "events_skipped_total",
			Help: "Clean records that could not be read as interaction events.",
		}),
		RestoredRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "changelog_records_restored_total",
			Help: "Changelog records read to restore assigned partitions.",
		}),
		ChangelogSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "changelog_records_skipped_total",
			Help: "Changelog records that could not be read.",
		}),
		TrackedItems: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "tracked_items",
			Help: "Items in the served view.",
		}),
		ViewLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "view_lag_records",
			Help: "Changelog offsets the served view is behind the last stable offsets.",
		}),
		Freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "freshness_seconds",
			Help:    "Time from an item's newest event time until the served view shows it.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300},
		}),
	}
	m.registry = reg
	reg.MustRegister(m.EventsApplied, m.EventsSkipped, m.RestoredRecords, m.ChangelogSkipped, m.TrackedItems, m.ViewLag, m.Freshness)
	return m
}
