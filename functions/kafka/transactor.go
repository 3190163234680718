package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafkaacl"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// Stage names a point in a transaction where TransactorConfig.Hook is called.
type Stage string

// The stages of a transaction, in order.
const (
	// StageFlush is reached when a transaction has taken its snapshot of outputs and consumed
	// offsets and has sent nothing yet.
	StageFlush Stage = "flush"
	// StageProduced is reached when the outputs are written inside the open transaction and
	// nothing is committed yet.
	StageProduced Stage = "produced"
	// StageCommitted is reached right after the transaction committed.
	StageCommitted Stage = "committed"
)

// ErrFenced is returned by Transactor.Run when another instance with the same transactional id
// took over, so this one must stop.
var ErrFenced = errors.New("transactional producer fenced by a newer instance")

// Task is the logic of an exactly-once function: what it makes of each input record, and the
// state it keeps per input partition. A Transactor calls Process and Flush of one partition
// one at a time, in offset order; different partitions run concurrently.
type Task interface {
	// Restore rebuilds the state of an assigned input partition, whose processing resumes at
	// offset, from what committed transactions wrote, before the partition's first record is
	// processed. It is called for every assigned partition except one that this member kept
	// across a rebalance with nothing committed by anyone else in between.
	Restore(ctx context.Context, partition int32, offset int64) error
	// Process handles one input record and returns the records to write for it, in the same
	// transaction as the record's offset. It must not keep msg.
	Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage
	// Flush returns the records that complete a partition's outputs when a transaction is cut,
	// such as the state of every item changed since the last transaction.
	Flush(ctx context.Context, partition int32) ([]*sarama.ProducerMessage, error)
	// Forget drops the state of partitions: they moved to another member, or (aborted) a
	// transaction failed so the state in memory is ahead of what is committed. Partitions
	// assigned again are restored first.
	Forget(partitions []int32, aborted bool)
}

// TransactorConfig configures a Transactor.
type TransactorConfig struct {
	// Name names the function, in client ids and logs, such as "clean".
	Name string
	// Brokers are the Kafka bootstrap servers.
	Brokers []string
	// Auth is how the clients authenticate to Kafka and encrypt the connection.
	Auth config.KafkaAuth
	// InstanceID identifies this replica; the host name when empty.
	InstanceID string
	// Group is the consumer group on Topic.
	Group string
	// Topic is the input topic.
	Topic string
	// DeadLetter is the topic an input record goes to, with a reason, when its outputs cannot
	// be written for a reason that retrying does not cure; empty means such a record stalls its
	// partition.
	DeadLetter string
	// FlushInterval is how often a transaction commits what was processed since the last one.
	FlushInterval time.Duration
	// MaxBatch bounds the outputs of one partition waiting for the next transaction; a partition
	// that reaches it cuts a transaction early and waits for it.
	MaxBatch int
	// MaxAttempts is how many transactions may fail on one input record's outputs before the
	// record is dead-lettered.
	MaxAttempts int
	// StallAfter is how long records may wait without a transaction committing before the
	// Transactor reports itself stalled (in /readyz and recoflow_transactions_stalled).
	StallAfter time.Duration
	// Partitioner places outputs; sarama.NewHashPartitioner (by key) when nil.
	Partitioner sarama.PartitionerConstructor
	// Sarama, when set, adjusts every Kafka client configuration, after the Transactor's own.
	Sarama func(*sarama.Config)
	// Hook, when set, is called at each stage of every transaction. An error from it fails the
	// transaction as a Kafka error would. It exists for fault-injection tests.
	Hook func(context.Context, Stage) error
}

