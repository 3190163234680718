// Package dedupe recognises repeated keys within a time window, in bounded memory.
//
// The clean function uses it to drop retried CloudEvents (keyed by event id) and repeats of the
// same state of a (user, item, action family), such as a second like, while a change of state,
// such as like, unlike, like, always passes. It has no Kafka or HTTP in it.
package dedupe

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"time"
)

// Key joins fields into one key such that different field lists never give the same key: each
// field is preceded by its length. Fields may hold any bytes, NUL included.
func Key(fields ...string) string {
	n := 0
	for _, f := range fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	var b strings.Builder
	b.Grow(n)
	var length [binary.MaxVarintLen64]byte
	for _, f := range fields {
		b.Write(length[:binary.PutUvarint(length[:], uint64(len(f)))])
		b.WriteString(f)
	}
	return b.String()
}

// Window remembers the keys of the last maxKeys recordings, each with the time it was recorded
// at and the state it was in, and reports a key as seen when it comes back in the same state less
// than the window away from that time. A key that comes back in another state is a change, not a
// repeat: it is recorded anew.
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
	last map[uint64]latest // key hash -> the key's latest recording
	ring []recording       // recordings in arrival order, oldest at head once full
	cap  int               // maximum len(ring)
	head int               // slot the next recording replaces once the ring is full
}

// latest locates a key's latest recording and holds the state it was recorded in. It fits in
// the padding a uint32 slot alone would leave in the map, so states cost no memory.
type latest struct {
	slot  uint32
	state uint32
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
		last:   make(map[uint64]latest),
		cap:    maxKeys,
	}
}

// Seen reports whether key was recorded less than the window away from at, before or after it:
// events may arrive out of time order. If not, Seen records key at at, replacing any older
// recording of it; a duplicate does not extend the window. Only the last maxKeys recordings
// count: older ones have been evicted and their keys are fresh again. Seen is Repeats with one
// state for every key.
func (w *Window) Seen(key string, at time.Time) bool { return w.Repeats(key, 0, at) }

// Repeats reports whether key's latest recording is in state and less than the window away from
// at, before or after it. If not, Repeats records key in state at at, replacing any older
// recording of it: a change of state always counts, and a later repeat of the new state is
// measured from the change. A repeat does not extend the window.
func (w *Window) Repeats(key string, state uint32, at time.Time) bool {
	h := maphash.String(w.seed, key)
	t := at.UnixNano()

	w.mu.Lock()
	defer w.mu.Unlock()
	if l, ok := w.last[h]; ok && l.state == state {
		if d := time.Duration(t - w.ring[l.slot].at); d < w.window && d > -w.window {
			return true
		}
	}
	w.record(h, state, t)
	return false
}

// record appends a recording of hash h in state at t, evicting the oldest recording when the
// ring is full.
func (w *Window) record(h uint64, state uint32, t int64) {
	if len(w.ring) < w.cap {
		if len(w.ring) == cap(w.ring) {
			// Grow by doubling, but never past the cap: append would overshoot it.
			ring := make([]recording, len(w.ring), min(w.cap, max(64, 2*cap(w.ring))))
			copy(ring, w.ring)
			w.ring = ring
		}
		w.last[h] = latest{slot: uint32(len(w.ring)), state: state}
		w.ring = append(w.ring, recording{hash: h, at: t})
		return
	}
	slot := uint32(w.head)
	old := w.ring[slot]
	// The oldest recording is the key's latest one unless the key was recorded again since;
	// only then does evicting it forget the key.
	if w.last[old.hash].slot == slot {
		delete(w.last, old.hash)
	}
	w.ring[slot] = recording{hash: h, at: t}
	w.last[h] = latest{slot: slot, state: state}
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
