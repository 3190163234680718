package main

import (
	"context"
	"io"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/hotness"
	"github.com/recoflow/recoflow/functions/popularity"
)

// slowBoard is popularity's state as the tests see it: a real hotness board, served by the real
// popularity API, that each accepted event reaches only after a delay, as if it had gone through
// Kafka, clean and a popularity flush.
type slowBoard struct {
	delay time.Duration
	mu    sync.Mutex
	board *hotness.Board
}

func newSlowBoard(delay time.Duration) *slowBoard {
	cfg := hotness.Config{HalfLife: time.Hour, Weights: map[contract.Action]float64{contract.ActionLiked: 3}}
	return &slowBoard{delay: delay, board: hotness.NewBoard(cfg)}
}

// Top implements popularity.Ranking.
func (b *slowBoard) Top(q hotness.Query, now time.Time) []hotness.Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.board.Top(q, now)
}

// Item implements popularity.Ranking.
func (b *slowBoard) Item(id string, now time.Time) (hotness.Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.board.Item(id, now)
}

// applyLater applies events to the board once the delay has passed.
func (b *slowBoard) applyLater(events []cloudevents.Event) {
	time.AfterFunc(b.delay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range events {
			in, err := event.Validate(e)
			action, ok := contract.ActionOf(e.Type())
			if err != nil || !ok {
				continue
			}
			b.board.Apply(hotness.Interaction{ItemID: in.ItemID, Category: in.Category, Action: action, Time: e.Time()})
		}
	})
}

func TestFreshness(t *testing.T) {
	const delay = 80 * time.Millisecond
	tests := []struct {
		name        string
		counts      bool // whether popularity ever counts the events
		wantVisible bool
	}{
		{"likes become visible", true, true},
		{"likes never counted", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			board := newSlowBoard(delay)
			sink := &memorySink{}
			if tt.counts {
				sink.onStore = board.applyLater
			}
			ingestSrv := newIngest(t, sink, "")
			popularitySrv := httptest.NewServer(popularity.NewHandler(board, 100, nil))
			t.Cleanup(popularitySrv.Close)

			cfg := testConfig(ModeFreshness, ingestSrv.URL, 0)
			cfg.Popularity = popularitySrv.URL
			cfg.Rate, cfg.ProbeRate, cfg.Batch = 220, 20, 10
			cfg.Duration, cfg.Poll, cfg.ProbeTimeout = 1500*time.Millisecond, 5*time.Millisecond, 400*time.Millisecond

			got, err := run(context.Background(), cfg, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			f := got.Freshness
			if f == nil {
				t.Fatal("the summary has no freshness section")
			}
			if f.Probes == 0 || f.Failed != 0 || f.Visible+f.Stale != f.Probes {
				t.Fatalf("probes %d, visible %d, stale %d, failed %d: want every probe accepted and resolved", f.Probes, f.Visible, f.Stale, f.Failed)
			}
			if got.Accepted == 0 || got.Batch != 10 {
				t.Errorf("background: %d events accepted in batches of %d, want some in batches of 10", got.Accepted, got.Batch)
			}
			if !tt.wantVisible {
				if f.Visible != 0 || f.FirstError == "" {
					t.Errorf("%d probes visible (error %q), want none, with the reason", f.Visible, f.FirstError)
				}
				return
			}
			if f.Stale != 0 {
				t.Errorf("%d probes stale (%s), want none", f.Stale, f.FirstError)
			}
			// Freshness is never measured below the time the like took to reach the board.
			if floor := float64(delay) / float64(time.Millisecond); f.Freshness.P50 < floor || f.Freshness.Max > float64(cfg.ProbeTimeout.Milliseconds()) {
				t.Errorf("freshness %v, want between the %v delay and the probe timeout", f.Freshness, delay)
			}
		})
	}
}