// Transactor runs a Task over a consumer group exactly once: it consumes the input topic with
// read_committed isolation, and every flush interval writes the outputs of the records processed
// since the last transaction and commits their offsets in one Kafka transaction. After a crash,
// a rebalance or a restart, the group resumes exactly after the last committed transaction, and
// readers with read_committed isolation never see the outputs of a transaction that did not
// commit, so no input is lost or counted twice.
//
// When a transaction fails, its outputs are discarded, the Task forgets its state, and the
// group session starts again from the committed offsets. An input record whose outputs fail a
// transaction MaxAttempts times for a reason that retrying does not cure (a record too large, a
// record the broker refuses) goes to the dead-letter topic instead, with its reason. A partition
// that cannot commit for StallAfter makes Ready fail and sets recoflow_transactions_stalled.
type Transactor struct {
	cfg     TransactorConfig
	task    Task
	log     *slog.Logger
	metrics *transactorMetrics

	restored  atomic.Bool // the first assignment is restored
	connected atomic.Bool
	// reader is the consumer's client, which also looks past transaction markers. Run sets it
	// before any group session starts.
	reader sarama.Client

	mu sync.Mutex
	// kept holds the committed offset of each partition whose state the task holds from an
	// earlier session.
	kept map[int32]int64
	// failures counts failed transactions per input record that caused them.
	failures map[origin]failure
	// waitingSince is when records began waiting for a commit; zero while none waits.
	waitingSince time.Time
	// aborted holds the partitions whose state a failed transaction left ahead of what is
	// committed; the next session has the task forget it before any record is processed.
	aborted []int32
}

// origin is the input record an output was made from.
type origin struct {
	partition int32
	offset    int64
}

// failure is what is known about the transactions that failed on one input record.
type failure struct {
	attempts int
	err      error
}

// NewTransactor returns a Transactor running task with cfg. Its metrics are registered on reg.
func NewTransactor(cfg TransactorConfig, task Task, reg prometheus.Registerer, log *slog.Logger) *Transactor {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4096
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = max(30*time.Second, 20*cfg.FlushInterval)
	}
	if cfg.Partitioner == nil {
		cfg.Partitioner = sarama.NewHashPartitioner
	}
	t := &Transactor{cfg: cfg, task: task, log: log.With("group", cfg.Group), failures: map[origin]failure{}}
	t.metrics = newTransactorMetrics(reg, func() float64 { return min(t.stalledFor().Seconds(), 1) })
	return t
}

// TransactionalID returns the transactional id of the Transactor's producer. It is derived from
// the consumer group and the instance id, so an instance restarted under the same name fences
// the transactions its previous incarnation left open.
func (t *Transactor) TransactionalID() string {
	return kafkaacl.TransactionalIDPrefix(t.cfg.Group) + instanceID(t.cfg.InstanceID)
}

// transactionTimeout returns how long a transaction may stay open before the broker aborts it.
// A transaction lives for one flush, milliseconds when all is well, but a loaded broker may take
// seconds to store a full batch; the timeout also bounds how long a transaction that a crashed
// instance left open holds back read_committed readers.
func (t *Transactor) transactionTimeout() time.Duration {
	return max(10*time.Second, 10*t.cfg.FlushInterval)
}

// Ready reports why the Transactor cannot be relied on, or nil: it is not ready before it has
// connected and restored its first assignment, nor while records wait longer than StallAfter
// for a transaction to commit.
func (t *Transactor) Ready() error {
	switch {
	case !t.connected.Load():
		return fmt.Errorf("%s: connecting to kafka", t.cfg.Name)
	case !t.restored.Load():
		return fmt.Errorf("%s: restoring the state of its partitions", t.cfg.Name)
	}
	if d := t.stalledFor(); d > 0 {
		return fmt.Errorf("%s: no transaction committed for %s while records wait", t.cfg.Name, d.Round(time.Second))
	}
	return nil
}

