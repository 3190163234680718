package dedupe_test

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/dedupe"
)

// BenchmarkWindowSeen measures one Seen call on a full Window of one million keys: seven calls
// in ten bring a fresh key that evicts the oldest, three repeat a recent key, as a client retry does.
func BenchmarkWindowSeen(b *testing.B) {
	const maxKeys = 1_000_000
	keys := make([]string, 2*maxKeys)
	for i := range keys {
		keys[i] = "user-" + strconv.Itoa(i) + "/item-" + strconv.Itoa(i%7919) + "/liked"
	}
	w := dedupe.New(10*time.Minute, maxKeys)
	at := t0
	for i := range maxKeys {
		w.Seen(keys[i], at)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	picks := make([]int, 1<<16) // offsets back from the newest key: 0 is a fresh key
	for i := range picks {
		if rng.IntN(10) < 3 {
			picks[i] = 1 + rng.IntN(1000)
		}
	}
	next, j := maxKeys, 0
	b.ReportAllocs()
	for b.Loop() {
		back := picks[j&(len(picks)-1)]
		j++
		if back == 0 {
			next++
		}
		at = at.Add(time.Microsecond)
		w.Seen(keys[(next-back)%len(keys)], at)
	}
}

// BenchmarkWindowMemory reports the heap bytes a Window holds per key at one million keys.
func BenchmarkWindowMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(heapPerKey(1_000_000), "bytes/key")
	}
}

// TestWindowMemory keeps the memory per key within the budget the clean function documents.
func TestWindowMemory(t *testing.T) {
	const budget = 100
	if got := heapPerKey(1_000_000); got > budget {
		t.Errorf("a Window of one million keys holds %.1f bytes of heap per key, want at most %d", got, budget)
	}
}

// heapPerKey fills a Window with n distinct keys and returns the live heap it holds per key.
func heapPerKey(n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := dedupe.New(10*time.Minute, n)
	buf := []byte("user-")
	for i := range n {
		buf = strconv.AppendInt(buf[:5], int64(i), 10)
		w.Seen(string(buf), t0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if w.Len() != n {
		panic("window lost keys")
	}
	runtime.KeepAlive(w)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}
