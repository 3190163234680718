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
	states  []uint32
	times   []time.Time
}

func (r *reference) repeats(key string, state uint32, at time.Time) bool {
	from := max(0, len(r.keys)-r.maxKeys)
	for i := len(r.keys) - 1; i >= from; i-- {
		if r.keys[i] != key {
			continue
		}
		if d := at.Sub(r.times[i]); r.states[i] == state && d < r.window && d > -r.window {
			return true
		}
		break
	}
	r.keys = append(r.keys, key)
	r.states = append(r.states, state)
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
		states  int           // distinct states a key is sent in
	}{
		{keys: 20, maxKeys: 1000, step: time.Minute, back: 0, states: 1},
		{keys: 200, maxKeys: 50, step: 10 * time.Second, back: 0, states: 1},
		{keys: 100, maxKeys: 30, step: 2 * time.Minute, back: 0.2, states: 1},
		{keys: 1000, maxKeys: 400, step: time.Second, back: 0.05, states: 1},
		{keys: 5, maxKeys: 3, step: 5 * time.Minute, back: 0.3, states: 1},
		{keys: 20, maxKeys: 1000, step: time.Minute, back: 0, states: 2},
		{keys: 100, maxKeys: 30, step: 2 * time.Minute, back: 0.2, states: 3},
		{keys: 5, maxKeys: 3, step: 5 * time.Minute, back: 0.3, states: 5},
	}
	for _, tt := range tests {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("keys=%d/max=%d/step=%v/back=%v/states=%d/seed=%d", tt.keys, tt.maxKeys, tt.step, tt.back, tt.states, seed), func(t *testing.T) {
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
					state := uint32(rng.IntN(tt.states))
					want := ref.repeats(key, state, at)
					if got := w.Repeats(key, state, at); got != want {
						t.Fatalf("call %d: Repeats(%q, %d, %v) = %v, reference says %v", i, key, state, at, got, want)
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

// TestWindowRepeats follows one key through changes of state: only a repeat of the latest state
// within the window is a repeat.
func TestWindowRepeats(t *testing.T) {
	const liked, unliked = 1, 2
	w := dedupe.New(10*time.Minute, 10)
	steps := []struct {
		state   uint32
		at      time.Duration
		repeats bool
	}{
		{liked, 0, false},
		{liked, time.Minute, true},         // the same like again
		{unliked, 2 * time.Minute, false},  // a change
		{liked, 3 * time.Minute, false},    // a change back counts again
		{liked, 4 * time.Minute, true},     // a repeat of the new state
		{liked, 13 * time.Minute, false},   // the window measured from the change has passed
		{unliked, 13 * time.Minute, false}, // a change at the same instant
		{unliked, 14 * time.Minute, true},  // repeated
		{liked, -10 * time.Minute, false},  // out of order and another state
	}
	for i, s := range steps {
		if got := w.Repeats("u/i/like", s.state, t0.Add(s.at)); got != s.repeats {
			t.Fatalf("step %d: Repeats(state %d, t0+%v) = %v, want %v", i, s.state, s.at, got, s.repeats)
		}
	}
}

// TestKeyIsUnambiguous checks that field lists which concatenate to the same bytes, with or
// without a separator inside a field, give different keys.
func TestKeyIsUnambiguous(t *testing.T) {
	lists := [][]string{
		{"a\x00b", "c"}, {"a", "b\x00c"}, {"a", "b", "c"}, {"ab", "c"}, {"a", "bc"}, {"abc"},
		{"", "abc"}, {"abc", ""}, {"", "", "abc"}, {"\x01a", "bc"}, {"\x00", ""}, {"", "\x00"},
	}
	seen := map[string][]string{}
	for _, fields := range lists {
		k := dedupe.Key(fields...)
		if other, ok := seen[k]; ok {
			t.Errorf("Key(%q) = Key(%q) = %q", fields, other, k)
		}
		seen[k] = fields
	}
}

func FuzzKeyIsUnambiguous(f *testing.F) {
	f.Add("a\x00b", "c", "a", "b\x00c")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		if (a != c || b != d) && dedupe.Key(a, b) == dedupe.Key(c, d) {
			t.Fatalf("Key(%q, %q) = Key(%q, %q)", a, b, c, d)
		}
	})
}
