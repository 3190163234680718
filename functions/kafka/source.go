package kafka

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
)

// Processor turns one consumed record into the records to produce for it: none, one or several,
// on any topics, including the dead-letter topic. It must not keep msg.
type Processor interface {
	Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage
}

// ProcessorFunc adapts a function to a Processor.
type ProcessorFunc func(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage {
	return f(ctx, msg)
}

// Source consumes topics in a consumer group and delivers each record's outputs at least once.
//
// Records are processed one partition at a time in offset order, and their outputs are produced
// without waiting, so many records of a partition are in flight at once. A record's offset is
// marked for commit only when its outputs and those of every older record of the partition are
// acknowledged; a failed produce is retried with backoff for as long as the partition stays
// assigned. After a crash, a rebalance or a restart the group therefore resumes at or before the
// oldest record whose outputs might not be stored, and never loses one. On shutdown and on
// rebalance the in-flight records are finished and their offsets committed before the partition
// is released.
type Source struct {
	client    sarama.Client
	group     string
	topics    []string
	processor Processor
	producer  *Producer
	log       *slog.Logger
	metrics   *sourceMetrics

	// MaxInFlight bounds the records of one partition processed but not yet acknowledged.
	MaxInFlight int
	// OnAssign, when set, runs when the group assigns partitions to this member, before any of
	// their records is processed. claims maps each topic to its partitions.
	OnAssign func(ctx context.Context, claims map[string][]int32) error
}

// NewSource returns a Source of group over topics that hands each record to processor and sends
// the outputs through producer. client must be dedicated to the Source (the consumer group
// takes it over) and carry a configuration from NewSaramaConfig. The metrics are registered on
// reg.
func NewSource(client sarama.Client, group string, topics []string, processor Processor, producer *Producer, reg prometheus.Registerer, log *slog.Logger) *Source {
	return &Source{
		client:      client,
		group:       group,
		topics:      topics,
		processor:   processor,
		producer:    producer,
		log:         log.With("group", group),
		metrics:     newSourceMetrics(reg),
		MaxInFlight: 4096,
	}
}

// Run consumes until ctx ends, then finishes the records in flight, commits their offsets and
// leaves the group. It returns nil after such a shutdown.
func (s *Source) Run(ctx context.Context) error {
	group, err := sarama.NewConsumerGroupFromClient(s.group, s.client)
	if err != nil {
		return err
	}
	errorsDone := make(chan struct{})
	go func() {
		defer close(errorsDone)
		for err := range group.Errors() {
			s.log.Warn("consumer group error", "error", err)
		}
	}()
	h := &groupHandler{Source: s}
	for attempt := 0; ctx.Err() == nil; {
		err := group.Consume(ctx, s.topics, h)
		switch {
		case errors.Is(err, sarama.ErrClosedConsumerGroup) || ctx.Err() != nil:
		case err != nil:
			wait := backoff(attempt, 100*time.Millisecond, 5*time.Second)
			s.log.Warn("consumer group session failed", "error", err, "retry_in", wait)
			attempt++
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		default:
			attempt = 0
		}
	}
	err = group.Close()
	<-errorsDone
	return err
}

// groupHandler is the sarama.ConsumerGroupHandler of one Source.
type groupHandler struct{ *Source }

func (h *groupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	h.log.Info("partitions assigned", "claims", sess.Claims(), "generation", sess.GenerationID())
	if h.OnAssign != nil {
		return h.OnAssign(sess.Context(), sess.Claims())
	}
	return nil
}

func (h *groupHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	// Every claim has drained by now: commit what they marked before the partitions move.
	sess.Commit()
	h.log.Info("partitions released", "claims", sess.Claims(), "generation", sess.GenerationID())
	return nil
}

func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	p := &partition{
		Source:  h.Source,
		sess:    sess,
		topic:   claim.Topic(),
		number:  claim.Partition(),
		slots:   make(chan struct{}, h.MaxInFlight),
		lag:     h.metrics.lag.WithLabelValues(claim.Topic(), strconv.Itoa(int(claim.Partition()))),
		process: h.metrics.processing,
	}
	defer h.metrics.lag.DeleteLabelValues(claim.Topic(), strconv.Itoa(int(claim.Partition())))
	if start := claim.InitialOffset(); start >= 0 {
		p.lag.Set(float64(max(claim.HighWaterMarkOffset()-start, 0)))
	}
	for msg := range claim.Messages() {
		p.consume(msg)
		p.lag.Set(float64(max(claim.HighWaterMarkOffset()-msg.Offset-1, 0)))
	}
	// The claim ends with the session: let the records in flight finish so that their offsets
	// are marked before Cleanup commits.
	p.inFlight.Wait()
	return nil
}

