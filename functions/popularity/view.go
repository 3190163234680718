package popularity

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/kafka"
)

// viewMaxWait is how long a view fetch waits on the broker for new changelog records. The broker
// answers as soon as a transaction commits, so it bounds idle polling, not freshness.
const viewMaxWait = 500 * time.Millisecond

// viewPartitionCheck is how often the view looks for partitions added to the changelog.
const viewPartitionCheck = 2 * time.Second

// View is the served, global picture of every item's hotness. It follows all partitions of the
// compacted popularity topic (read_committed, no consumer group), so each replica answers for
// all items whichever partitions its processor owns. Queries take a read lock on the view only,
// so they never hold up processing.
//
// The changelog holds one state per item and partition of the clean topic. An item has one
// partition until the topics grow: then its new events hash to another partition, whose
// processor starts a second state for it, and the view serves the sum (hotness.Merge).
type View struct {
	cfg  config.Popularity
	opts Options
	log  *slog.Logger

	ready atomic.Bool

	mu    sync.RWMutex
	board *hotness.Board
	// home is the one partition each item's state comes from, until a second one appears.
	home map[string]int32
	// split holds the states of each item that has more than one partition, the partition
	// whose state arrived last at the end.
	split map[string][]partState

	freshness *freshness.Window
}

// NewView returns an empty View for cfg. Run fills it.
func NewView(cfg config.Popularity, opts Options) *View {
	opts = opts.withDefaults()
	return &View{
		cfg: cfg, opts: opts, log: opts.Logger.With("component", "view"),
		board:     hotness.NewBoard(scoring(cfg)),
		home:      map[string]int32{},
		split:     map[string][]partState{},
		freshness: freshness.NewWindow(freshness.DefaultWindow, freshness.DefaultSlots),
	}
}

// Ready reports whether the view has read the changelog up to where it ended when Run started.
func (v *View) Ready() bool { return v.ready.Load() }

// Top returns the top items for q, with scores decayed to now.
func (v *View) Top(q hotness.Query, now time.Time) []hotness.Entry {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.board.Top(q, now)
}

// Item returns one item with its score decayed to now, and false when the view has never seen it.
func (v *View) Item(id string, now time.Time) (hotness.Entry, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.board.Item(id, now)
}

// Len returns the number of items in the view.
func (v *View) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.board.Len()
}

// Run follows the changelog until ctx ends.
func (v *View) Run(ctx context.Context) error {
	topic := v.cfg.Topics.Popularity
	r, err := kafka.NewLogReader(v.cfg.Brokers, v.cfg.KafkaAuth, kafka.ClientID(v.cfg.InstanceID, "popularity-view"), topic, viewMaxWait)
	if err != nil {
		return err
	}
	defer r.Close()
	partitions, err := r.TopicPartitions(ctx, topic)
	if err != nil {
		return nil // only ctx ends this wait
	}
	ends, err := r.Offsets(ctx, partitions, kafka.OffsetEnd, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	follow(r, partitions)

	var states []partState
	checked := time.Now()
	for ctx.Err() == nil {
		if !v.ready.Load() && r.CaughtUp(ends) {
			v.ready.Store(true)
			v.log.InfoContext(ctx, "view caught up", "items", v.Len())
		}
		states = states[:0]
		err := r.Poll(ctx, func(msg *sarama.ConsumerMessage) error {
			s, err := decodeChangelog(ctx, msg)
			if err != nil {
				v.opts.Metrics.ChangelogSkipped.Inc()
				v.log.WarnContext(ctx, "skipping unreadable changelog record", "partition", msg.Partition, "offset", msg.Offset, "error", err)
				return nil
			}
			states = append(states, partState{msg.Partition, s})
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("follow %s: %w", topic, err)
		}
		v.apply(states)
		if v.ready.Load() {
			v.observeFreshness(states, time.Now())
		}
		v.opts.Metrics.ViewLag.Set(float64(r.Lag()))
		if time.Since(checked) > viewPartitionCheck {
			checked = time.Now()
			if now, err := r.TopicPartitions(ctx, topic); err == nil {
				follow(r, now)
			}
		}
	}
	return nil
}

// follow makes r read, from their start, the partitions it does not read yet.
func follow(r *kafka.LogReader, partitions []int32) {
	known := map[int32]bool{}
	for _, p := range r.Partitions() {
		known[p] = true
	}
	from := map[int32]int64{}
	for _, p := range partitions {
		if !known[p] {
			from[p] = 0
		}
	}
	if len(from) > 0 {
		r.Add(from)
	}
}

// partState is an item's state as one changelog partition has it.
type partState struct {
	partition int32
	state     hotness.ItemState
}

// apply restores states into the board a chunk at a time, so that a large catch-up never holds
// queries up for long.
func (v *View) apply(states []partState) {
	const chunk = 1024
	for len(states) > 0 {
		n := min(chunk, len(states))
		v.mu.Lock()
		for _, s := range states[:n] {
			v.board.Restore(v.merged(s))
		}
		items := v.board.Len()
		v.mu.Unlock()
		v.opts.Metrics.TrackedItems.Set(float64(items))
		states = states[n:]
	}
}

// merged returns the item state to serve once s is known: s itself while the item has one
// partition, the sum of its partitions' states after that, with the category of the state that
// arrived last (the partition the item's latest events went to).
func (v *View) merged(s partState) hotness.ItemState {
	id := s.state.ItemID
	parts, isSplit := v.split[id]
	if !isSplit {
		home, known := v.home[id]
		if !known || home == s.partition {
			v.home[id] = s.partition
			return s.state
		}
		if old, ok := v.board.State(id); ok {
			parts = append(parts, partState{home, old})
		}
		delete(v.home, id)
	}
	parts = slices.DeleteFunc(parts, func(p partState) bool { return p.partition == s.partition })
	parts = append(parts, s)
	v.split[id] = parts
	all := make([]hotness.ItemState, len(parts))
	for i, p := range parts {
		all[i] = p.state
	}
	return hotness.Merge(v.cfg.HalfLife, all...)
}
