package hotness_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
)

// like returns a liked interaction with item id, category and segment at epoch+at.
func like(id, category, segment string, at time.Duration) hotness.Interaction {
	return hotness.Interaction{ItemID: id, Category: category, Segment: segment, Action: contract.ActionLiked, Time: epoch.Add(at)}
}

func ids(entries []hotness.Entry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.ItemID)
	}
	return out
}

func TestBoardSemantics(t *testing.T) {
	const h = time.Hour
	rated := func(id string, stars int, at time.Duration) hotness.Interaction {
		return hotness.Interaction{ItemID: id, Action: contract.ActionRated, Rating: stars, Time: epoch.Add(at)}
	}
	tests := []struct {
		name  string
		apply []hotness.Interaction
		query hotness.Query
		now   time.Duration
		want  []string  // ids in rank order
		score []float64 // their scores
	}{
		{
			name:  "a score halves every half-life",
			apply: []hotness.Interaction{like("a", "", "", 0)},
			query: hotness.Query{N: 10},
			now:   2 * h,
			want:  []string{"a"},
			score: []float64{0.75},
		},
		{
			name:  "a fresh like outranks two old ones",
			apply: []hotness.Interaction{like("old", "", "", 0), like("old", "", "", 0), like("new", "", "", 2*h)},
			query: hotness.Query{N: 10},
			now:   2 * h,
			want:  []string{"new", "old"},
			score: []float64{3, 1.5},
		},
		{
			name: "ratings weigh stars minus three",
			apply: []hotness.Interaction{
				rated("five", 5, 0), rated("three", 3, 0), rated("one", 1, 0),
			},
			query: hotness.Query{N: 10},
			want:  []string{"five", "three", "one"},
			score: []float64{2, 0, -2},
		},
		{
			name: "unliked cancels liked and negative scores rank last",
			apply: []hotness.Interaction{
				like("a", "", "", 0),
				{ItemID: "a", Action: contract.ActionUnliked, Time: epoch},
				{ItemID: "b", Action: contract.ActionUnliked, Time: epoch},
				{ItemID: "c", Action: contract.ActionViewed, Time: epoch},
			},
			query: hotness.Query{N: 10},
			want:  []string{"c", "a", "b"},
			score: []float64{1, 0, -3},
		},
		{
			name:  "equal scores rank by id",
			apply: []hotness.Interaction{like("b", "", "", 0), like("c", "", "", 0), like("a", "", "", 0)},
			query: hotness.Query{N: 2},
			want:  []string{"a", "b"},
			score: []float64{3, 3},
		},
		{
			name:  "an item belongs to its latest non-empty category",
			apply: []hotness.Interaction{like("a", "books", "", 0), like("a", "music", "", 0), like("a", "", "", 0), like("b", "books", "", 0)},
			query: hotness.Query{N: 10, Category: "music"},
			want:  []string{"a"},
			score: []float64{9},
		},
		{
			name:  "an item that moves leaves its old category",
			apply: []hotness.Interaction{like("a", "books", "", 0), like("a", "music", "", 0), like("b", "books", "", 0)},
			query: hotness.Query{N: 10, Category: "books"},
			want:  []string{"b"},
			score: []float64{3},
		},
		{
			name:  "a segment score counts only that segment's interactions",
			apply: []hotness.Interaction{like("a", "", "25-34.f", 0), like("a", "", "", 0), like("a", "", "18-24.m", 0), like("b", "", "25-34.f", 0), like("b", "", "25-34.f", 0)},
			query: hotness.Query{N: 10, Segment: "25-34.f"},
			want:  []string{"b", "a"},
			score: []float64{6, 3},
		},
		{
			name:  "segment and category together rank the segment within the category",
			apply: []hotness.Interaction{like("a", "books", "s", 0), like("b", "music", "s", 0), like("b", "music", "s", 0), like("c", "books", "", 0)},
			query: hotness.Query{N: 10, Segment: "s", Category: "books"},
			want:  []string{"a"},
			score: []float64{3},
		},
		{
			name:  "an unknown category is empty",
			apply: []hotness.Interaction{like("a", "books", "s", 0)},
			query: hotness.Query{N: 10, Category: "games"},
		},
		{
			name:  "an unknown segment is empty",
			apply: []hotness.Interaction{like("a", "books", "s", 0)},
			query: hotness.Query{N: 10, Segment: "t"},
		},
		{
			name:  "N of zero is empty",
			apply: []hotness.Interaction{like("a", "books", "s", 0)},
			query: hotness.Query{N: 0},
		},
		{
			name: "interactions without an item or with an unknown action are ignored",
			apply: []hotness.Interaction{
				like("", "books", "", 0),
				{ItemID: "a", Action: "poked", Time: epoch},
			},
			query: hotness.Query{N: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := hotness.NewBoard(hotness.Config{HalfLife: h, Weights: defaultWeights()})
			for _, in := range tt.apply {
				b.Apply(in)
			}
			got := b.Top(tt.query, epoch.Add(tt.now))
			if !reflect.DeepEqual(ids(got), append([]string{}, tt.want...)) {
				t.Fatalf("Top(%+v) = %v, want %v", tt.query, ids(got), tt.want)
			}
			for i, e := range got {
				if math.Abs(e.Score-tt.score[i]) > 1e-12 {
					t.Errorf("%s has score %v, want %v", e.ItemID, e.Score, tt.score[i])
				}
			}
		})
	}
}