// Run consumes until ctx ends or the producer is fenced. It connects to Kafka first, retrying
// while Kafka is not reachable. Before it returns, it commits what it has processed and leaves
// the group.
func (t *Transactor) Run(ctx context.Context) error {
	consumer, err := t.connect(ctx, "consumer", nil)
	if err != nil {
		return stopped(ctx, err)
	}
	defer consumer.Close()
	t.reader = consumer
	group, err := sarama.NewConsumerGroupFromClient(t.cfg.Group, consumer)
	if err != nil {
		return fmt.Errorf("join consumer group %q: %w", t.cfg.Group, err)
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			t.log.WarnContext(ctx, "consumer group error", "error", err)
		}
	}()
	// A producer whose transaction state broke for another reason than a newer instance taking
	// over is replaced by a new one; a fenced producer stops the Transactor.
	for ctx.Err() == nil {
		if err := t.produce(ctx, group); err != nil {
			return err
		}
	}
	return nil
}

// produce starts a transactional producer and runs group sessions with it until ctx ends
// (nil), the producer breaks (nil, to start another) or is fenced (ErrFenced).
func (t *Transactor) produce(ctx context.Context, group sarama.ConsumerGroup) error {
	// The producer starts before the group session: initialising its transactional id aborts
	// whatever transaction a previous instance of the same name left open, and fences it.
	producerClient, err := t.connect(ctx, "producer", func(c *sarama.Config) {
		c.Producer.Transaction.ID = t.TransactionalID()
		c.Producer.Transaction.Timeout = t.transactionTimeout()
		c.Producer.Partitioner = t.cfg.Partitioner
		c.Producer.Return.Errors = true
	})
	if err != nil {
		return stopped(ctx, err)
	}
	defer producerClient.Close()
	producer, err := sarama.NewSyncProducerFromClient(producerClient)
	if err != nil {
		return fmt.Errorf("start transactional producer %q: %w", t.TransactionalID(), err)
	}
	defer producer.Close()
	t.connected.Store(true)

	for attempt := 0; ctx.Err() == nil; {
		s := &txnSession{t: t, producer: producer}
		err := group.Consume(ctx, []string{t.cfg.Topic}, s)
		if fatal := s.fatalErr(); fatal != nil {
			if errors.Is(fatal, ErrFenced) {
				return fatal
			}
			t.log.WarnContext(ctx, "transactional producer broke; starting a new one", "error", fatal)
			return nil
		}
		if err == nil && s.failedErr() == nil {
			attempt = 0
			continue
		}
		if ctx.Err() != nil {
			break
		}
		wait := backoff(attempt, 100*time.Millisecond, 5*time.Second)
		attempt++
		t.log.WarnContext(ctx, "consumer group session ended with an error", "error", errors.Join(err, s.failedErr()), "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return nil
}

// connect opens a Kafka client for one role: it reads committed records only and never commits
// offsets on its own.
func (t *Transactor) connect(ctx context.Context, role string, adjust func(*sarama.Config)) (sarama.Client, error) {
	c := NewSaramaConfig(ClientID(t.cfg.InstanceID, t.cfg.Name+"-"+role))
	c.Consumer.IsolationLevel = sarama.ReadCommitted
	c.Consumer.Offsets.AutoCommit.Enable = false
	if adjust != nil {
		adjust(c)
	}
	if t.cfg.Sarama != nil {
		t.cfg.Sarama(c)
	}
	if err := kafkaauth.Configure(c, t.cfg.Auth); err != nil {
		return nil, err
	}
	return Connect(ctx, t.cfg.Brokers, c, t.log)
}

// deadLetterFor returns the dead-letter record for msg when transactions failed on its outputs
// MaxAttempts times, and false otherwise.
func (t *Transactor) deadLetterFor(msg *sarama.ConsumerMessage) (*sarama.ProducerMessage, bool) {
	if t.cfg.DeadLetter == "" {
		return nil, false
	}
	t.mu.Lock()
	f, ok := t.failures[origin{msg.Partition, msg.Offset}]
	t.mu.Unlock()
	if !ok || f.attempts < t.cfg.MaxAttempts {
		return nil, false
	}
	dl := DeadLetter(msg, t.cfg.DeadLetter, event.ReasonUnproducible, f.err.Error())
	if f.attempts > t.cfg.MaxAttempts {
		// The dead-letter record failed too, so the original is too large for any topic: keep
		// what identifies it and say so.
		dl.Value = nil
		dl.Headers = append(dl.Headers, sarama.RecordHeader{Key: []byte(contract.HeaderDLQMessage), Value: []byte(f.err.Error() + "; the record's value is left out")})
	}
	t.log.Warn("dead-lettering a record whose outputs cannot be written", "partition", msg.Partition, "offset", msg.Offset, "attempts", f.attempts, "error", f.err)
	t.metrics.deadLettered.Inc()
	return dl, true
}

// recordFailures counts a failed transaction against the input records whose outputs Kafka
// refused for a reason that retrying does not cure.
func (t *Transactor) recordFailures(err error) {
	var perrs sarama.ProducerErrors
	if !errors.As(err, &perrs) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, perr := range perrs {
		o, ok := perr.Msg.Metadata.(origin)
		if !ok || !unproducible(perr.Err) {
			continue
		}
		f := t.failures[o]
		t.failures[o] = failure{attempts: f.attempts + 1, err: perr.Err}
	}
}

// unproducible reports whether Kafka refuses a record for a reason that retrying does not cure:
// the broker's verdict on the record, or the producer's own size check (a ConfigurationError
// about that one record).
func unproducible(err error) bool {
	var tooLarge sarama.ConfigurationError
	if errors.As(err, &tooLarge) {
		return true
	}
	for _, kerr := range []sarama.KError{sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidMessage, sarama.ErrInvalidMessageSize, sarama.ErrInvalidRecord} {
		if errors.Is(err, kerr) {
			return true
		}
	}
	return false
}

// waiting records that records wait for a commit (from now, unless they already did), or
// that a commit took every waiting record, for stall detection.
func (t *Transactor) waiting(pending bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !pending:
		t.waitingSince = time.Time{}
	case t.waitingSince.IsZero():
		t.waitingSince = time.Now()
	}
}

// stalledFor returns how long records have waited for a commit beyond StallAfter, or zero.
func (t *Transactor) stalledFor() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.waitingSince.IsZero() {
		return 0
	}
	if d := time.Since(t.waitingSince); d > t.cfg.StallAfter {
		return d
	}
	return 0
}