// partition processes the records of one claimed partition.
type partition struct {
	*Source
	sess     sarama.ConsumerGroupSession
	topic    string
	number   int32
	mark     watermark
	slots    chan struct{}
	inFlight sync.WaitGroup
	lag      prometheus.Gauge
	process  prometheus.Observer
}

func (p *partition) consume(msg *sarama.ConsumerMessage) {
	p.slots <- struct{}{}
	p.inFlight.Add(1)
	p.metrics.consumed.Inc()
	start := time.Now()
	ticket := p.mark.add(msg.Offset)
	outputs := p.processor.Process(p.sess.Context(), msg)
	p.deliver(outputs, 0, func(stored bool) {
		if stored {
			if next, ok := p.mark.finish(ticket); ok {
				p.sess.MarkOffset(p.topic, p.number, next, "")
			}
			p.process.Observe(time.Since(start).Seconds())
		}
		<-p.slots
		p.inFlight.Done()
	})
}

// deliver produces outputs and calls done(true) once Kafka acknowledged them all. A failure is
// retried with backoff until the session ends, when done(false) leaves the record unfinished so
// that its offset is never committed in this session.
func (p *partition) deliver(outputs []*sarama.ProducerMessage, attempt int, done func(stored bool)) {
	if len(outputs) == 0 {
		done(true)
		return
	}
	// Hand the outputs over even while the session ends: a record being processed at shutdown
	// finishes like the ones before it. Only retries stop with the session.
	ctx := p.sess.Context()
	p.producer.SendAsync(context.WithoutCancel(ctx), outputs, func(err error) {
		if err == nil {
			for _, m := range outputs {
				p.metrics.produced.WithLabelValues(m.Topic).Inc()
			}
			done(true)
			return
		}
		if ctx.Err() != nil {
			p.log.Info("record left for redelivery", "topic", p.topic, "partition", p.number, "error", err)
			done(false)
			return
		}
		wait := backoff(attempt, 100*time.Millisecond, 5*time.Second)
		p.log.Warn("produce failed, retrying", "topic", p.topic, "partition", p.number, "attempt", attempt+1, "retry_in", wait, "error", err)
		p.metrics.retries.Inc()
		time.AfterFunc(wait, func() {
			if ctx.Err() != nil {
				done(false)
				return
			}
			p.deliver(resend(outputs), attempt+1, done)
		})
	})
}

// resend returns fresh copies of msgs: sarama keeps per-send state in a ProducerMessage.
func resend(msgs []*sarama.ProducerMessage) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, len(msgs))
	for i, m := range msgs {
		out[i] = &sarama.ProducerMessage{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers, Timestamp: m.Timestamp}
	}
	return out
}

type sourceMetrics struct {
	consumed   prometheus.Counter
	produced   *prometheus.CounterVec
	retries    prometheus.Counter
	processing prometheus.Histogram
	lag        *prometheus.GaugeVec
}

func newSourceMetrics(reg prometheus.Registerer) *sourceMetrics {
	m := &sourceMetrics{
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_records_consumed_total",
			Help: "Records read from the input topics.",
		}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_records_produced_total",
			Help: "Records produced and acknowledged, by topic.",
		}, []string{"topic"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_produce_retries_total",
			Help: "Times the outputs of a record were produced again after a failure.",
		}),
		processing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "recoflow_record_processing_seconds",
			Help:    "Time from reading a record to Kafka acknowledging its outputs.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "recoflow_consumer_lag",
			Help: "Records in a claimed partition after the last one read.",
		}, []string{"topic", "partition"}),
	}
	reg.MustRegister(m.consumed, m.produced, m.retries, m.processing, m.lag)
	return m
}
