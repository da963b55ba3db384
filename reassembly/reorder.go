package reassembly

import "time"

// Packets of one pcapng file can be out of time order: a capture on several
// interfaces writes each interface's packets as its buffer fills, and the
// interfaces' clocks may disagree slightly. Source merges files by time but
// keeps each file's own order, so Run passes segments through a reorder
// buffer that holds ReorderWindow of capture time and releases segments in
// time order (ties in the order read). In a capture already in order it is
// a queue: append at the tail, release from the head. A segment further
// behind than the window is a clock step, not reordering: it is released
// in its place in the file.

const (
	defaultReorderWindow = 50 * time.Millisecond
	// reorderMax bounds the segments held, whatever the window.
	reorderMax = 1 << 16
)

type reorder struct {
	win  int64 // <0: off
	buf  []Segment
	head int
	one  Segment // the slot when off
}

func newReorder(win time.Duration) *reorder {
	if win == 0 {
		win = defaultReorderWindow
	}
	return &reorder{win: int64(win)}
}

// slot returns where the next segment goes, to be decoded in place and
// then committed, or left there when it is no TCP segment.
func (r *reorder) slot() *Segment {
	if r.win < 0 {
		return &r.one
	}
	if len(r.buf) < cap(r.buf) {
		r.buf = r.buf[:len(r.buf)+1] // its old contents are overwritten
	} else {
		r.buf = append(r.buf, Segment{})
	}
	return &r.buf[len(r.buf)-1]
}

// unslot gives back the slot: what was decoded there is no TCP segment.
func (r *reorder) unslot() {
	if r.win >= 0 {
		r.buf = r.buf[:len(r.buf)-1]
	}
}

// commit takes the segment written into slot, and feeds those that fell
// out of the window.
func (r *reorder) commit(feed func(*Segment)) {
	if r.win < 0 {
		feed(&r.one)
		return
	}
	last := len(r.buf) - 1
	seg := &r.buf[last]
	q := r.buf[r.head:last]
	if len(q) > 0 && q[len(q)-1].Time-seg.Time > r.win {
		// Further behind than the window: a clock step, not packets out
		// of order. It keeps its place in the file, after those held.
		r.drain(feed)
		return
	}
	if len(q) > 0 && seg.Time < q[len(q)-1].Time {
		// Out of order: insert after every segment not later than it.
		lo, hi := r.head, last
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if r.buf[m].Time <= seg.Time {
				lo = m + 1
			} else {
				hi = m
			}
		}
		s := *seg
		copy(r.buf[lo+1:], r.buf[lo:last])
		r.buf[lo] = s
	}
	newest := r.buf[len(r.buf)-1].Time
	for r.head < len(r.buf) && (newest-r.buf[r.head].Time > r.win || len(r.buf)-r.head > reorderMax) {
		feed(&r.buf[r.head])
		r.head++
	}
	if r.head == len(r.buf) {
		r.buf, r.head = r.buf[:0], 0
	} else if r.head > 4096 && r.head*2 > len(r.buf) {
		n := copy(r.buf, r.buf[r.head:])
		r.buf, r.head = r.buf[:n], 0
	}
}

// drain feeds every segment still held.
func (r *reorder) drain(feed func(*Segment)) {
	for r.head < len(r.buf) {
		feed(&r.buf[r.head])
		r.head++
	}
	r.buf, r.head = r.buf[:0], 0
}
