package hotness

import (
	"hash/maphash"
	"math"
	"strings"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
)

// Board holds the hotness of every item it has seen and ranks them overall, per category and per
// audience segment.
//
// Apply costs O(1) for the score plus O(log n) per ranking the item is in, and Top O(N log N)
// whatever the number of items (see Query for a segment within a category). Scores live in a
// reference frame that moves forward (a rebase) only when an interaction arrives more than 512
// half-lives after it; a rebase rescales and re-heaps everything in O(n), about once every 128
// days at a 6 h half-life.
//
// Memory, measured by BenchmarkMemory at a million items with ids like "item-123456" and 50
// categories, is about 115 bytes per item plus about 34 per (item, segment) pair. Ids of up to 15
// bytes are kept in place; a longer id costs its length plus about 2 bytes more.
//
// A Board is not safe for concurrent use. Top, Item, State and Len do not modify it, so a
// sync.RWMutex is enough: any number of reads may run together, but not alongside Apply or
// Restore.
type Board struct {
	weights [numActions]float64 // weights[actionIndex(rated)] is unused: rated weighs Rating-3
	frame   frame

	ids    arena  // the ids too long to keep in place
	byID   index  // item id -> item number
	items  []item // by item number
	posAll []uint32
	posCat []uint32

	overall    ranking
	categories names
	byCategory []ranking // by category number; 0, the empty category, is unused

	segments  names
	bySegment []ranking // by segment number; 0 is unused
	members   []member
	free      uint32 // first free member + 1, or 0
}

// item is what a Board keeps per item besides its ranking entries, in 56 bytes. Its overall score
// lives in the overall ranking, at position posAll[number].
type item struct {
	updated  int64 // latest interaction time, Unix nanoseconds
	id       idRef
	counts   [numActions]uint32
	category uint32 // category number; 0 = none
	members  uint32 // first segment membership + 1, or 0
}

// member records that an item has a score in a segment; an item's members form a linked list.
type member struct {
	segment uint32
	next    uint32 // next member of the same item + 1 (or next free member + 1), or 0
	pos     uint32 // position in the segment's ranking
}

// maxCount is where a count saturates.
const maxCount = math.MaxUint32

// NewBoard returns an empty Board. It panics if cfg is not valid (see Config.Validate), as
// time.NewTicker does for a bad period: configuration is validated where it is read.
func NewBoard(cfg Config) *Board {
	if err := cfg.Validate(); err != nil {
		panic("hotness: " + err.Error())
	}
	b := &Board{
		frame:      frame{halfLife: int64(cfg.HalfLife)},
		byID:       index{seed: maphash.MakeSeed()},
		categories: newNames(),
		segments:   newNames(),
		byCategory: []ranking{{}},
		bySegment:  []ranking{{}},
	}
	b.overall = ranking{board: b, kind: overallRanking}
	for a, w := range cfg.Weights {
		if i, ok := actionIndex(a); ok && a != contract.ActionRated {
			b.weights[i] = w
		}
	}
	return b
}

// Len returns the number of items on the board.
func (b *Board) Len() int { return len(b.items) }

// Apply adds one interaction to its item's score, its segment score and its counts, and moves the
// item to the interaction's category when it names one. Apply ignores an interaction with an
// empty ItemID or an Action that is not one of contract.Actions; the clean function emits neither.
// Counts saturate at 2^32-1.
func (b *Board) Apply(in Interaction) {
	a, ok := actionIndex(in.Action)
	if !ok || in.ItemID == "" {
		return
	}
	w := b.weights[a]
	if in.Action == contract.ActionRated {
		w = float64(in.Rating - 3)
	}
	t := in.Time.UnixNano()
	b.rebaseFor(t)
	c := b.frame.scale(w, t-b.frame.origin)

	i, created := b.item(in.ItemID)
	it := &b.items[i]
	if it.counts[a] < maxCount {
		it.counts[a]++
	}
	if created || t > it.updated {
		it.updated = t
	}
	if c != 0 || created {
		b.overall.add(int(b.posAll[i]), c)
	}
	score := b.overall.scores[b.posAll[i]]
	if in.Category != "" && in.Category != b.categories.list[it.category] {
		b.moveTo(i, b.categories.intern(in.Category), score)
	} else if it.category != 0 && c != 0 {
		b.byCategory[it.category].set(int(b.posCat[i]), score)
	}
	if in.Segment != "" {
		b.addSegment(i, b.segmentNumber(in.Segment), c)
	}
}

// item returns the number of the item with the given id, adding it with a zero score when new.
func (b *Board) item(id string) (i uint32, created bool) {
	i, at, ok := b.byID.find(id, b)
	if ok {
		return i, false
	}
	i = uint32(len(b.items))
	b.items = append(b.items, item{id: b.ids.ref(id)})
	b.posAll = append(b.posAll, 0)
	b.posCat = append(b.posCat, 0)
	b.byID.insert(id, i, at, b)
	b.overall.push(entry{item: i})
	return i, true
}

