package popularity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/kafka"
)

// Stage names a point in a flush, where Options.Hook is called.
type Stage = kafka.Stage

// The stages of a flush, in order.
const (
	StageFlush     = kafka.StageFlush
	StageProduced  = kafka.StageProduced
	StageCommitted = kafka.StageCommitted
)

// ErrFenced is returned by Processor.Run when another instance with the same transactional id
// took over, so this one must stop.
var ErrFenced = errors.New("popularity processor fenced by a newer instance")

// restoreMaxWait is how long a restoring fetch waits for the last stable offset to move.
const restoreMaxWait = 100 * time.Millisecond

// transactionTimeout returns how long a transaction may stay open before the broker aborts it. A
// transaction lives for one flush, which takes milliseconds; the timeout bounds how long one that
// a crashed instance left open holds back readers of the changelog.
func transactionTimeout(flushInterval time.Duration) time.Duration {
	return max(2*time.Second, 10*flushInterval)
}

// Processor turns the clean topic into per-item hotness, exactly once: it consumes the clean
// topic in a consumer group and, every flush interval, writes the state of each changed item to
// the same partition number of the compacted popularity topic and commits the consumed offsets
// in the same Kafka transaction.
//
// On partition assignment it restores each partition's state from the popularity topic before it
// applies any event, so after a crash, a rebalance or a restart every count and score is what a
// single uninterrupted run would have produced.
type Processor struct {
	cfg  config.Popularity
	opts Options
	log  *slog.Logger

	ready atomic.Bool

	mu sync.Mutex
	// kept holds the state of partitions this instance owned in its last session, with the offset
	// it committed for each, so a partition assigned again need not be restored.
	kept map[int32]*partition
}

// NewProcessor returns a Processor for cfg. Run starts it.
func NewProcessor(cfg config.Popularity, opts Options) *Processor {
	opts = opts.withDefaults()
	if cfg.InstanceID == "" {
		cfg.InstanceID, _ = os.Hostname()
	}
	return &Processor{cfg: cfg, opts: opts, log: opts.Logger.With("component", "processor")}
}

// TransactionalID returns the transactional id of the processor's producer. It is derived from
// the consumer group and the instance id, so an instance restarted under the same name fences
// the transactions its previous incarnation left open.
func (p *Processor) TransactionalID() string {
	return p.cfg.Group + "." + p.cfg.InstanceID
}

// Ready reports whether the processor has restored the partitions of its first assignment.
func (p *Processor) Ready() bool { return p.ready.Load() }

