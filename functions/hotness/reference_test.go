package hotness_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/hotness"
)

// epoch is where generated streams start.
var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// defaultWeights are the weights the issue specifies.
func defaultWeights() map[contract.Action]float64 {
	return map[contract.Action]float64{
		contract.ActionLiked:     3,
		contract.ActionUnliked:   -3,
		contract.ActionViewed:    1,
		contract.ActionFavorited: 5,
		contract.ActionShared:    4,
	}
}

// stream describes a random interaction stream.
type stream struct {
	seed       uint64
	events     int
	items      int
	categories int
	segments   int
	span       time.Duration // event times fall in [epoch, epoch+span), in random order
}

func (s stream) generate() []hotness.Interaction {
	rng := rand.New(rand.NewPCG(s.seed, 7))
	out := make([]hotness.Interaction, s.events)
	for i := range out {
		k := rng.IntN(s.items)
		in := hotness.Interaction{
			ItemID: itemID(k),
			Action: contract.Actions[rng.IntN(len(contract.Actions))],
			Time:   epoch.Add(time.Duration(rng.Int64N(int64(s.span)))),
		}
		if in.Action == contract.ActionRated {
			in.Rating = 1 + rng.IntN(5)
		}
		if k%5 == 0 && rng.IntN(10) < 7 {
			// Every fifth item is disliked, so that totals go negative.
			in.Action, in.Rating = contract.ActionRated, 1+rng.IntN(2)
			if rng.IntN(2) == 0 {
				in.Action, in.Rating = contract.ActionUnliked, 0
			}
		}
		if rng.IntN(3) > 0 {
			in.Category = fmt.Sprintf("cat-%d", rng.IntN(s.categories))
		}
		if rng.IntN(4) > 0 {
			in.Segment = fmt.Sprintf("seg-%d", rng.IntN(s.segments))
		}
		out[i] = in
	}
	return out
}

// itemID returns the id of the k-th item of a stream: mostly short ids, and every third one too
// long for a Board to keep in place.
func itemID(k int) string {
	if k%3 == 0 {
		return fmt.Sprintf("urn:recoflow:item:%08d", k)
	}
	return fmt.Sprintf("item-%d", k)
}

// model is the brute-force reference: it keeps every interaction and recomputes everything from
// the raw list on each read, straight from the definition of the score.
type model struct {
	halfLife time.Duration
	weights  map[contract.Action]float64
	applied  []hotness.Interaction
}

// expected is what the model says about one item in one ranking.
type expected struct {
	id        string
	category  string
	score     float64 // decayed to the read instant
	magnitude float64 // sum of the absolute terms: the scale of the rounding error in score
	counts    map[contract.Action]int64
	updated   time.Time
	segments  map[string]bool
}

func (m *model) weight(in hotness.Interaction) float64 {
	if in.Action == contract.ActionRated {
		return float64(in.Rating - 3)
	}
	return m.weights[in.Action]
}

// items returns every item as ranked by segment (empty: overall), with scores at now.
func (m *model) items(segment string, now time.Time) map[string]*expected {
	out := map[string]*expected{}
	for _, in := range m.applied {
		e := out[in.ItemID]
		if e == nil {
			e = &expected{id: in.ItemID, counts: map[contract.Action]int64{}, updated: in.Time, segments: map[string]bool{}}
			for _, a := range contract.Actions {
				e.counts[a] = 0
			}
			out[in.ItemID] = e
		}
		if in.Category != "" {
			e.category = in.Category
		}
		e.counts[in.Action]++
		if in.Time.After(e.updated) {
			e.updated = in.Time
		}
		if in.Segment != "" {
			e.segments[in.Segment] = true
		}
		if segment == "" || in.Segment == segment {
			term := m.weight(in) * math.Exp2(-float64(now.Sub(in.Time))/float64(m.halfLife))
			e.score += term
			e.magnitude += math.Abs(term)
		}
	}
	return out
}

