package hotness

import "bytes"

// arity is the number of children of a heap node. A 4-ary heap is half as deep as a binary one,
// so an item that climbs does half the moves, and the scores of a node's children share a cache
// line.
const arity = 4

// rankingKind says where a ranking records the positions of its entries.
type rankingKind uint8

const (
	overallRanking  rankingKind = iota // Board.posAll[item]
	categoryRanking                    // Board.posCat[item]
	segmentRanking                     // Board.members[key].pos
)

// ranking is an indexed max-heap of items ordered by score, highest first, ties broken by item id
// so that every Board holding the same scores ranks them the same way. The position of every
// entry is recorded (see rankingKind), so a changed score is fixed in O(log n).
//
// Entries are stored as parallel slices: sift comparisons read only the dense scores, and an
// entry costs 12 bytes (16 in segment rankings, whose entries also name their membership).
type ranking struct {
	board  *Board
	kind   rankingKind
	scores []float64 // in the Board's reference frame
	items  []uint32
	keys   []uint32 // segment rankings only: the membership of each entry
}

// entry is one ranking entry while it moves.
type entry struct {
	score float64
	item  uint32
	key   uint32
}

// len returns the number of entries.
func (r *ranking) len() int { return len(r.scores) }

// at returns the entry at position i.
func (r *ranking) at(i int) entry {
	e := entry{score: r.scores[i], item: r.items[i]}
	if r.kind == segmentRanking {
		e.key = r.keys[i]
	}
	return e
}

// before reports whether e ranks above the entry at position i. Item ids are unique within a
// ranking, so the order is strict.
func (r *ranking) before(e entry, i int) bool {
	if s := r.scores[i]; e.score != s {
		return e.score > s
	}
	return bytes.Compare(r.board.idBytes(e.item), r.board.idBytes(r.items[i])) < 0
}

// beforeAt reports whether the entry at position i ranks above the entry at position j.
func (r *ranking) beforeAt(i, j int) bool {
	if r.scores[i] != r.scores[j] {
		return r.scores[i] > r.scores[j]
	}
	return bytes.Compare(r.board.idBytes(r.items[i]), r.board.idBytes(r.items[j])) < 0
}

// place puts e at position i and records the position.
func (r *ranking) place(i int, e entry) {
	r.scores[i], r.items[i] = e.score, e.item
	switch r.kind {
	case overallRanking:
		r.board.posAll[e.item] = uint32(i)
	case categoryRanking:
		r.board.posCat[e.item] = uint32(i)
	case segmentRanking:
		r.keys[i] = e.key
		r.board.members[e.key].pos = uint32(i)
	}
}

// push adds e to the ranking.
func (r *ranking) push(e entry) {
	r.scores = append(r.scores, e.score)
	r.items = append(r.items, e.item)
	if r.kind == segmentRanking {
		r.keys = append(r.keys, e.key)
	}
	r.up(r.len()-1, e)
}

// remove takes the entry at position i out of the ranking.
func (r *ranking) remove(i int) {
	last := r.len() - 1
	moved := r.at(last)
	r.scores, r.items = r.scores[:last], r.items[:last]
	if r.kind == segmentRanking {
		r.keys = r.keys[:last]
	}
	if i < last {
		r.fix(i, moved)
	}
}

// add changes the score at position i by delta and restores the heap order.
func (r *ranking) add(i int, delta float64) {
	e := r.at(i)
	e.score += delta
	r.fix(i, e)
}

// set changes the score at position i to score and restores the heap order.
func (r *ranking) set(i int, score float64) {
	e := r.at(i)
	e.score = score
	r.fix(i, e)
}

// fix puts e, the changed entry at position i, where it belongs.
func (r *ranking) fix(i int, e entry) {
	if i > 0 && r.before(e, (i-1)/arity) {
		r.up(i, e)
	} else {
		r.down(i, e)
	}
}

// up moves e from position i towards the top while it ranks above its parent.
func (r *ranking) up(i int, e entry) {
	for i > 0 {
		parent := (i - 1) / arity
		if !r.before(e, parent) {
			break
		}
		r.place(i, r.at(parent))
		i = parent
	}
	r.place(i, e)
}

// down moves e from position i towards the bottom while a child ranks above it.
func (r *ranking) down(i int, e entry) {
	n := r.len()
	for {
		first := arity*i + 1
		if first >= n {
			break
		}
		best := first
		for c := first + 1; c < min(first+arity, n); c++ {
			if r.beforeAt(c, best) {
				best = c
			}
		}
		if r.before(e, best) {
			break
		}
		r.place(i, r.at(best))
		i = best
	}
	r.place(i, e)
}

// heapify restores the heap order of all entries, in O(n).
func (r *ranking) heapify() {
	for i := (r.len() - 2) / arity; i >= 0; i-- {
		r.down(i, r.at(i))
	}
}

// top returns the positions of up to n entries in rank order, skipping those whose item keep
// rejects (keep may be nil). It explores the heap best-first: the next entry in rank order is
// always a child of one already returned, so a frontier heap of candidates yields the top k in
// O(k log k) when keep accepts everything.
func (r *ranking) top(n int, keep func(item uint32) bool) []int {
	if n <= 0 || r.len() == 0 {
		return nil
	}
	out := make([]int, 0, min(n, r.len()))
	f := frontier{r: r, at: make([]int32, 0, min(arity*n+1, r.len()))}
	f.push(0)
	for len(out) < n && len(f.at) > 0 {
		i := f.pop()
		if keep == nil || keep(r.items[i]) {
			out = append(out, i)
		}
		for c := arity*i + 1; c < min(arity*i+1+arity, r.len()); c++ {
			f.push(c)
		}
	}
	return out
}

// frontier is a binary max-heap of positions in a ranking, ordered like the ranking.
type frontier struct {
	r  *ranking
	at []int32
}

func (f *frontier) less(i, j int) bool { return f.r.beforeAt(int(f.at[i]), int(f.at[j])) }

func (f *frontier) push(pos int) {
	f.at = append(f.at, int32(pos))
	for i := len(f.at) - 1; i > 0; {
		parent := (i - 1) / 2
		if !f.less(i, parent) {
			break
		}
		f.at[i], f.at[parent] = f.at[parent], f.at[i]
		i = parent
	}
}

func (f *frontier) pop() int {
	top := int(f.at[0])
	last := len(f.at) - 1
	f.at[0] = f.at[last]
	f.at = f.at[:last]
	for i := 0; ; {
		best, l := i, 2*i+1
		if l < last && f.less(l, best) {
			best = l
		}
		if r := l + 1; r < last && f.less(r, best) {
			best = r
		}
		if best == i {
			break
		}
		f.at[i], f.at[best] = f.at[best], f.at[i]
		i = best
	}
	return top
}