// idBytes returns the id of item i. The bytes must not be modified and are valid only until the
// next item is added.
func (b *Board) idBytes(i uint32) []byte { return b.ids.bytes(&b.items[i].id) }

// moveTo moves item i, whose overall score is score, to category cat (0: none).
func (b *Board) moveTo(i, cat uint32, score float64) {
	it := &b.items[i]
	if it.category == cat {
		if cat != 0 {
			b.byCategory[cat].set(int(b.posCat[i]), score)
		}
		return
	}
	if it.category != 0 {
		b.byCategory[it.category].remove(int(b.posCat[i]))
	}
	it.category = cat
	if cat != 0 {
		for int(cat) >= len(b.byCategory) {
			b.byCategory = append(b.byCategory, ranking{board: b, kind: categoryRanking})
		}
		b.byCategory[cat].push(entry{score: score, item: i})
	}
}

// segmentNumber returns the number of a segment, creating its ranking when new.
func (b *Board) segmentNumber(name string) uint32 {
	seg := b.segments.intern(name)
	for int(seg) >= len(b.bySegment) {
		b.bySegment = append(b.bySegment, ranking{board: b, kind: segmentRanking})
	}
	return seg
}

// membership returns item i's member of segment seg, or false. It moves the member it finds to
// the front of the item's list, so that an item's busiest segments are found first.
func (b *Board) membership(i, seg uint32) (uint32, bool) {
	var prev uint32
	for m := b.items[i].members; m != 0; prev, m = m, b.members[m-1].next {
		if b.members[m-1].segment != seg {
			continue
		}
		if prev != 0 {
			b.members[prev-1].next = b.members[m-1].next
			b.members[m-1].next = b.items[i].members
			b.items[i].members = m
		}
		return m - 1, true
	}
	return 0, false
}

// addSegment adds delta to item i's score in segment seg, entering the item in the segment's
// ranking when new.
func (b *Board) addSegment(i, seg uint32, delta float64) {
	if m, ok := b.membership(i, seg); ok {
		if delta != 0 {
			b.bySegment[seg].add(int(b.members[m].pos), delta)
		}
		return
	}
	m := b.newMember(i, seg)
	b.bySegment[seg].push(entry{score: 0 + delta, item: i, key: m})
}

// newMember links a new member of segment seg to item i and returns it.
func (b *Board) newMember(i, seg uint32) uint32 {
	it := &b.items[i]
	var m uint32
	if b.free != 0 {
		m = b.free - 1
		b.free = b.members[m].next
	} else {
		m = uint32(len(b.members))
		b.members = append(b.members, member{})
	}
	b.members[m] = member{segment: seg, next: it.members}
	it.members = m + 1
	return m
}

// rebaseFor moves the reference frame forward when a score at time t would grow too large in it,
// rescaling every score by the same exact power of two and restoring every heap.
func (b *Board) rebaseFor(t int64) {
	shift := b.frame.shiftFor(t)
	if shift == 0 {
		return
	}
	b.frame.origin += shift * b.frame.halfLife
	e := clampExponent(-shift)
	rescale := func(r *ranking) {
		for j, v := range r.scores {
			r.scores[j] = math.Ldexp(v, e)
		}
		// Scores that fell below the normal float64 range may now tie, and ties order by id.
		r.heapify()
	}
	rescale(&b.overall)
	for j := 1; j < len(b.byCategory); j++ {
		rescale(&b.byCategory[j])
	}
	for j := 1; j < len(b.bySegment); j++ {
		rescale(&b.bySegment[j])
	}
}

// Top returns up to q.N items of the ranking q selects, in rank order, with scores decayed to
// now. An unknown category or segment gives an empty result.
func (b *Board) Top(q Query, now time.Time) []Entry {
	var (
		r    *ranking
		keep func(uint32) bool
	)
	cat, catOK := b.categories.lookup(q.Category)
	if q.Category != "" && !catOK {
		return nil
	}
	switch {
	case q.Segment != "":
		seg, ok := b.segments.lookup(q.Segment)
		if !ok {
			return nil
		}
		r = &b.bySegment[seg]
		if q.Category != "" {
			keep = func(i uint32) bool { return b.items[i].category == cat }
		}
	case q.Category != "":
		r = &b.byCategory[cat]
	default:
		r = &b.overall
	}
	top := r.top(q.N, keep)
	if len(top) == 0 {
		return nil
	}
	d := b.frame.origin - now.UnixNano()
	out := make([]Entry, len(top))
	for j, pos := range top {
		out[j] = b.entry(r.items[pos], b.frame.scale(r.scores[pos], d))
	}
	return out
}

