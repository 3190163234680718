package dedupe_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/dedupe"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// call is one Seen call and the answer it must give.
type call struct {
	key  string
	at   time.Duration // offset from t0
	seen bool
}

func TestWindowSeen(t *testing.T) {
	const window = 10 * time.Minute
	tests := []struct {
		name    string
		maxKeys int
		calls   []call
		wantLen int
	}{
		{
			name:    "first sighting is fresh",
			maxKeys: 10,
			calls:   []call{{"a", 0, false}},
			wantLen: 1,
		},
		{
			name:    "repeat within the window is a duplicate",
			maxKeys: 10,
			calls:   []call{{"a", 0, false}, {"a", 0, true}, {"a", window - time.Nanosecond, true}},
			wantLen: 1,
		},
		{
			name:    "repeat at exactly the window is fresh",
			maxKeys: 10,
			calls:   []call{{"a", 0, false}, {"a", window, false}},
			wantLen: 1,
		},
		{
			name:    "duplicates do not extend the window",
			maxKeys: 10,
			calls:   []call{{"a", 0, false}, {"a", 6 * time.Minute, true}, {"a", 12 * time.Minute, false}, {"a", 13 * time.Minute, true}},
			wantLen: 1,
		},
		{
			name:    "keys are independent",
			maxKeys: 10,
			calls:   []call{{"a", 0, false}, {"b", 0, false}, {"a", time.Minute, true}, {"b", time.Minute, true}, {"c", time.Minute, false}},
			wantLen: 3,
		},
		{
			name:    "time going backwards within the window is a duplicate",
			maxKeys: 10,
			calls:   []call{{"a", time.Hour, false}, {"a", time.Hour - window + time.Nanosecond, true}},
			wantLen: 1,
		},
		{
			name:    "time going backwards beyond the window is fresh and re-records",
			maxKeys: 10,
			calls:   []call{{"a", time.Hour, false}, {"a", time.Hour - window, false}, {"a", time.Hour - window - time.Minute, true}, {"a", time.Hour, false}},
			wantLen: 1,
		},
		{
			name:    "at the cap the oldest key is evicted first",
			maxKeys: 2,
			calls:   []call{{"a", 0, false}, {"b", 1, false}, {"c", 2, false}, {"b", 3, true}, {"a", 4, false}, {"c", 5, true}},
			wantLen: 2,
		},
		{
			name:    "a re-recorded key is evicted by its latest recording",
			maxKeys: 2,
			calls:   []call{{"a", 0, false}, {"b", time.Minute, false}, {"a", 20 * time.Minute, false}, {"c", 20 * time.Minute, false}, {"a", 21 * time.Minute, true}, {"b", 21 * time.Minute, false}},
			wantLen: 2,
		},
		{
			name:    "a cap of one remembers only the last key",
			maxKeys: 1,
			calls:   []call{{"a", 0, false}, {"a", 1, true}, {"b", 2, false}, {"a", 3, false}, {"a", 4, true}},
			wantLen: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := dedupe.New(window, tt.maxKeys)
			for i, c := range tt.calls {
				if got := w.Seen(c.key, t0.Add(c.at)); got != c.seen {
					t.Fatalf("call %d: Seen(%q, t0+%v) = %v, want %v", i, c.key, c.at, got, c.seen)
				}
			}
			if got := w.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
		})
	}
}

// reference is the specification of Window written as plainly as possible: it keeps every
// recording and looks only at the last maxKeys of them.
type reference struct {
	window  time.Duration
	maxKeys int
	keys    []string
	times   []time.Time
}

func (r *reference) seen(key string, at time.Time) bool {
	from := max(0, len(r.keys)-r.maxKeys)
	for i := len(r.keys) - 1; i >= from; i-- {
		if r.keys[i] != key {
			continue
		}
		if d := at.Sub(r.times[i]); d < r.window && d > -r.window {
			return true
		}
		break
	}
	r.keys = append(r.keys, key)
	r.times = append(r.times, at)
	return false
}

func (r *reference) len() int {
	distinct := map[string]bool{}
	for _, k := range r.keys[max(0, len(r.keys)-r.maxKeys):] {
		distinct[k] = true
	}
	return len(distinct)
}

func TestWindowMatchesReference(t *testing.T) {
	tests := []struct {
		keys    int           // distinct keys in the stream
		maxKeys int           // Window cap
		step    time.Duration // largest forward time step between calls
		back    float64       // fraction of calls that go back in time
	}{
		{keys: 20, maxKeys: 1000, step: time.Minute, back: 0},
		{keys: 200, maxKeys: 50, step: 10 * time.Second, back: 0},
		{keys: 100, maxKeys: 30, step: 2 * time.Minute, back: 0.2},
		{keys: 1000, maxKeys: 400, step: time.Second, back: 0.05},
		{keys: 5, maxKeys: 3, step: 5 * time.Minute, back: 0.3},
	}
	for _, tt := range tests {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("keys=%d/max=%d/step=%v/back=%v/seed=%d", tt.keys, tt.maxKeys, tt.step, tt.back, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 42))
				const window = 10 * time.Minute
				w := dedupe.New(window, tt.maxKeys)
				ref := &reference{window: window, maxKeys: tt.maxKeys}
				now := t0
				dups := 0
				for i := range 5000 {
					now = now.Add(time.Duration(rng.Int64N(int64(tt.step))))
					at := now
					if rng.Float64() < tt.back {
						at = now.Add(-time.Duration(rng.Int64N(int64(2 * window))))
					}
					key := "user-" + strconv.Itoa(rng.IntN(tt.keys))
					want := ref.seen(key, at)
					if got := w.Seen(key, at); got != want {
						t.Fatalf("call %d: Seen(%q, %v) = %v, reference says %v", i, key, at, got, want)
					}
					if want {
						dups++
					}
				}
				if got, want := w.Len(), ref.len(); got != want {
					t.Errorf("Len() = %d, reference says %d", got, want)
				}
				if dups == 0 || dups == 5000 {
					t.Fatalf("stream has %d duplicates out of 5000: it does not exercise both answers", dups)
				}
			})
		}
	}
}

func TestNewPanicsOnInvalidArguments(t *testing.T) {
	tests := []struct {
		name    string
		window  time.Duration
		maxKeys int
	}{
		{"zero window", 0, 1},
		{"negative window", -time.Second, 1},
		{"zero keys", time.Second, 0},
		{"negative keys", time.Second, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v, %d) did not panic", tt.window, tt.maxKeys)
				}
			}()
			dedupe.New(tt.window, tt.maxKeys)
		})
	}
}

func TestWindowConcurrentUse(t *testing.T) {
	w := dedupe.New(time.Minute, 1000)
	done := make(chan int)
	for range 4 {
		go func() {
			fresh := 0
			for i := range 500 {
				if !w.Seen(strconv.Itoa(i), t0) {
					fresh++
				}
			}
			done <- fresh
		}()
	}
	total := 0
	for range 4 {
		total += <-done
	}
	if total != 500 {
		t.Errorf("4 goroutines saw %d fresh keys out of 500 distinct ones, want each exactly once", total)
	}
}