// candidates returns the items a query ranks, with their expected scores.
func (m *model) candidates(q hotness.Query, now time.Time) map[string]*expected {
	all := m.items(q.Segment, now)
	for id, e := range all {
		if (q.Category != "" && e.category != q.Category) || (q.Segment != "" && !e.segments[q.Segment]) {
			delete(all, id)
		}
	}
	return all
}

// near reports whether a board's score matches the model's within a relative 1e-9 of the
// magnitude of the terms summed.
func near(got float64, want *expected) bool {
	return math.Abs(got-want.score) <= 1e-9*want.magnitude+1e-300
}

// checkEntry compares one entry with the model's item.
func checkEntry(t *testing.T, what string, got hotness.Entry, want *expected) {
	t.Helper()
	if math.IsNaN(got.Score) || math.IsInf(got.Score, 0) {
		t.Fatalf("%s: %s has score %v", what, got.ItemID, got.Score)
	}
	if !near(got.Score, want) {
		t.Fatalf("%s: %s has score %.17g, model says %.17g (magnitude %g)", what, got.ItemID, got.Score, want.score, want.magnitude)
	}
	if got.Category != want.category {
		t.Fatalf("%s: %s has category %q, model says %q", what, got.ItemID, got.Category, want.category)
	}
	if !got.UpdatedAt.Equal(want.updated) {
		t.Fatalf("%s: %s updated at %v, model says %v", what, got.ItemID, got.UpdatedAt, want.updated)
	}
	for _, a := range contract.Actions {
		if got.Counts[a] != want.counts[a] {
			t.Fatalf("%s: %s has counts %v, model says %v", what, got.ItemID, got.Counts, want.counts)
		}
	}
}

// checkTop verifies that got is a correct top-n of the query: the right length, each entry
// right, in rank order, and no item left out that ranks above the last one returned.
func checkTop(t *testing.T, b *hotness.Board, m *model, q hotness.Query, now time.Time) {
	t.Helper()
	what := fmt.Sprintf("Top(%+v)", q)
	got := b.Top(q, now)
	want := m.candidates(q, now)
	if len(got) != min(q.N, len(want)) {
		t.Fatalf("%s returned %d items, want min(%d, %d)", what, len(got), q.N, len(want))
	}
	returned := map[string]bool{}
	for i, e := range got {
		w, ok := want[e.ItemID]
		if !ok || returned[e.ItemID] {
			t.Fatalf("%s: entry %d is %q, which is not a candidate or is repeated", what, i, e.ItemID)
		}
		returned[e.ItemID] = true
		checkEntry(t, what, e, w)
		if i > 0 && e.Score > got[i-1].Score {
			t.Fatalf("%s: entry %d (%s, %v) ranks below a lower score (%s, %v)", what, i, e.ItemID, e.Score, got[i-1].ItemID, got[i-1].Score)
		}
	}
	if len(got) == 0 {
		return
	}
	last := want[got[len(got)-1].ItemID]
	for id, w := range want {
		if !returned[id] && w.score > last.score+1e-9*(w.magnitude+last.magnitude)+1e-300 {
			t.Fatalf("%s left out %s with score %v, above the last entry %s at %v", what, id, w.score, last.id, last.score)
		}
	}
}

// checkBoard compares every item and a set of rankings of b with the model.
func checkBoard(t *testing.T, b *hotness.Board, m *model, s stream, now time.Time) {
	t.Helper()
	all := m.items("", now)
	if b.Len() != len(all) {
		t.Fatalf("Len() = %d, model has %d items", b.Len(), len(all))
	}
	for id, w := range all {
		got, ok := b.Item(id, now)
		if !ok {
			t.Fatalf("Item(%q) not found", id)
		}
		checkEntry(t, "Item", got, w)
	}
	for _, n := range []int{1, 10, s.items + 1} {
		checkTop(t, b, m, hotness.Query{N: n}, now)
		for c := range min(s.categories, 3) {
			checkTop(t, b, m, hotness.Query{N: n, Category: fmt.Sprintf("cat-%d", c)}, now)
		}
		for g := range min(s.segments, 3) {
			checkTop(t, b, m, hotness.Query{N: n, Segment: fmt.Sprintf("seg-%d", g)}, now)
			checkTop(t, b, m, hotness.Query{N: n, Segment: fmt.Sprintf("seg-%d", g), Category: "cat-1"}, now)
		}
	}
}

