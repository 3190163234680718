package kafka

import "sync"

// watermark tracks the records of one partition that are in flight, in the order they were
// consumed, and says how far the partition's committed offset may advance: to one past the
// newest record that has every older record finished too. Records may finish in any order; an
// unfinished record holds the watermark back however many newer ones finish.
type watermark struct {
	mu      sync.Mutex
	first   uint64  // ticket of pending[0]
	pending []entry // in consumption order
}

type entry struct {
	offset int64
	done   bool
}

// add registers a consumed record and returns its ticket for finish.
func (w *watermark) add(offset int64) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, entry{offset: offset})
	return w.first + uint64(len(w.pending)) - 1
}

// finish marks the record with ticket t as finished. When that lets the watermark advance it
// returns the offset to commit (the next offset to read) and true.
func (w *watermark) finish(t uint64) (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[t-w.first].done = true
	n := 0
	for n < len(w.pending) && w.pending[n].done {
		n++
	}
	if n == 0 {
		return 0, false
	}
	next := w.pending[n-1].offset + 1
	w.pending = w.pending[n:]
	w.first += uint64(n)
	return next, true
}

// len reports how many records are registered and not yet passed by the watermark.
func (w *watermark) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}
