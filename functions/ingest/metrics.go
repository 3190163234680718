package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/event"
)

type metrics struct {
	requests *prometheus.CounterVec
	accepted prometheus.Counter
	rejected *prometheus.CounterVec
	produce  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_ingest_requests_total",
			Help: "HTTP requests to the ingest API, by route and status code.",
		}, []string{"route", "code"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_ingest_events_accepted_total",
			Help: "Events stored on the raw topic and acknowledged by Kafka.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_ingest_events_rejected_total",
			Help: "Events refused, by reason: an event contract reason, a limit, or unavailable when Kafka did not acknowledge them in time.",
		}, []string{"reason"}),
		produce: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "recoflow_ingest_produce_seconds",
			Help:    "Time from handing a request's events to Kafka until all are acknowledged or the produce timeout.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
		}),
	}
	reg.MustRegister(m.requests, m.accepted, m.rejected, m.produce)
	for _, r := range event.Reasons {
		m.rejected.WithLabelValues(string(r))
	}
	for code := range statuses {
		if code != CodeMethodNotAllowed && code != CodeUnauthorized {
			m.rejected.WithLabelValues(string(code))
		}
	}
	return m
}