// streamCase is a board configuration and the random streams it is tested on, one per seed.
type streamCase struct {
	name     string
	halfLife time.Duration
	stream   stream
}

// forEachStream runs test on three seeds of every case, as subtests.
func forEachStream(t *testing.T, cases []streamCase, test func(t *testing.T, cfg hotness.Config, s stream, events []hotness.Interaction)) {
	for _, tt := range cases {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", tt.name, seed), func(t *testing.T) {
				s := tt.stream
				s.seed = seed
				test(t, hotness.Config{HalfLife: tt.halfLife, Weights: defaultWeights()}, s, s.generate())
			})
		}
	}
}

func TestBoardMatchesReference(t *testing.T) {
	cases := []streamCase{
		{"hours over days", 2 * time.Hour, stream{events: 3000, items: 150, categories: 6, segments: 5, span: 72 * time.Hour}},
		{"few items many events", 6 * time.Hour, stream{events: 4000, items: 12, categories: 3, segments: 3, span: 96 * time.Hour}},
		{"many items few events", 30 * time.Minute, stream{events: 2000, items: 1500, categories: 40, segments: 14, span: 48 * time.Hour}},
		{"fast decay", time.Minute, stream{events: 3000, items: 80, categories: 5, segments: 4, span: 6 * time.Hour}},
	}
	forEachStream(t, cases, func(t *testing.T, cfg hotness.Config, s stream, events []hotness.Interaction) {
		b := hotness.NewBoard(cfg)
		m := &model{halfLife: cfg.HalfLife, weights: cfg.Weights}
		for i, in := range events {
			b.Apply(in)
			m.applied = append(m.applied, in)
			if (i+1)%1000 == 0 || i+1 == len(events) {
				checkBoard(t, b, m, s, epoch.Add(s.span))
				checkBoard(t, b, m, s, epoch.Add(s.span/3))
			}
		}
		negative := false
		for _, e := range b.Top(hotness.Query{N: s.items}, epoch.Add(s.span)) {
			negative = negative || e.Score < 0
		}
		if !negative {
			t.Fatal("the stream gave no item a negative score: it does not exercise them")
		}
	})
}

func TestBoardRebases(t *testing.T) {
	// A half-life of one second over three hours puts interactions about 10,000 half-lives apart:
	// in one fixed frame their weights would reach 2^10000 and overflow float64.
	s := stream{seed: 11, events: 3000, items: 60, categories: 4, segments: 3, span: 3 * time.Hour}
	events := s.generate()
	slices.SortFunc(events, func(a, b hotness.Interaction) int { return a.Time.Compare(b.Time) })
	cfg := hotness.Config{HalfLife: time.Second, Weights: defaultWeights()}
	b := hotness.NewBoard(cfg)
	m := &model{halfLife: cfg.HalfLife, weights: cfg.Weights}
	for i, in := range events {
		b.Apply(in)
		m.applied = append(m.applied, in)
		if (i+1)%500 == 0 {
			checkBoard(t, b, m, s, in.Time)
		}
	}
	last := events[len(events)-1].Time
	checkBoard(t, b, m, s, last)
	top := b.Top(hotness.Query{N: 1}, last)
	if len(top) != 1 || top[0].Score == 0 {
		t.Fatalf("Top(1) = %+v, want the most recent item with a non-zero score", top)
	}
	for _, e := range b.Top(hotness.Query{N: s.items}, last) {
		st, _ := b.State(e.ItemID)
		if math.IsInf(st.Score, 0) || math.IsNaN(st.Score) {
			t.Fatalf("State(%s).Score = %v", e.ItemID, st.Score)
		}
	}
}
