// Package dedupe recognises repeated keys within a time window, in bounded memory.
//
// The clean function uses it to drop retried CloudEvents (keyed by event id) and repeated
// (user, item, action) triples. It has no Kafka or HTTP in it.
package dedupe

import (
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Window remembers the keys of the last maxKeys recordings, each with the time it was recorded
// at, and reports a key as seen when it comes back less than the window away from that time.
//
// Memory is bounded: a Window holds at most maxKeys recordings, and when it is full a new
// recording evicts the oldest one. A Window stores a 64-bit hash of each key, never the key
// itself: 16 bytes of ring per recording plus a map entry per key, about 56 bytes per key in all
// at one million keys (BenchmarkWindowMemory), whatever the length of the keys. Two different
// keys collide with probability 2^-64 per pair, so with n keys remembered a fresh key is wrongly
// reported as seen with probability about n/2^64 (5.4e-14 per lookup at one million keys). The
// hash seed is random per Window, so a collision is not reproducible across processes.
//
// A Window is safe for concurrent use; calls are serialised by a mutex.
type Window struct {
	window time.Duration
	seed   maphash.Seed

	mu   sync.Mutex
	last map[uint64]uint32 // key hash -> ring slot of the key's latest recording
	ring []recording       // recordings in arrival order, oldest at head once full
	cap  int               // maximum len(ring)
	head int               // slot the next recording replaces once the ring is full
}

// recording is one call of Seen that recorded a key.
type recording struct {
	hash uint64
	at   int64 // Unix nanoseconds
}

// New returns a Window that reports a key as seen within window of its recording and
// remembers at most maxKeys keys. New panics if window or maxKeys is not positive, or if
// maxKeys exceeds math.MaxUint32.
func New(window time.Duration, maxKeys int) *Window {
	if window <= 0 {
		panic("dedupe: window must be positive")
	}
	if maxKeys <= 0 || maxKeys > math.MaxUint32 {
		panic("dedupe: maxKeys must be between 1 and 2^32-1")
	}
	return &Window{
		window: window,
		seed:   maphash.MakeSeed(),
		last:   make(map[uint64]uint32),
		cap:    maxKeys,
	}
}

// Seen reports whether key was recorded less than the window away from at, before or after it:
// events may arrive out of time order. If not, Seen records key at at, replacing any older
// recording of it; a duplicate does not extend the window. Only the last maxKeys recordings
// count: older ones have been evicted and their keys are fresh again.
func (w *Window) Seen(key string, at time.Time) bool {
	h := maphash.String(w.seed, key)
	t := at.UnixNano()

	w.mu.Lock()
	defer w.mu.Unlock()
	if slot, ok := w.last[h]; ok {
		if d := time.Duration(t - w.ring[slot].at); d < w.window && d > -w.window {
			return true
		}
	}
	w.record(h, t)
	return false
}

// record appends a recording of hash h at t, evicting the oldest recording when the ring is full.
func (w *Window) record(h uint64, t int64) {
	if len(w.ring) < w.cap {
		if len(w.ring) == cap(w.ring) {
			// Grow by doubling, but never past the cap: append would overshoot it.
			ring := make([]recording, len(w.ring), min(w.cap, max(64, 2*cap(w.ring))))
			copy(ring, w.ring)
			w.ring = ring
		}
		w.last[h] = uint32(len(w.ring))
		w.ring = append(w.ring, recording{hash: h, at: t})
		return
	}
	slot := uint32(w.head)
	old := w.ring[slot]
	// The oldest recording is the key's latest one unless the key was recorded again since;
	// only then does evicting it forget the key.
	if w.last[old.hash] == slot {
		delete(w.last, old.hash)
	}
	w.ring[slot] = recording{hash: h, at: t}
	w.last[h] = slot
	w.head++
	if w.head == w.cap {
		w.head = 0
	}
}

// Len returns the number of distinct keys remembered, including keys whose window has passed but
// that no newer recording has evicted yet.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.last)
}
