package popularity

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/functions/hotness"
)

// viewMaxWait is how long a view fetch waits on the broker for new changelog records. The broker
// answers as soon as a transaction commits, so it bounds idle polling, not freshness.
const viewMaxWait = 500 * time.Millisecond

// View is the served, global picture of every item's hotness. It follows all partitions of the
// compacted popularity topic (read_committed, no consumer group), so each replica answers for
// all items whichever partitions its processor owns. Queries take a read lock on the view only,
// so they never hold up processing.
type View struct {
	cfg  config.Popularity
	opts Options
	log  *slog.Logger

	ready atomic.Bool

	mu    sync.RWMutex
	board *hotness.Board

	freshness *freshness.Window
}

// NewView returns an empty View for cfg. Run fills it.
func NewView(cfg config.Popularity, opts Options) *View {
	opts = opts.withDefaults()
	return &View{cfg: cfg, opts: opts, log: opts.Logger.With("component", "view"), board: hotness.NewBoard(scoring(cfg)),
		freshness: freshness.NewWindow(freshness.DefaultWindow, freshness.DefaultSlots)}
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
	client, err := connect(ctx, v.cfg, v.opts, v.log, "view", nil)
	if err != nil {
		return stopped(ctx, err)
	}
	defer client.Close()

	topic := v.cfg.Topics.Popularity
	partitions, err := waitForTopic(ctx, client, topic, v.log)
	if err != nil {
		return stopped(ctx, err)
	}
	ends, err := endOffsets(ctx, client, topic, partitions, sarama.ReadCommitted)
	if err != nil {
		return stopped(ctx, err)
	}
	from := make(map[int32]int64, len(partitions))
	for _, p := range partitions {
		from[p] = 0
	}
	r := newLogReader(client, topic, from)

	var states []hotness.ItemState
	for ctx.Err() == nil {
		states = states[:0]
		err := r.fetch(ctx, viewMaxWait, nil, func(p int32, offset int64, rec *sarama.Record) error {
			s, err := decodeChangelog(ctx, rec)
			if err != nil {
				v.opts.Metrics.ChangelogSkipped.Inc()
				v.log.WarnContext(ctx, "skipping unreadable changelog record", "partition", p, "offset", offset, "error", err)
				return nil
			}
			states = append(states, s)
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
		v.opts.Metrics.ViewLag.Set(float64(r.lag()))
		if !v.ready.Load() && r.caughtUp(ends) {
			v.ready.Store(true)
			v.log.InfoContext(ctx, "view caught up", "items", v.Len())
		}
	}
	return nil
}

// apply restores states into the board a chunk at a time, so that a large catch-up never holds
// queries up for long.
func (v *View) apply(states []hotness.ItemState) {
	const chunk = 1024
	for len(states) > 0 {
		n := min(chunk, len(states))
		v.mu.Lock()
		for _, s := range states[:n] {
			v.board.Restore(s)
		}
		items := v.board.Len()
		v.mu.Unlock()
		v.opts.Metrics.TrackedItems.Set(float64(items))
		states = states[n:]
	}
}
