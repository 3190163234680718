package kafka

import "testing"

func TestWatermark(t *testing.T) {
	tests := []struct {
		name   string
		finish []int   // indexes into offsets, in finishing order
		want   []int64 // offset to commit after each finish, -1 when the watermark holds
	}{
		{name: "in order", finish: []int{0, 1, 2, 3}, want: []int64{11, 12, 13, 14}},
		{name: "reverse order", finish: []int{3, 2, 1, 0}, want: []int64{-1, -1, -1, 14}},
		{name: "gap holds the watermark", finish: []int{0, 2, 3, 1}, want: []int64{11, -1, -1, 14}},
		{name: "newest first", finish: []int{3, 0, 1, 2}, want: []int64{-1, 11, 12, 14}},
	}
	offsets := []int64{10, 11, 12, 13}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w watermark
			tickets := make([]uint64, len(offsets))
			for i, o := range offsets {
				tickets[i] = w.add(o)
			}
			for step, i := range tt.finish {
				next, ok := w.finish(tickets[i])
				got := int64(-1)
				if ok {
					got = next
				}
				if got != tt.want[step] {
					t.Fatalf("after finishing offset %d: commit %d, want %d", offsets[i], got, tt.want[step])
				}
			}
			if n := w.len(); n != 0 {
				t.Errorf("%d records still pending after all finished", n)
			}
		})
	}
}

func TestWatermarkSkipsOffsetGaps(t *testing.T) {
	// Compacted topics and transaction markers leave holes in offsets: the watermark commits
	// one past the last record it saw, whatever the numbering.
	var w watermark
	a, b := w.add(5), w.add(9)
	if _, ok := w.finish(b); ok {
		t.Fatal("committed past an unfinished record")
	}
	if next, ok := w.finish(a); !ok || next != 10 {
		t.Fatalf("commit = %d, %v; want 10, true", next, ok)
	}
}