// claimState is the state of one assigned input partition in a session.
type claimState struct {
	id int32

	mu sync.Mutex
	// pending holds the outputs of records processed since the last transaction.
	pending []*sarama.ProducerMessage
	// next is the offset after the last processed record.
	next int64
	// committed is the offset committed with the last transaction.
	committed int64
	// end returns the partition's end offset as last fetched.
	end func() int64
	// drained is closed when a transaction takes pending.
	drained chan struct{}
}

// txnSession handles one consumer group generation.
type txnSession struct {
	t        *Transactor
	producer sarama.SyncProducer

	group  *sarama.ConsumerGroupMetadata
	ctx    context.Context
	cancel context.CancelCauseFunc
	// unrestored counts the claims of the generation not yet restored.
	unrestored atomic.Int32
	kick       chan struct{}
	flushed    chan struct{}

	mu     sync.Mutex
	parts  map[int32]*claimState
	failed error
	// fatal is set when the Transactor must stop; Run returns it.
	fatal error
}

var _ sarama.ConsumerGroupHandler = (*txnSession)(nil)

// Setup starts the generation's flush loop.
func (s *txnSession) Setup(sess sarama.ConsumerGroupSession) error {
	t := s.t
	s.group = sarama.NewConsumerGroupMetadataFromSession(sess, t.cfg.Group, nil)
	s.ctx, s.cancel = context.WithCancelCause(sess.Context())
	s.parts = map[int32]*claimState{}
	s.kick = make(chan struct{}, 1)
	s.flushed = make(chan struct{})

	claims := sess.Claims()[t.cfg.Topic]
	var lost []int32
	t.mu.Lock()
	for id := range t.kept {
		if !slices.Contains(claims, id) {
			lost = append(lost, id)
			delete(t.kept, id)
		}
	}
	aborted := t.aborted
	t.aborted = nil
	t.mu.Unlock()
	// No record is processed before Setup returns, so the task may drop state now.
	if len(aborted) > 0 {
		t.task.Forget(aborted, true)
	}
	if len(lost) > 0 {
		t.task.Forget(lost, false)
	}
	s.unrestored.Store(int32(len(claims)))
	if len(claims) == 0 {
		t.restored.Store(true)
	}
	t.log.InfoContext(s.ctx, "partitions assigned", "topic", t.cfg.Topic, "generation", sess.GenerationID(), "member", sess.MemberID(), "partitions", claims)
	go s.flushLoop()
	return nil
}