// Run consumes until ctx ends or the processor is fenced. Before it returns, it commits what it
// has processed and leaves the group.
func (p *Processor) Run(ctx context.Context) error {
	consumer, err := p.connect(ctx, "consumer", nil)
	if err != nil {
		return stopped(ctx, err)
	}
	defer consumer.Close()
	restorer, err := p.connect(ctx, "restore", nil)
	if err != nil {
		return stopped(ctx, err)
	}
	defer restorer.Close()
	// The producer starts first: initialising its transactional id aborts whatever transaction a
	// previous instance of the same name left open, and fences that instance.
	producerClient, err := p.connect(ctx, "producer", func(c *sarama.Config) {
		c.Producer.Transaction.ID = p.TransactionalID()
		c.Producer.Transaction.Timeout = transactionTimeout(p.cfg.FlushInterval)
		c.Producer.Partitioner = sarama.NewManualPartitioner
	})
	if err != nil {
		return stopped(ctx, err)
	}
	defer producerClient.Close()
	p.log.DebugContext(ctx, "initialising transactional producer", "transactional_id", p.TransactionalID())
	producer, err := sarama.NewSyncProducerFromClient(producerClient)
	if err != nil {
		return fmt.Errorf("start transactional producer %q: %w", p.TransactionalID(), err)
	}
	defer producer.Close()

	group, err := sarama.NewConsumerGroupFromClient(p.cfg.Group, consumer)
	if err != nil {
		return fmt.Errorf("join consumer group %q: %w", p.cfg.Group, err)
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			p.log.WarnContext(ctx, "consumer group error", "error", err)
		}
	}()

	for ctx.Err() == nil {
		p.log.DebugContext(ctx, "joining consumer group", "group", p.cfg.Group)
		s := &session{p: p, producer: producer, restorer: restorer}
		err := group.Consume(ctx, []string{p.cfg.Topics.Clean}, s)
		if fatal := s.fatalErr(); fatal != nil {
			return fatal
		}
		if err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "consumer group session failed", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (p *Processor) connect(ctx context.Context, role string, adjust func(*sarama.Config)) (sarama.Client, error) {
	return connect(ctx, p.cfg, p.opts, p.log, role, adjust)
}

// connect opens a Kafka client for one role of the function: it reads committed records only and
// never commits offsets on its own. adjust, then opts.Sarama, may change the configuration.
func connect(ctx context.Context, cfg config.Popularity, opts Options, log *slog.Logger, role string, adjust func(*sarama.Config)) (sarama.Client, error) {
	c := kafka.NewSaramaConfig(kafka.ClientID(cfg.InstanceID, "popularity-"+role))
	c.Consumer.IsolationLevel = sarama.ReadCommitted
	c.Consumer.Offsets.AutoCommit.Enable = false
	if adjust != nil {
		adjust(c)
	}
	if opts.Sarama != nil {
		opts.Sarama(c)
	}
	return kafka.Connect(ctx, cfg.Brokers, c, log)
}

// partition is the state of one assigned partition of the clean topic.
type partition struct {
	id int32

	mu    sync.Mutex
	board *hotness.Board
	// dirty holds the items changed since the last flush.
	dirty map[string]struct{}
	// next is the offset after the last applied record.
	next int64
	// committed is the offset committed with the state: next as of the last successful flush.
	committed int64
	// end returns the partition's end offset as last fetched.
	end func() int64
}

func (pt *partition) apply(in hotness.Interaction, offset int64, valid bool) {
	pt.mu.Lock()
	if valid {
		pt.board.Apply(in)
		pt.dirty[in.ItemID] = struct{}{}
	}
	pt.next = offset + 1
	pt.mu.Unlock()
}

// claim returns the state of an assigned partition whose consumption starts at initial: the one
// kept from the last session when nobody has committed anything for it since, or else one
// restored from the changelog.
func (p *Processor) claim(ctx context.Context, restorer sarama.Client, id int32, initial int64) (*partition, error) {
	p.mu.Lock()
	kept := p.kept[id]
	delete(p.kept, id)
	p.mu.Unlock()
	if kept != nil && kept.committed == initial {
		return kept, nil
	}

	start := time.Now()
	board := hotness.NewBoard(scoring(p.cfg))
	// Read up to the high water mark, not just to the last stable offset: a transaction that a
	// crashed instance left open holds the last stable offset back, and records that later
	// transactions committed behind it belong to the state too. Reading to the high water mark
	// waits until every transaction begun so far has ended, at worst for the transaction timeout.
	ends, err := endOffsets(ctx, restorer, p.cfg.Topics.Popularity, []int32{id}, sarama.ReadUncommitted)
	if err != nil {
		return nil, fmt.Errorf("restore partition %d: %w", id, err)
	}
	p.log.DebugContext(ctx, "restoring partition", "partition", id, "to", ends[id])
	r := newLogReader(restorer, p.cfg.Topics.Popularity, map[int32]int64{id: 0})
	restored := 0
	for !r.caughtUp(ends) {
		before := r.pos[id]
		err := r.fetch(ctx, restoreMaxWait, ends, func(_ int32, offset int64, rec *sarama.Record) error {
			s, err := decodeChangelog(ctx, rec)
			if err != nil {
				p.opts.Metrics.ChangelogSkipped.Inc()
				p.log.WarnContext(ctx, "skipping unreadable changelog record", "partition", id, "offset", offset, "error", err)
				return nil
			}
			board.Restore(s)
			restored++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("restore partition %d: %w", id, err)
		}
		if r.pos[id] == before {
			p.log.DebugContext(ctx, "restore waiting for an open transaction to end", "partition", id, "position", r.pos[id], "stable", r.stable[id], "to", ends[id])
		}
	}
	p.opts.Metrics.RestoredRecords.Add(float64(restored))
	p.log.InfoContext(ctx, "restored partition", "partition", id, "records", restored, "items", board.Len(), "offset", initial, "took", time.Since(start))
	return &partition{id: id, board: board, dirty: map[string]struct{}{}, next: initial, committed: initial}, nil
}

// session handles one consumer group generation.
type session struct {
	p        *Processor
	producer sarama.SyncProducer
	restorer sarama.Client

	group  *sarama.ConsumerGroupMetadata
	ctx    context.Context
	cancel context.CancelCauseFunc
	// unrestored counts the claims of the generation not yet restored.
	unrestored atomic.Int32
	flushed    chan struct{}

	mu     sync.Mutex
	parts  map[int32]*partition
	failed error
	// fatal is set when the processor must stop; Run returns it.
	fatal error
}

var _ sarama.ConsumerGroupHandler = (*session)(nil)

// Setup starts the generation's flush loop.
func (s *session) Setup(sess sarama.ConsumerGroupSession) error {
	s.group = sarama.NewConsumerGroupMetadataFromSession(sess, s.p.cfg.Group, nil)
	s.ctx, s.cancel = context.WithCancelCause(sess.Context())
	s.parts = map[int32]*partition{}
	s.flushed = make(chan struct{})

	claims := sess.Claims()[s.p.cfg.Topics.Clean]
	s.p.mu.Lock()
	for id := range s.p.kept {
		if !slices.Contains(claims, id) {
			delete(s.p.kept, id)
		}
	}
	s.p.mu.Unlock()
	s.unrestored.Store(int32(len(claims)))
	if len(claims) == 0 {
		s.p.ready.Store(true)
	}
	s.p.log.InfoContext(s.ctx, "partitions assigned", "generation", sess.GenerationID(), "member", sess.MemberID(), "partitions", claims)

	go s.flushLoop()
	return nil
}

// ConsumeClaim restores the claimed partition, then applies its records until the claim ends.
func (s *session) ConsumeClaim(_ sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	part, err := s.p.claim(s.ctx, s.restorer, claim.Partition(), claim.InitialOffset())
	if err != nil {
		if s.ctx.Err() != nil {
			return nil
		}
		return err
	}
	part.mu.Lock()
	part.end = claim.HighWaterMarkOffset
	part.mu.Unlock()
	s.mu.Lock()
	s.parts[part.id] = part
	s.mu.Unlock()
	if s.unrestored.Add(-1) == 0 {
		s.p.ready.Store(true)
	}

	m := s.p.opts.Metrics
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			in, err := interaction(s.ctx, msg)
			if err != nil {
				m.EventsSkipped.Inc()
				s.p.log.WarnContext(s.ctx, "skipping unreadable clean record", "partition", msg.Partition, "offset", msg.Offset, "error", err)
			} else {
				m.EventsApplied.Inc()
			}
			part.apply(in, msg.Offset, err == nil)
		case <-s.ctx.Done():
			return nil
		}
	}
}