func TestBoardItem(t *testing.T) {
	b := hotness.NewBoard(hotness.Config{HalfLife: time.Hour, Weights: defaultWeights()})
	b.Apply(like("a", "books", "s", time.Hour))
	b.Apply(hotness.Interaction{ItemID: "a", Action: contract.ActionViewed, Time: epoch})
	b.Apply(hotness.Interaction{ItemID: "a", Action: contract.ActionRated, Rating: 4, Time: epoch.Add(time.Hour)})

	got, ok := b.Item("a", epoch.Add(2*time.Hour))
	want := hotness.Entry{
		ItemID:    "a",
		Category:  "books",
		Score:     (3 + 0.5 + 1) / 2,
		Counts:    map[contract.Action]int64{contract.ActionLiked: 1, contract.ActionUnliked: 0, contract.ActionViewed: 1, contract.ActionFavorited: 0, contract.ActionRated: 1, contract.ActionShared: 0},
		UpdatedAt: epoch.Add(time.Hour),
	}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("Item(a) = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := b.Item("b", epoch); ok {
		t.Error("Item(b) found an item never applied")
	}
	if _, ok := b.State("b"); ok {
		t.Error("State(b) found an item never applied")
	}
}

func TestBoardCountsSaturate(t *testing.T) {
	b := hotness.NewBoard(hotness.Config{HalfLife: time.Hour, Weights: defaultWeights()})
	b.Restore(hotness.ItemState{ItemID: "a", ScoreTime: epoch, UpdatedAt: epoch, Counts: map[contract.Action]int64{contract.ActionViewed: 1 << 40}})
	b.Apply(hotness.Interaction{ItemID: "a", Action: contract.ActionViewed, Time: epoch})
	if got, _ := b.Item("a", epoch); got.Counts[contract.ActionViewed] != math.MaxUint32 {
		t.Errorf("views = %d, want the saturated %d", got.Counts[contract.ActionViewed], uint32(math.MaxUint32))
	}
}