// ConsumeClaim restores the claimed partition unless its state was kept, then processes its
// records until the claim ends.
func (s *txnSession) ConsumeClaim(_ sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	t := s.t
	id, initial := claim.Partition(), claim.InitialOffset()
	t.mu.Lock()
	committed, kept := t.kept[id]
	delete(t.kept, id)
	t.mu.Unlock()
	if !kept || committed != initial {
		start := time.Now()
		if err := t.task.Restore(s.ctx, id, initial); err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("restore partition %d: %w", id, err)
		}
		t.log.DebugContext(s.ctx, "partition restored", "partition", id, "offset", initial, "took", time.Since(start))
	}
	part := &claimState{id: id, next: initial, committed: initial, end: claim.HighWaterMarkOffset, drained: make(chan struct{})}
	s.mu.Lock()
	s.parts[id] = part
	s.mu.Unlock()
	if s.unrestored.Add(-1) == 0 {
		t.restored.Store(true)
	}

	lag := t.metrics.lag.WithLabelValues(claim.Topic(), strconv.Itoa(int(id)))
	defer t.metrics.lag.DeleteLabelValues(claim.Topic(), strconv.Itoa(int(id)))
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if full := s.process(part, msg); full != nil {
				s.signal()
				select {
				case <-full:
				case <-s.ctx.Done():
					return nil
				}
			}
			lag.Set(float64(max(claim.HighWaterMarkOffset()-msg.Offset-1, 0)))
		case <-s.ctx.Done():
			return nil
		}
	}
}

// process runs the task over one record. When the partition's outputs reach MaxBatch it
// returns a channel that is closed when a transaction has taken them.
func (s *txnSession) process(part *claimState, msg *sarama.ConsumerMessage) <-chan struct{} {
	t := s.t
	t.metrics.consumed.Inc()
	outputs, dead := []*sarama.ProducerMessage(nil), false
	if dl, ok := t.deadLetterFor(msg); ok {
		outputs, dead = []*sarama.ProducerMessage{dl}, true
	}
	part.mu.Lock()
	defer part.mu.Unlock()
	if !dead {
		outputs = t.task.Process(s.ctx, msg)
	}
	for _, out := range outputs {
		out.Metadata = origin{msg.Partition, msg.Offset}
	}
	part.pending = append(part.pending, outputs...)
	part.next = msg.Offset + 1
	if len(part.pending) >= t.cfg.MaxBatch {
		return part.drained
	}
	return nil
}