// Cleanup flushes what the generation processed before its partitions are given up, and keeps
// their state for the next generation.
func (s *session) Cleanup(sarama.ConsumerGroupSession) error {
	s.cancel(nil)
	<-s.flushed
	if s.failedErr() == nil {
		// The generation's context has ended; the last flush must still run to completion.
		if err := s.flush(context.WithoutCancel(s.ctx)); err != nil {
			s.fail(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return nil
	}
	s.p.mu.Lock()
	if s.p.kept == nil {
		s.p.kept = map[int32]*partition{}
	}
	maps.Copy(s.p.kept, s.parts)
	s.p.mu.Unlock()
	return nil
}

func (s *session) flushLoop() {
	defer close(s.flushed)
	tick := time.NewTicker(s.p.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
			if err := s.flush(s.ctx); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// fail ends the generation after a failed flush. The state in memory may be ahead of what is
// committed, so it is dropped: the partitions are assigned again and restored from the
// changelog, which holds exactly the committed state.
func (s *session) fail(err error) {
	s.p.mu.Lock()
	s.p.kept = nil
	s.p.mu.Unlock()

	s.mu.Lock()
	s.failed = err
	if s.producer.TxnStatus()&sarama.ProducerTxnFlagFatalError != 0 {
		if errors.Is(err, sarama.ErrProducerFenced) || errors.Is(err, sarama.ErrInvalidProducerEpoch) {
			err = fmt.Errorf("%w: %w", ErrFenced, err)
		}
		s.fatal = err
	}
	fatal := s.fatal != nil
	s.mu.Unlock()

	if fatal {
		s.p.log.ErrorContext(s.ctx, "transactional producer failed; stopping", "error", err)
	} else {
		s.p.log.WarnContext(s.ctx, "flush failed; restoring state from the changelog", "error", err)
	}
	s.cancel(err)
}

func (s *session) failedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *session) fatalErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// snapshot is what one flush commits: the changed items' states and the consumed offsets.
type snapshot struct {
	states  map[int32][]hotness.ItemState
	offsets map[*partition]int64
}

func (s *session) snapshot() snapshot {
	s.mu.Lock()
	parts := slices.Collect(maps.Values(s.parts))
	s.mu.Unlock()
	snap := snapshot{states: map[int32][]hotness.ItemState{}, offsets: map[*partition]int64{}}
	for _, part := range parts {
		s.skipUndelivered(part)
		part.mu.Lock()
		if part.next != part.committed {
			snap.offsets[part] = part.next
			states := make([]hotness.ItemState, 0, len(part.dirty))
			for id := range part.dirty {
				if st, ok := part.board.State(id); ok {
					states = append(states, st)
				}
			}
			clear(part.dirty)
			snap.states[part.id] = states
		}
		part.mu.Unlock()
	}
	return snap
}

// skipUndelivered moves an idle partition's next offset past the transaction markers and aborted
// records that end the clean topic's partition, which clean's transactions leave and no consumer
// is given: committed, the group's lag reaches zero and KEDA can scale scoring to zero.
func (s *session) skipUndelivered(part *partition) {
	part.mu.Lock()
	next, end := part.next, part.end
	idle := next == part.committed && end != nil
	part.mu.Unlock()
	// Not while shutting down: the last flush must not wait on another fetch.
	if !idle || s.ctx.Err() != nil {
		return
	}
	to, err := kafka.SkipUndelivered(s.restorer, s.p.cfg.Topics.Clean, part.id, next, end())
	if err != nil {
		s.p.log.DebugContext(s.ctx, "cannot look past the partition's transaction markers", "partition", part.id, "error", err)
	}
	part.mu.Lock()
	if part.next == next {
		part.next = to
	}
	part.mu.Unlock()
}

// flush commits the state of every item changed since the last flush, and the offsets consumed,
// in one transaction.
func (s *session) flush(ctx context.Context) error {
	snap := s.snapshot()
	if len(snap.offsets) == 0 {
		return nil
	}
	start := time.Now()
	if err := s.hook(ctx, StageFlush); err != nil {
		return err
	}
	var records []*sarama.ProducerMessage
	for id, states := range snap.states {
		for _, st := range states {
			msg, err := changelogRecord(ctx, s.p.cfg.Topics.Popularity, id, st)
			if err != nil {
				return err
			}
			records = append(records, msg)
		}
	}
	offsets := make([]*sarama.PartitionOffsetMetadata, 0, len(snap.offsets))
	for part, next := range snap.offsets {
		offsets = append(offsets, &sarama.PartitionOffsetMetadata{Partition: part.id, Offset: next})
	}

	if err := s.commit(ctx, records, offsets); err != nil {
		s.p.opts.Metrics.Transactions.WithLabelValues("aborted").Inc()
		return err
	}
	for part, next := range snap.offsets {
		part.mu.Lock()
		part.committed = next
		part.mu.Unlock()
	}
	m := s.p.opts.Metrics
	m.Transactions.WithLabelValues("committed").Inc()
	m.RecordsWritten.Add(float64(len(records)))
	m.FlushDuration.Observe(time.Since(start).Seconds())
	return s.hook(ctx, StageCommitted)
}

// commit writes records and the consumed offsets in one transaction, aborting it on failure.
func (s *session) commit(ctx context.Context, records []*sarama.ProducerMessage, offsets []*sarama.PartitionOffsetMetadata) (err error) {
	s.p.log.DebugContext(ctx, "beginning transaction", "records", len(records), "partitions", len(offsets), "status", s.producer.TxnStatus())
	if err := s.producer.BeginTxn(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		if abortErr := s.producer.AbortTxn(); abortErr != nil {
			err = fmt.Errorf("%w (abort failed too: %w)", err, abortErr)
		}
	}()
	if err := s.producer.SendMessages(records); err != nil {
		return fmt.Errorf("write %d popularity records: %w", len(records), err)
	}
	if err := s.hook(ctx, StageProduced); err != nil {
		return err
	}
	if err := s.producer.AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata{s.p.cfg.Topics.Clean: offsets}, s.group); err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	if err := s.producer.CommitTxn(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	s.p.log.DebugContext(ctx, "transaction committed", "records", len(records))
	return nil
}

func (s *session) hook(ctx context.Context, stage Stage) error {
	if s.p.opts.Hook == nil {
		return nil
	}
	if err := s.p.opts.Hook(ctx, stage); err != nil {
		return fmt.Errorf("hook at stage %s: %w", stage, err)
	}
	return nil
}