// Item returns one item with its overall score decayed to now, and false if the Board has never
// seen it.
func (b *Board) Item(id string, now time.Time) (Entry, bool) {
	i, _, ok := b.byID.find(id, b)
	if !ok {
		return Entry{}, false
	}
	score := b.overall.scores[b.posAll[i]]
	return b.entry(i, b.frame.scale(score, b.frame.origin-now.UnixNano())), true
}

// entry describes item i with the given score.
func (b *Board) entry(i uint32, score float64) Entry {
	it := &b.items[i]
	return Entry{
		ItemID:    string(b.idBytes(i)),
		Category:  b.categories.list[it.category],
		Score:     score,
		Counts:    countsOf(&it.counts, true),
		UpdatedAt: time.Unix(0, it.updated).UTC(),
	}
}

// State returns the whole state of one item for the changelog, and false if the Board has never
// seen it.
func (b *Board) State(id string) (ItemState, bool) {
	i, _, ok := b.byID.find(id, b)
	if !ok {
		return ItemState{}, false
	}
	it := &b.items[i]
	at := b.frame.start(it.updated)
	// Both instants are whole half-lives from the epoch, so the shift is an exact power of two.
	e := clampExponent((b.frame.origin - at) / b.frame.halfLife)
	s := ItemState{
		ItemID:    string(b.idBytes(i)),
		Category:  b.categories.list[it.category],
		Score:     math.Ldexp(b.overall.scores[b.posAll[i]], e),
		ScoreTime: time.Unix(0, at).UTC(),
		Counts:    countsOf(&it.counts, false),
		UpdatedAt: time.Unix(0, it.updated).UTC(),
	}
	for m := it.members; m != 0; m = b.members[m-1].next {
		mb := &b.members[m-1]
		if s.Segments == nil {
			s.Segments = map[string]float64{}
		}
		s.Segments[b.segments.list[mb.segment]] = math.Ldexp(b.bySegment[mb.segment].scores[mb.pos], e)
	}
	return s, true
}

// Restore replaces the whole state of one item with s, or adds the item, and re-ranks it. A Board
// that restores the states another Board returned and then applies the same interactions ends
// with exactly the same numbers.
func (b *Board) Restore(s ItemState) {
	if s.ItemID == "" {
		return
	}
	at := s.ScoreTime.UnixNano()
	b.rebaseFor(at)
	d := at - b.frame.origin

	i, _ := b.item(s.ItemID)
	it := &b.items[i]
	it.updated = s.UpdatedAt.UnixNano()
	it.counts = [numActions]uint32{}
	for a, n := range s.Counts {
		if k, ok := actionIndex(a); ok {
			it.counts[k] = uint32(max(0, min(maxCount, n)))
		}
	}
	score := b.frame.scale(s.Score, d)
	b.overall.set(int(b.posAll[i]), score)
	b.moveTo(i, b.categories.intern(s.Category), score)

	// Drop the memberships of segments s does not have, then set or add the others.
	for prev, m := uint32(0), it.members; m != 0; {
		mb := b.members[m-1]
		if _, keep := s.Segments[b.segments.list[mb.segment]]; keep {
			prev, m = m, mb.next
			continue
		}
		b.bySegment[mb.segment].remove(int(mb.pos))
		if prev == 0 {
			b.items[i].members = mb.next
		} else {
			b.members[prev-1].next = mb.next
		}
		b.members[m-1].next, b.free = b.free, m
		m = mb.next
	}
	for name, v := range s.Segments {
		if name == "" {
			continue
		}
		seg := b.segmentNumber(name)
		if m, ok := b.membership(i, seg); ok {
			b.bySegment[seg].set(int(b.members[m].pos), b.frame.scale(v, d))
		} else {
			m := b.newMember(i, seg)
			b.bySegment[seg].push(entry{score: b.frame.scale(v, d), item: i, key: m})
		}
	}
}

// countsOf returns counts as a map, with every action when all is set and only the non-zero ones
// otherwise.
func countsOf(counts *[numActions]uint32, all bool) map[contract.Action]int64 {
	out := make(map[contract.Action]int64, numActions)
	for k, n := range counts {
		if all || n != 0 {
			out[contract.Actions[k]] = int64(n)
		}
	}
	return out
}

// names interns strings as small numbers; number 0 is the empty string.
type names struct {
	numbers map[string]uint32
	list    []string
}

func newNames() names {
	return names{numbers: map[string]uint32{"": 0}, list: []string{""}}
}

// intern returns the number of s, assigning the next one when s is new.
func (n *names) intern(s string) uint32 {
	if k, ok := n.numbers[s]; ok {
		return k
	}
	k := uint32(len(n.list))
	s = strings.Clone(s)
	n.numbers[s] = k
	n.list = append(n.list, s)
	return k
}

// lookup returns the number of s, and false when s was never interned.
func (n *names) lookup(s string) (uint32, bool) {
	k, ok := n.numbers[s]
	return k, ok
}