func TestRestoreReplacesAnItem(t *testing.T) {
	b := hotness.NewBoard(hotness.Config{HalfLife: time.Hour, Weights: defaultWeights()})
	b.Apply(like("x", "books", "s1", 0))
	b.Apply(like("x", "books", "s2", 0))
	b.Apply(like("y", "books", "s1", 0))
	b.Restore(hotness.ItemState{
		ItemID:    "x",
		Category:  "music",
		Score:     10,
		ScoreTime: epoch,
		Counts:    map[contract.Action]int64{contract.ActionShared: 2},
		Segments:  map[string]float64{"s2": 7, "s3": 5},
		UpdatedAt: epoch,
	})
	tests := []struct {
		query hotness.Query
		want  []string
	}{
		{hotness.Query{N: 10}, []string{"x", "y"}},
		{hotness.Query{N: 10, Category: "books"}, []string{"y"}},
		{hotness.Query{N: 10, Category: "music"}, []string{"x"}},
		{hotness.Query{N: 10, Segment: "s1"}, []string{"y"}},
		{hotness.Query{N: 10, Segment: "s2"}, []string{"x"}},
		{hotness.Query{N: 10, Segment: "s3"}, []string{"x"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.query), func(t *testing.T) {
			if got := ids(b.Top(tt.query, epoch)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Top = %v, want %v", got, tt.want)
			}
		})
	}
	got, _ := b.State("x")
	want := hotness.ItemState{
		ItemID: "x", Category: "music", Score: 10, ScoreTime: epoch,
		Counts:    map[contract.Action]int64{contract.ActionShared: 2},
		Segments:  map[string]float64{"s2": 7, "s3": 5},
		UpdatedAt: epoch,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("State(x) = %+v, want %+v", got, want)
	}
	// The membership dropped from s1 is reused, not leaked into the ranking.
	b.Restore(hotness.ItemState{ItemID: "x", ScoreTime: epoch, UpdatedAt: epoch, Segments: map[string]float64{"s1": 1}})
	if got := ids(b.Top(hotness.Query{N: 10, Segment: "s1"}, epoch)); !reflect.DeepEqual(got, []string{"y", "x"}) {
		t.Errorf("Top(s1) after restoring x into s1 = %v, want [y x]", got)
	}
	if got := ids(b.Top(hotness.Query{N: 10, Category: "music"}, epoch)); len(got) != 0 {
		t.Errorf("Top(music) after restoring x without a category = %v, want none", got)
	}
}

// TestRestoreContinuesExactly checkpoints a board mid-stream through JSON, restores it into a new
// board in a random order, continues both, and requires the same numbers bit for bit.
func TestRestoreContinuesExactly(t *testing.T) {
	cases := []streamCase{
		{"hours", 2 * time.Hour, stream{events: 4000, items: 300, categories: 6, segments: 5, span: 72 * time.Hour}},
		{"rebasing", 6 * time.Minute, stream{events: 4000, items: 200, categories: 5, segments: 4, span: 70 * time.Hour}},
	}
	forEachStream(t, cases, func(t *testing.T, cfg hotness.Config, s stream, events []hotness.Interaction) {
		uninterrupted := hotness.NewBoard(cfg)
		for _, in := range events[:len(events)/2] {
			uninterrupted.Apply(in)
		}
		restored := hotness.NewBoard(cfg)
		rng := rand.New(rand.NewPCG(s.seed, 3))
		for _, k := range rng.Perm(s.items) {
			if st, ok := uninterrupted.State(itemID(k)); ok {
				restored.Restore(throughJSON(t, st))
			}
		}
		for _, in := range events[len(events)/2:] {
			uninterrupted.Apply(in)
			restored.Apply(in)
		}
		sameBoards(t, uninterrupted, restored, s, epoch.Add(s.span))
	})
}

// throughJSON encodes and decodes s as the changelog does.
func throughJSON(t *testing.T, s hotness.ItemState) hotness.ItemState {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encoding %+v: %v", s, err)
	}
	var out hotness.ItemState
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return out
}

