package hotness_test

import (
	"math"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
)

// TestMergeEqualsOneBoardOfAllEvents scores events on two boards, as two partitions do after a
// topic grew, and checks that merging their states gives what one board of all events holds.
func TestMergeEqualsOneBoardOfAllEvents(t *testing.T) {
	cfg := hotness.Config{HalfLife: time.Hour, Weights: map[contract.Action]float64{contract.ActionLiked: 3, contract.ActionViewed: 1}}
	all, old, grown := hotness.NewBoard(cfg), hotness.NewBoard(cfg), hotness.NewBoard(cfg)
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	events := []hotness.Interaction{
		{ItemID: "dune", Category: "books", Segment: "25-34.f", Action: contract.ActionLiked, Time: start},
		{ItemID: "dune", Action: contract.ActionViewed, Time: start.Add(90 * time.Minute)},
		{ItemID: "dune", Category: "films", Segment: "25-34.f", Action: contract.ActionLiked, Time: start.Add(5 * time.Hour)},
		{ItemID: "dune", Segment: "35-44.m", Action: contract.ActionViewed, Time: start.Add(4 * time.Hour)},
	}
	for i, in := range events {
		all.Apply(in)
		if i < 2 {
			old.Apply(in)
		} else {
			grown.Apply(in)
		}
	}
	a, _ := old.State("dune")
	b, _ := grown.State("dune")
	if got := hotness.Merge(time.Hour, a); got.Score != a.Score || got.Category != a.Category {
		t.Errorf("Merge of one state = %+v, want it unchanged", got)
	}
	want, _ := all.State("dune")
	got := hotness.Merge(time.Hour, a, b)
	if !got.ScoreTime.Equal(want.ScoreTime) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.Category != want.Category {
		t.Errorf("merged times and category %v %v %q, want %v %v %q", got.ScoreTime, got.UpdatedAt, got.Category, want.ScoreTime, want.UpdatedAt, want.Category)
	}
	if math.Abs(got.Score-want.Score) > 1e-12*math.Abs(want.Score) {
		t.Errorf("merged score %v, want %v", got.Score, want.Score)
	}
	for _, a := range contract.Actions {
		if got.Counts[a] != want.Counts[a] {
			t.Errorf("merged %s count %d, want %d", a, got.Counts[a], want.Counts[a])
		}
	}
	for s, v := range want.Segments {
		if math.Abs(got.Segments[s]-v) > 1e-12*math.Abs(v) {
			t.Errorf("merged segment %s score %v, want %v", s, got.Segments[s], v)
		}
	}
}