// signal asks the flush loop for a transaction now.
func (s *txnSession) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Cleanup commits what the generation processed before its partitions are given up, and keeps
// their state for the next generation.
func (s *txnSession) Cleanup(sarama.ConsumerGroupSession) error {
	s.cancel(nil)
	<-s.flushed
	if s.failedErr() == nil {
		// The generation's context has ended; the last transaction must still run to completion.
		if err := s.flush(context.WithoutCancel(s.ctx)); err != nil {
			s.fail(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return nil
	}
	t := s.t
	t.mu.Lock()
	if t.kept == nil {
		t.kept = map[int32]int64{}
	}
	for id, part := range s.parts {
		t.kept[id] = part.committed
	}
	t.mu.Unlock()
	return nil
}

func (s *txnSession) flushLoop() {
	defer close(s.flushed)
	tick := time.NewTicker(s.t.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		}
		if err := s.flush(s.ctx); err != nil {
			s.fail(err)
			return
		}
	}
}

// fail ends the generation after a failed transaction. The state in memory may be ahead of what
// is committed, so the task forgets it: the partitions are assigned again and restored.
func (s *txnSession) fail(err error) {
	t := s.t
	t.recordFailures(err)
	s.mu.Lock()
	t.mu.Lock()
	t.aborted = append(t.aborted, slices.Collect(maps.Keys(t.kept))...)
	t.aborted = append(t.aborted, slices.Collect(maps.Keys(s.parts))...)
	t.kept = nil
	t.mu.Unlock()
	s.failed = err
	if s.producer.TxnStatus()&sarama.ProducerTxnFlagFatalError != 0 {
		// Only a transaction refused for a newer epoch means a newer instance took over; a
		// producer that broke while aborting is replaced.
		if errors.Is(err, sarama.ErrProducerFenced) || errors.Is(err, sarama.ErrInvalidProducerEpoch) {
			err = fmt.Errorf("%w: %w", ErrFenced, err)
		}
		s.fatal = err
	}
	fenced := errors.Is(s.fatal, ErrFenced)
	s.mu.Unlock()

	if fenced {
		t.log.ErrorContext(s.ctx, "transactional producer fenced by a newer instance; stopping", "error", err)
	} else {
		t.log.WarnContext(s.ctx, "transaction failed; restoring state and processing again from the committed offsets", "error", err)
	}
	s.cancel(err)
}

func (s *txnSession) failedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *txnSession) fatalErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// cut is what one transaction commits: the outputs and the consumed offsets.
type cut struct {
	records []*sarama.ProducerMessage
	offsets map[*claimState]int64
}

// cut takes every partition's outputs and offset, and the task's outputs at that point.
func (s *txnSession) cut(ctx context.Context) (cut, error) {
	s.mu.Lock()
	parts := slices.Collect(maps.Values(s.parts))
	s.mu.Unlock()
	c := cut{offsets: map[*claimState]int64{}}
	for _, part := range parts {
		s.skipUndelivered(part)
		part.mu.Lock()
		if part.next != part.committed {
			extra, err := s.t.task.Flush(ctx, part.id)
			if err != nil {
				part.mu.Unlock()
				return c, err
			}
			c.offsets[part] = part.next
			c.records = append(c.records, part.pending...)
			c.records = append(c.records, extra...)
			part.pending = nil
			close(part.drained)
			part.drained = make(chan struct{})
		}
		part.mu.Unlock()
	}
	return c, nil
}

// flush commits the outputs and offsets of everything processed since the last transaction,
// in one transaction.
func (s *txnSession) flush(ctx context.Context) error {
	c, err := s.cut(ctx)
	if err != nil {
		return err
	}
	if len(c.offsets) == 0 {
		return nil
	}
	s.t.waiting(true)
	start := time.Now()
	if err := s.hook(ctx, StageFlush); err != nil {
		return err
	}
	offsets := make([]*sarama.PartitionOffsetMetadata, 0, len(c.offsets))
	for part, next := range c.offsets {
		offsets = append(offsets, &sarama.PartitionOffsetMetadata{Partition: part.id, Offset: next})
	}
	m := s.t.metrics
	if err := s.commit(ctx, c.records, offsets); err != nil {
		m.transactions.WithLabelValues("aborted").Inc()
		return err
	}
	for part, next := range c.offsets {
		part.mu.Lock()
		part.committed = next
		part.mu.Unlock()
	}
	s.t.waiting(false)
	m.transactions.WithLabelValues("committed").Inc()
	for _, r := range c.records {
		m.produced.WithLabelValues(r.Topic).Inc()
	}
	m.duration.Observe(time.Since(start).Seconds())
	return s.hook(ctx, StageCommitted)
}

