package main

import (
	"context"
	"sync/atomic"
	"time"
)

// pacer spaces the load of all workers so that events are due at a fixed overall rate: the
// k-th event is due k/rate after the start. A nil pacer lets every unit go at once.
type pacer struct {
	start    time.Time
	perEvent float64 // nanoseconds between two events
	reserved atomic.Int64
}

// newPacer returns a pacer for rate events per second from start, or nil when rate is not
// positive (as fast as possible).
func newPacer(rate float64, start time.Time) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{start: start, perEvent: float64(time.Second) / rate}
}

// wait reserves the next n events and blocks until the first of them is due. It returns when
// they were due, which is what a latency is measured from: a server that falls behind the rate
// cannot hide the time requests spent waiting for their turn (no coordinated omission). A nil
// pacer returns the zero time at once. wait returns false when ctx ends first.
func (p *pacer) wait(ctx context.Context, n int) (time.Time, bool) {
	if p == nil {
		return time.Time{}, ctx.Err() == nil
	}
	k := p.reserved.Add(int64(n)) - int64(n)
	due := p.start.Add(time.Duration(float64(k) * p.perEvent))
	d := time.Until(due)
	if d <= 0 {
		return due, ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return due, true
	case <-ctx.Done():
		return due, false
	}
}

// budget hands out the events a run may still send when it is bounded by a count.
type budget struct {
	limited bool
	left    atomic.Int64
}

// newBudget returns a budget of events, unlimited when events is not positive.
func newBudget(events int64) *budget {
	b := &budget{limited: events > 0}
	b.left.Store(events)
	return b
}

// take claims up to n events and returns how many it got: fewer than n near the end of the
// budget, zero once it is spent.
func (b *budget) take(n int) int {
	if !b.limited {
		return n
	}
	for {
		left := b.left.Load()
		if left <= 0 {
			return 0
		}
		got := min(int64(n), left)
		if b.left.CompareAndSwap(left, left-got) {
			return int(got)
		}
	}
}
