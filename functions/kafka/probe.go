package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
)

// Probe watches whether Kafka answers: every interval it asks for cluster metadata through a
// client. It is not ready until a first request succeeds, and not ready while a request goes
// unanswered for longer than the interval (at least two seconds): a broker that is frozen, with
// its connections still open, counts as down.
type Probe struct {
	client   sarama.Client
	interval time.Duration
	log      *slog.Logger
	err      atomic.Pointer[error]
	up       prometheus.Gauge
	// answer receives the result of the metadata request in flight; nil when none is.
	answer chan error
}

// NewProbe returns a probe over client that checks every interval.
func NewProbe(client sarama.Client, interval time.Duration, reg prometheus.Registerer, log *slog.Logger) *Probe {
	p := &Probe{
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
func (p *Probe) Ready() error {
	if err := p.err.Load(); err != nil {
		return *err
	}
	return nil
}

// Run checks Kafka until ctx ends.
func (p *Probe) Run(ctx context.Context) error {
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

func (p *Probe) check() {
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
