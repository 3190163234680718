package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// recordBatchVersion is the record format of Kafka 0.11 and later, which sarama sizes records in.
const recordBatchVersion = 2

// ErrProducerClosed is returned for records sent after the Producer began to close.
var ErrProducerClosed = errors.New("producer is closed")

// Producer publishes records through one sarama AsyncProducer and tells each sender when Kafka
// has acknowledged all of its records. Concurrent senders share produce requests, so a thousand
// callers sending one record each cost about as much as one caller sending a thousand.
//
// A Producer is safe for concurrent use. Close may run while senders are still handing records
// over: they get ErrProducerClosed for the records Close did not take.
//
// Health tells whether Kafka is keeping up: a readiness check for a function whose work is
// producing, such as ingest.
type Producer struct {
	async sarama.AsyncProducer
	// maxBytes is the largest record the producer takes (Producer.MaxMessageBytes).
	maxBytes int

	// pending counts the records handed over and not yet settled; progress is when Kafka last
	// acknowledged one, or when records began to wait after none did; acked and failed are when
	// Kafka last acknowledged and last failed one (Unix nanoseconds), and lastErr is that failure.
	pending  atomic.Int64
	progress atomic.Int64
	acked    atomic.Int64
	failed   atomic.Int64
	lastErr  atomic.Pointer[error]

	// closing is closed when Close begins; it wakes senders waiting for room in async's buffers.
	closing   chan struct{}
	closeOnce sync.Once
	// mu orders sends against closing async's input: senders hold it shared while they hand
	// records over.
	mu      sync.RWMutex
	results sync.WaitGroup
}

// NewProducer starts a Producer over client, which must carry a configuration from
// NewSaramaConfig (it relies on Producer.Return.Successes). Closing the Producer does not close
// client.
func NewProducer(client sarama.Client) (*Producer, error) {
	async, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("start kafka producer: %w", err)
	}
	p := &Producer{async: async, maxBytes: client.Config().Producer.MaxMessageBytes, closing: make(chan struct{})}
	p.results.Add(2)
	go p.acknowledge()
	go p.reportErrors()
	return p, nil
}

// Send hands msgs to Kafka and waits until every one is acknowledged, one fails, or ctx ends.
// It returns nil only when Kafka acknowledged them all. Records already handed over when ctx
// ends may still be stored later.
func (p *Producer) Send(ctx context.Context, msgs ...*sarama.ProducerMessage) error {
	result := make(chan error, 1)
	p.SendAsync(ctx, msgs, func(err error) { result <- err })
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for kafka to acknowledge %d records: %w", len(msgs), context.Cause(ctx))
	}
}

// SendAsync hands msgs to Kafka and calls done exactly once, from another goroutine or before
// it returns: with nil when Kafka acknowledged every record, otherwise with the first error.
// ctx bounds only the hand-over, which blocks while the producer's buffers are full; a record
// already handed over is always reported through done. SendAsync sets each record's Metadata.
func (p *Producer) SendAsync(ctx context.Context, msgs []*sarama.ProducerMessage, done func(error)) {
	b := &batch{done: done}
	// The extra count keeps the batch open until every record is handed over.
	b.left.Store(int64(len(msgs)) + 1)
	unsent := int64(len(msgs))
	err := p.handOver(ctx, msgs, b, &unsent)
	if err != nil {
		b.fail(err)
	}
	b.finish(unsent + 1)
}

func (p *Producer) handOver(ctx context.Context, msgs []*sarama.ProducerMessage, b *batch, unsent *int64) error {
	// A record larger than the producer takes is refused here, as the broker refuses one larger
	// than the topic takes, and none of msgs is sent; sarama would fail it with a configuration
	// error, which would read as Kafka failing.
	for _, m := range msgs {
		if size := m.ByteSize(recordBatchVersion); size > p.maxBytes {
			return fmt.Errorf("a record of %d bytes, over the %d the producer takes: %w", size, p.maxBytes, sarama.ErrMessageSizeTooLarge)
		}
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	select {
	case <-p.closing:
		return ErrProducerClosed
	default:
	}
	for _, m := range msgs {
		m.Metadata = b
		if p.pending.Add(1) == 1 {
			p.progress.Store(time.Now().UnixNano())
		}
		select {
		case p.async.Input() <- m: // the common case, without the cost of a three-way select
			*unsent--
			continue
		default:
		}
		select {
		case p.async.Input() <- m:
			*unsent--
		case <-ctx.Done():
			p.pending.Add(-1)
			return fmt.Errorf("handing records to the kafka producer: %w", context.Cause(ctx))
		case <-p.closing:
			p.pending.Add(-1)
			return ErrProducerClosed
		}
	}
	return nil
}

// Health returns nil while Kafka keeps up with the producer, and says what is wrong when records
// have waited longer than limit without Kafka acknowledging any, or when Kafka failed the latest
// record it settled less than limit ago. It recovers by itself once Kafka acknowledges records
// again. A record refused for its own sake, such as one too large, does not count: it says
// nothing about Kafka.
func (p *Producer) Health(limit time.Duration) error {
	now := time.Now().UnixNano()
	if n := p.pending.Load(); n > 0 {
		if waited := time.Duration(now - p.progress.Load()); waited > limit {
			return fmt.Errorf("kafka producer: no acknowledgement for %s with %d records waiting", waited.Round(time.Millisecond), n)
		}
	}
	if failed := p.failed.Load(); failed > p.acked.Load() && time.Duration(now-failed) < limit {
		if err := p.lastErr.Load(); err != nil {
			return fmt.Errorf("kafka producer: the latest record failed: %w", *err)
		}
	}
	return nil
}

// Close flushes the records handed over so far, waits for their acknowledgements and stops the
// producer. A sender still waiting to hand records over gets ErrProducerClosed for them.
func (p *Producer) Close() error {
	p.closeOnce.Do(func() {
		// Wake the senders first: they hold mu while they wait for room in async's buffers.
		close(p.closing)
		p.mu.Lock()
		p.async.AsyncClose()
		p.mu.Unlock()
		p.results.Wait()
	})
	return nil
}

func (p *Producer) acknowledge() {
	defer p.results.Done()
	for m := range p.async.Successes() {
		now := time.Now().UnixNano()
		p.pending.Add(-1)
		p.progress.Store(now)
		p.acked.Store(now)
		if b, ok := m.Metadata.(*batch); ok {
			b.finish(1)
		}
	}
}

func (p *Producer) reportErrors() {
	defer p.results.Done()
	for perr := range p.async.Errors() {
		p.pending.Add(-1)
		if !errors.Is(perr.Err, sarama.ErrMessageSizeTooLarge) && !errors.Is(perr.Err, sarama.ErrInvalidMessage) {
			err := perr.Err
			p.lastErr.Store(&err)
			p.failed.Store(time.Now().UnixNano())
		}
		if b, ok := perr.Msg.Metadata.(*batch); ok {
			b.fail(fmt.Errorf("produce to %s: %w", perr.Msg.Topic, perr.Err))
			b.finish(1)
		}
	}
}

// batch tracks the records of one SendAsync call.
type batch struct {
	left atomic.Int64
	err  atomic.Pointer[error]
	done func(error)
}

// fail records err unless an earlier error is already recorded.
func (b *batch) fail(err error) { b.err.CompareAndSwap(nil, &err) }

// finish counts n records as settled and reports the batch when none is left.
func (b *batch) finish(n int64) {
	if n == 0 || b.left.Add(-n) != 0 {
		return
	}
	if err := b.err.Load(); err != nil {
		b.done(*err)
		return
	}
	b.done(nil)
}
