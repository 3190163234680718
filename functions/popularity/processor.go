package popularity

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
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
var ErrFenced = kafka.ErrFenced

// restoreMaxWait is how long a restoring fetch waits for the last stable offset to move.
const restoreMaxWait = 100 * time.Millisecond

// Processor turns the clean topic into per-item hotness, exactly once: it runs the scorer over
// the clean topic in a kafka.Transactor, which every flush interval writes the state of each
// changed item to the same partition number of the compacted popularity topic and commits the
// consumed offsets in the same Kafka transaction.
//
// On partition assignment it restores each partition's state from the popularity topic before
// it applies any event, so after a crash, a rebalance or a restart every count and score is what
// a single uninterrupted run would have produced.
type Processor struct {
	tx *kafka.Transactor
}

// NewProcessor returns a Processor for cfg. Run starts it.
func NewProcessor(cfg config.Popularity, opts Options) *Processor {
	opts = opts.withDefaults()
	log := opts.Logger.With("component", "processor")
	s := &scorer{cfg: cfg, opts: opts, log: log, parts: map[int32]*scored{}}
	return &Processor{tx: kafka.NewTransactor(kafka.TransactorConfig{
		Name:          "popularity",
		Brokers:       cfg.Brokers,
		Auth:          cfg.KafkaAuth,
		InstanceID:    cfg.InstanceID,
		Group:         cfg.Group,
		Topic:         cfg.Topics.Clean,
		FlushInterval: cfg.FlushInterval,
		// Partition p's states go to partition p of the changelog, whatever their keys hash to.
		Partitioner: sarama.NewManualPartitioner,
		Sarama:      opts.Sarama,
		Hook:        opts.Hook,
	}, s, opts.Metrics.registry, log)}
}

// TransactionalID returns the transactional id of the processor's producer (see
// kafka.Transactor.TransactionalID).
func (p *Processor) TransactionalID() string { return p.tx.TransactionalID() }

// Ready reports whether the processor has restored the partitions of its first assignment and
// is not stalled.
func (p *Processor) Ready() bool { return p.tx.Ready() == nil }

// Run consumes until ctx ends or the processor is fenced (ErrFenced). Before it returns, it
// commits what it has processed and leaves the group.
func (p *Processor) Run(ctx context.Context) error { return p.tx.Run(ctx) }

// scorer is the popularity function as a kafka.Task: one hotness.Board per assigned partition of
// the clean topic, changelogged item by item.
type scorer struct {
	cfg  config.Popularity
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	parts map[int32]*scored
}

// scored is the state of one partition: its board and the items changed since the last flush.
type scored struct {
	board *hotness.Board
	dirty map[string]struct{}
}

func (s *scorer) part(p int32) *scored {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.parts[p]
}

// Restore reads partition p of the changelog into a new board.
func (s *scorer) Restore(ctx context.Context, p int32, _ int64) error {
	start := time.Now()
	board := hotness.NewBoard(scoring(s.cfg))
	restored := 0
	err := readChangelog(ctx, s.cfg, s.opts, p, func(st hotness.ItemState) {
		board.Restore(st)
		restored++
	})
	if err != nil {
		return err
	}
	s.opts.Metrics.RestoredRecords.Add(float64(restored))
	s.log.InfoContext(ctx, "restored partition", "partition", p, "records", restored, "items", board.Len(), "took", time.Since(start))
	s.mu.Lock()
	s.parts[p] = &scored{board: board, dirty: map[string]struct{}{}}
	s.mu.Unlock()
	return nil
}

// Process applies one clean event to its partition's board.
func (s *scorer) Process(ctx context.Context, msg *sarama.ConsumerMessage) []*sarama.ProducerMessage {
	in, err := interaction(ctx, msg)
	if err != nil {
		s.opts.Metrics.EventsSkipped.Inc()
		s.log.WarnContext(ctx, "skipping unreadable clean record", "partition", msg.Partition, "offset", msg.Offset, "error", err)
		return nil
	}
	part := s.part(msg.Partition)
	part.board.Apply(in)
	part.dirty[in.ItemID] = struct{}{}
	s.opts.Metrics.EventsApplied.Inc()
	return nil
}

// Flush returns the changelog records of the items of partition p changed since the last flush.
func (s *scorer) Flush(ctx context.Context, p int32) ([]*sarama.ProducerMessage, error) {
	part := s.part(p)
	records := make([]*sarama.ProducerMessage, 0, len(part.dirty))
	for id := range part.dirty {
		st, ok := part.board.State(id)
		if !ok {
			continue
		}
		msg, err := changelogRecord(ctx, s.cfg.Topics.Popularity, p, st)
		if err != nil {
			return nil, err
		}
		records = append(records, msg)
	}
	clear(part.dirty)
	return records, nil
}

// Forget drops the boards of partitions.
func (s *scorer) Forget(partitions []int32, _ bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range partitions {
		delete(s.parts, p)
	}
}

// readChangelog calls apply for every readable state in partition p of the changelog, up to the
// high water mark as of the call: a transaction that a crashed instance left open holds the last
// stable offset back, and records that later transactions committed behind it belong to the
// state too, so the read waits until every transaction begun so far has ended, at worst for the
// transaction timeout.
func readChangelog(ctx context.Context, cfg config.Popularity, opts Options, p int32, apply func(hotness.ItemState)) error {
	r, err := kafka.NewLogReader(cfg.Brokers, cfg.KafkaAuth, kafka.ClientID(cfg.InstanceID, "popularity-restore"), cfg.Topics.Popularity, restoreMaxWait)
	if err != nil {
		return err
	}
	defer r.Close()
	ends, err := r.Offsets(ctx, []int32{p}, kafka.OffsetEnd, false)
	if err != nil {
		return fmt.Errorf("restore partition %d: %w", p, err)
	}
	r.Add(map[int32]int64{p: 0})
	for !r.CaughtUp(ends) {
		err := r.Poll(ctx, func(msg *sarama.ConsumerMessage) error {
			if msg.Offset >= ends[p] {
				return nil
			}
			st, err := decodeChangelog(ctx, msg)
			if err != nil {
				opts.Metrics.ChangelogSkipped.Inc()
				opts.Logger.WarnContext(ctx, "skipping unreadable changelog record", "partition", p, "offset", msg.Offset, "error", err)
				return nil
			}
			apply(st)
			return nil
		})
		if err != nil {
			return fmt.Errorf("restore partition %d: %w", p, err)
		}
	}
	return nil
}
