package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness is one condition a function needs before it can serve, such as a reachable Kafka.
// Ready returns nil when the condition holds and says what is wrong otherwise. It must be cheap:
// /readyz calls it on every probe.
type Readiness interface {
	Ready() error
}

// ReadinessFunc adapts a function to Readiness.
type ReadinessFunc func() error

// Ready calls f.
func (f ReadinessFunc) Ready() error { return f() }

// KafkaProbe watches whether Kafka answers: every interval it asks for cluster metadata through a
// client. It is not ready until a first request succeeds, and not ready while a request goes
// unanswered for longer than the interval (at least two seconds): a broker that is frozen, with
// its connections still open, counts as down.
type KafkaProbe struct {
	client   sarama.Client
	interval time.Duration
	log      *slog.Logger
	err      atomic.Pointer[error]
	up       prometheus.Gauge
	// answer receives the result of the metadata request in flight; nil when none is.
	answer chan error
}

// NewKafkaProbe returns a probe over client that checks every interval.
func NewKafkaProbe(client sarama.Client, interval time.Duration, reg prometheus.Registerer, log *slog.Logger) *KafkaProbe {
	p := &KafkaProbe{
		client:   client,
		interval: interval,
		log:      log,
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "recoflow_kafka_up",
			Help: "1 when the last metadata request to Kafka succeeded, 0 otherwise.",
		}),
	}
	reg.MustRegister(p.up)
	notYet := errors.New("kafka: not checked yet")
	p.err.Store(&notYet)
	return p
}

// Ready implements Readiness.
func (p *KafkaProbe) Ready() error {
	if err := p.err.Load(); err != nil {
		return *err
	}
	return nil
}

// Run checks Kafka until ctx ends.
func (p *KafkaProbe) Run(ctx context.Context) error {
	ticker := time.NewTicker(p.interval)
	defer ticker.Stop()
	for {
		p.check()
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (p *KafkaProbe) check() {
	if p.answer == nil {
		answer := make(chan error, 1)
		go func() { answer <- p.client.RefreshMetadata() }()
		p.answer = answer
	}
	timeout := max(p.interval, 2*time.Second)
	var err error
	select {
	case err = <-p.answer:
		p.answer = nil
	case <-time.After(timeout):
		// Leave the request in flight: the next check waits for it again rather than pile up more.
		err = fmt.Errorf("no answer to a metadata request within %s", timeout)
	}
	if err == nil {
		if p.err.Swap(nil) != nil {
			p.log.Info("kafka reachable")
		}
		p.up.Set(1)
		return
	}
	err = fmt.Errorf("kafka: %w", err)
	if p.err.Swap(&err) == nil {
		p.log.Warn("kafka unreachable", "error", err)
	}
	p.up.Set(0)
}

// healthMux returns the handler of /healthz, /readyz and /metrics.
func healthMux(reg *prometheus.Registry, checks func() []Readiness) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var errs []error
		for _, c := range checks() {
			if err := c.Ready(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			p := NewProblem(http.StatusServiceUnavailable, "not_ready", err.Error())
			p.Instance = r.URL.Path
			WriteProblem(w, p)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// NewRegistry returns a metrics registry holding the Go runtime and process collectors, for one
// function.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
