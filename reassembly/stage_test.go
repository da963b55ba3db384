package reassembly

import (
	"slices"
	"testing"
)

// TestStageOrder puts numbers through a stage from another goroutine,
// sent when a batch is full and at odd places, and checks that the consumer sees them all
// in order and that every emptied batch comes back to reuse with the items
// the consumer saw.
func TestStageOrder(t *testing.T) {
	for _, tc := range []struct {
		name              string
		size, depth, n    int
		flushEvery        int // 0: never
		wantReusedAtLeast int
	}{
		{"full batches", 4, 2, 100, 0, 100 - 2*4},
		{"flush every 3", 4, 3, 50, 3, 50 - 3*4},
		{"one item batches", 1, 2, 10, 1, 10 - 2},
		{"fewer than a batch", 8, 4, 5, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reused []int
			s := NewStage(tc.size, tc.depth, func(b []int) { reused = append(reused, b...) })
			go func() {
				b := s.Batch()
				for i := 0; i < tc.n; i++ {
					b = append(b, i)
					if len(b) == tc.size || tc.flushEvery > 0 && (i+1)%tc.flushEvery == 0 {
						b = s.Send(b)
					}
				}
				s.Close(b)
			}()
			var got []int
			s.Drain(func(b []int) {
				if len(b) == 0 || len(b) > tc.size {
					t.Errorf("batch of %d items, want 1 to %d", len(b), tc.size)
				}
				got = append(got, b...)
			})
			want := make([]int, tc.n)
			for i := range want {
				want[i] = i
			}
			if !slices.Equal(got, want) {
				t.Fatalf("consumer saw %v, want %v", got, want)
			}
			if !slices.IsSorted(reused) || len(reused) < tc.wantReusedAtLeast {
				t.Errorf("reuse saw %v: want at least %d items in order", reused, tc.wantReusedAtLeast)
			}
		})
	}
}
