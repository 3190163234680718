package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	tests := []struct {
		name   string
		events int64
		take   []int
		want   []int
	}{
		{"unlimited", 0, []int{100, 100, 100}, []int{100, 100, 100}},
		{"exact", 300, []int{100, 100, 100, 100}, []int{100, 100, 100, 0}},
		{"partial last batch", 250, []int{100, 100, 100, 100}, []int{100, 100, 50, 0}},
		{"singles", 2, []int{1, 1, 1}, []int{1, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBudget(tt.events)
			for i, n := range tt.take {
				if got := b.take(n); got != tt.want[i] {
					t.Fatalf("take #%d of %d = %d, want %d", i, n, got, tt.want[i])
				}
			}
		})
	}
}

func TestBudgetIsExactUnderConcurrency(t *testing.T) {
	b := newBudget(10_007)
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				n := b.take(10)
				if n == 0 {
					return
				}
				taken.Add(int64(n))
			}
		})
	}
	wg.Wait()
	if got := taken.Load(); got != 10_007 {
		t.Errorf("workers took %d events, want exactly 10007", got)
	}
}

func TestPacerDueTimes(t *testing.T) {
	start := time.Now().Add(-time.Hour) // every slot is already due: wait must not block
	p := newPacer(1000, start)
	ctx := context.Background()
	for i, tt := range []struct {
		n    int
		want time.Duration
	}{{1, 0}, {10, time.Millisecond}, {1, 11 * time.Millisecond}} {
		due, ok := p.wait(ctx, tt.n)
		if !ok || due.Sub(start) != tt.want {
			t.Errorf("wait #%d: due at +%v (ok %v), want +%v", i, due.Sub(start), ok, tt.want)
		}
	}
}

func TestPacerStopsWithContext(t *testing.T) {
	p := newPacer(0.001, time.Now()) // the second event is due in 1000 s
	ctx, cancel := context.WithCancel(context.Background())
	if _, ok := p.wait(ctx, 1); !ok {
		t.Fatal("the first event is due at once, wait returned false")
	}
	cancel()
	if _, ok := p.wait(ctx, 1); ok {
		t.Error("wait returned true after the context ended")
	}
}

func TestNilPacerNeverWaits(t *testing.T) {
	p := newPacer(0, time.Now())
	if p != nil {
		t.Fatal("rate 0 made a pacer, want nil: as fast as possible")
	}
	due, ok := p.wait(context.Background(), 100)
	if !ok || !due.IsZero() {
		t.Errorf("nil pacer: due %v ok %v, want zero time and true", due, ok)
	}
}