// sameBoards requires a and b to hold exactly the same items, states and rankings.
func sameBoards(t *testing.T, a, b *hotness.Board, s stream, now time.Time) {
	t.Helper()
	if a.Len() != b.Len() {
		t.Fatalf("boards hold %d and %d items", a.Len(), b.Len())
	}
	for k := range s.items {
		id := itemID(k)
		sa, oka := a.State(id)
		sb, okb := b.State(id)
		if oka != okb || !sameState(sa, sb) {
			t.Fatalf("State(%s) differs:\n%+v\n%+v", id, sa, sb)
		}
		ea, _ := a.Item(id, now)
		eb, _ := b.Item(id, now)
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("Item(%s) differs:\n%+v\n%+v", id, ea, eb)
		}
	}
	queries := []hotness.Query{{N: s.items}}
	for c := range s.categories {
		queries = append(queries, hotness.Query{N: s.items, Category: fmt.Sprintf("cat-%d", c)})
	}
	for g := range s.segments {
		queries = append(queries, hotness.Query{N: s.items, Segment: fmt.Sprintf("seg-%d", g)})
	}
	for _, q := range queries {
		if ta, tb := a.Top(q, now), b.Top(q, now); !reflect.DeepEqual(ta, tb) {
			t.Fatalf("Top(%+v) differs:\n%v\n%v", q, ids(ta), ids(tb))
		}
	}
}

func sameState(a, b hotness.ItemState) bool {
	return a.ItemID == b.ItemID && a.Category == b.Category &&
		math.Float64bits(a.Score) == math.Float64bits(b.Score) &&
		a.ScoreTime.Equal(b.ScoreTime) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		reflect.DeepEqual(a.Counts, b.Counts) && reflect.DeepEqual(a.Segments, b.Segments)
}

func TestActionsOrder(t *testing.T) {
	// Counts are kept in contract.Actions order; this guards the mapping against a reordering there.
	b := hotness.NewBoard(hotness.Config{HalfLife: time.Hour})
	for i, a := range contract.Actions {
		for range i + 1 {
			b.Apply(hotness.Interaction{ItemID: "a", Action: a, Rating: 3, Time: epoch})
		}
	}
	got, _ := b.Item("a", epoch)
	for i, a := range contract.Actions {
		if got.Counts[a] != int64(i+1) {
			t.Errorf("count of %s = %d, want %d", a, got.Counts[a], i+1)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   hotness.Config
		valid bool
	}{
		{"defaults", hotness.Config{HalfLife: 6 * time.Hour, Weights: defaultWeights()}, true},
		{"no weights", hotness.Config{HalfLife: time.Second}, true},
		{"zero half-life", hotness.Config{Weights: defaultWeights()}, false},
		{"negative half-life", hotness.Config{HalfLife: -time.Hour}, false},
		{"infinite weight", hotness.Config{HalfLife: time.Hour, Weights: map[contract.Action]float64{contract.ActionLiked: math.Inf(1)}}, false},
		{"NaN weight", hotness.Config{HalfLife: time.Hour, Weights: map[contract.Action]float64{contract.ActionLiked: math.NaN()}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestRestoreRerank(t *testing.T) {
	b := hotness.NewBoard(hotness.Config{HalfLife: time.Hour, Weights: defaultWeights()})
	b.Apply(like("a", "music", "s", 0))
	b.Apply(like("a", "music", "s", 0))
	b.Apply(like("b", "music", "s", 0))
	b.Restore(hotness.ItemState{ItemID: "b", Category: "music", Score: 9, ScoreTime: epoch, UpdatedAt: epoch, Segments: map[string]float64{"s": 9}})
	b.Restore(hotness.ItemState{ItemID: ""}) // ignored
	for _, q := range []hotness.Query{{N: 5}, {N: 5, Category: "music"}, {N: 5, Segment: "s"}} {
		got := b.Top(q, epoch)
		if !reflect.DeepEqual(ids(got), []string{"b", "a"}) || got[0].Score != 9 || got[1].Score != 6 {
			t.Errorf("Top(%+v) after restoring b at 9 = %v, want b at 9 then a at 6", q, got)
		}
	}
	if b.Len() != 2 {
		t.Errorf("Len() = %d, want 2", b.Len())
	}
}

func TestNewBoardPanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewBoard with a zero half-life did not panic")
		}
	}()
	hotness.NewBoard(hotness.Config{})
}