// commit writes records and the consumed offsets in one transaction, aborting it on failure.
func (s *txnSession) commit(ctx context.Context, records []*sarama.ProducerMessage, offsets []*sarama.PartitionOffsetMetadata) (err error) {
	if err := s.producer.BeginTxn(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if abortErr := s.producer.AbortTxn(); abortErr != nil {
			err = &abortFailed{err: err, abort: abortErr}
		}
	}()
	if len(records) > 0 {
		if err := s.producer.SendMessages(records); err != nil {
			return fmt.Errorf("write %d records: %w", len(records), err)
		}
	}
	if err := s.hook(ctx, StageProduced); err != nil {
		return err
	}
	if err := s.producer.AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata{s.t.cfg.Topic: offsets}, s.group); err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	if err := s.producer.CommitTxn(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// abortFailed is a transaction error whose abort failed too. It unwraps to the transaction's
// error only: what the abort says does not tell why the transaction failed.
type abortFailed struct{ err, abort error }

func (e *abortFailed) Error() string { return fmt.Sprintf("%v (abort failed too: %v)", e.err, e.abort) }
func (e *abortFailed) Unwrap() error { return e.err }

func (s *txnSession) hook(ctx context.Context, stage Stage) error {
	if s.t.cfg.Hook == nil {
		return nil
	}
	if err := s.t.cfg.Hook(ctx, stage); err != nil {
		return fmt.Errorf("hook at stage %s: %w", stage, err)
	}
	return nil
}

// stopped returns nil for an error that only says ctx ended, and err otherwise: a component
// that stops because it was asked to has not failed.
func stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type transactorMetrics struct {
	consumed     prometheus.Counter
	produced     *prometheus.CounterVec
	transactions *prometheus.CounterVec
	duration     prometheus.Histogram
	deadLettered prometheus.Counter
	stalled      prometheus.GaugeFunc
	lag          *prometheus.GaugeVec
}

func newTransactorMetrics(reg prometheus.Registerer, stalled func() float64) *transactorMetrics {
	m := &transactorMetrics{
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_records_consumed_total",
			Help: "Records read from the input topic.",
		}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_records_produced_total",
			Help: "Records written in committed transactions, by topic.",
		}, []string{"topic"}),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recoflow_transactions_total",
			Help: "Transactions by result (committed or aborted).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "recoflow_transaction_duration_seconds",
			Help:    "Time from a transaction's cut to its commit.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "recoflow_records_unproducible_total",
			Help: "Input records dead-lettered because Kafka refused their outputs for a reason retrying does not cure.",
		}),
		stalled: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "recoflow_transactions_stalled",
			Help: "1 while records have waited longer than the stall limit for a transaction to commit.",
		}, stalled),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "recoflow_consumer_lag",
			Help: "Records in a claimed partition after the last one read.",
		}, []string{"topic", "partition"}),
	}
	register(reg, &m.consumed)
	register(reg, &m.produced)
	register(reg, &m.transactions)
	register(reg, &m.duration)
	register(reg, &m.deadLettered)
	register(reg, &m.stalled)
	register(reg, &m.lag)
	m.transactions.WithLabelValues("committed")
	m.transactions.WithLabelValues("aborted")
	return m
}

// register registers *c with reg, or, when reg already holds an equal collector (two
// Transactors of one process sharing a registry), makes *c that one.
func register[C prometheus.Collector](reg prometheus.Registerer, c *C) {
	err := reg.Register(*c)
	var exists prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
	case errors.As(err, &exists):
		if existing, ok := exists.ExistingCollector.(C); ok {
			*c = existing
			return
		}
		panic(err)
	default:
		panic(err)
	}
}
