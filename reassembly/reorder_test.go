package reassembly

import (
	"math/rand/v2"
	"testing"
	"time"
)

// reorderModel is the reorder buffer's rule on one plain slice, segment by
// segment: what the batched buffer must release, in the same order.
type reorderModel struct {
	win  int64
	buf  []Segment
	out  []int // frames released, in order
	head int
}

func (m *reorderModel) add(s Segment) {
	if m.win < 0 {
		m.out = append(m.out, s.Frame)
		return
	}
	q := m.buf[m.head:]
	if len(q) > 0 && q[len(q)-1].Time-s.Time > m.win {
		m.buf = append(m.buf, s)
		m.drain()
		return
	}
	i := len(m.buf)
	for i > m.head && m.buf[i-1].Time > s.Time {
		i--
	}
	m.buf = append(m.buf, Segment{})
	copy(m.buf[i+1:], m.buf[i:])
	m.buf[i] = s
	newest := m.buf[len(m.buf)-1].Time
	for m.head < len(m.buf) && (newest-m.buf[m.head].Time > m.win || len(m.buf)-m.head > reorderMax) {
		m.out = append(m.out, m.buf[m.head].Frame)
		m.head++
	}
}

func (m *reorderModel) drain() {
	for _, s := range m.buf[m.head:] {
		m.out = append(m.out, s.Frame)
	}
	m.buf, m.head = m.buf[:0], 0
}

// TestReorder checks the batched reorder buffer against the model on
// captures in order, with jitter inside the window, clock steps back past
// it, frames that are no TCP segment (given back with unslot), the window
// off, and more segments at one time than reorderMax holds.
func TestReorder(t *testing.T) {
	ms := int64(time.Millisecond)
	tests := []struct {
		name   string
		win    time.Duration
		n      int
		jitter int64 // a segment's time is up to this far behind the clock
		step   int   // one in step segments steps the clock back 1 s (0: never)
		nonTCP int   // one in nonTCP frames is no TCP segment (0: none)
		tick   int64 // clock advance per segment
	}{
		{"in-order", 0, 5000, 0, 0, 0, ms / 10},
		{"jitter", 0, 20000, 40 * ms, 0, 7, ms / 10},
		{"jitter-past-window", 0, 20000, 80 * ms, 0, 0, ms / 10},
		{"clock-steps", 0, 20000, 10 * ms, 997, 5, ms / 10},
		{"small-window", time.Millisecond, 20000, 2 * ms, 301, 3, ms / 100},
		{"off", -1, 5000, 40 * ms, 0, 4, ms / 10},
		{"same-time-past-max", 0, reorderMax + 3*batchSize + 17, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.n), 7))
			var got []int
			var batches int
			send := func(b []Segment) []Segment {
				if len(b) == 0 || len(b) > batchSize {
					t.Fatalf("batch of %d segments", len(b))
				}
				batches++
				for i := range b {
					got = append(got, b[i].Frame)
				}
				return b
			}
			ro := newReorder(tt.win, make([]Segment, 0, batchSize), send)
			win := int64(tt.win)
			if win == 0 {
				win = int64(defaultReorderWindow)
			}
			m := &reorderModel{win: win}
			clock := int64(1e18)
			for frame := 1; frame <= tt.n; frame++ {
				clock += tt.tick
				if tt.step > 0 && rng.IntN(tt.step) == 0 {
					clock -= int64(time.Second)
				}
				s := ro.slot()
				*s = Segment{Frame: frame, Time: clock}
				if tt.jitter > 0 {
					s.Time -= rng.Int64N(tt.jitter)
				}
				if tt.nonTCP > 0 && rng.IntN(tt.nonTCP) == 0 {
					ro.unslot()
					continue
				}
				m.add(*s)
				ro.commit()
			}
			ro.drain()
			m.drain()
			if len(got) != len(m.out) {
				t.Fatalf("%d segments released, want %d", len(got), len(m.out))
			}
			for i := range got {
				if got[i] != m.out[i] {
					t.Fatalf("segment %d released is frame %d, want %d", i, got[i], m.out[i])
				}
			}
			if batches > len(got)/batchSize+tt.n/max(tt.step, 1)+2 {
				t.Errorf("%d batches for %d segments", batches, len(got))
			}
		})
	}
}
