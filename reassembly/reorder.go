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
//
// The buffer is made of the very batches that go to the tracker: the
// decoder writes each segment into its place in a batch, and a batch is
// handed over once all of its segments are released, so that a segment
// is not copied on its way (only one that arrives out of order is moved).

const (
	defaultReorderWindow = 50 * time.Millisecond
	// reorderMax bounds the segments held, whatever the window.
	reorderMax = 1 << 16
)

type reorder struct {
	win int64 // <0: off
	// bufs hold the segments not handed over yet, in release order: every
	// batch full (batchSize) but the last. Index i of the run is
	// bufs[i/batchSize][i%batchSize].
	bufs [][]Segment
	n    int      // segments in bufs
	head int      // of which released: the first head, all in bufs[0] (< batchSize) once commit returns
	cur  *Segment // the slot handed out last
	tail int64    // the time of the segment at n-1, the latest held
	// send hands a batch of released segments over and returns an emptied
	// one to fill again.
	send  func([]Segment) []Segment
	spare [][]Segment
}

// newReorder returns a reorder buffer that hands batches to send; first is
// the first batch to fill, of capacity batchSize.
func newReorder(win time.Duration, first []Segment, send func([]Segment) []Segment) *reorder {
	if win == 0 {
		win = defaultReorderWindow
	}
	return &reorder{win: int64(win), send: send, spare: [][]Segment{first[:0]}}
}

func (r *reorder) at(i int) *Segment { return &r.bufs[i/batchSize][i%batchSize] }

// slot returns where the next segment goes, to be decoded in place and
// then committed, or left there when it is no TCP segment.
func (r *reorder) slot() *Segment {
	k := len(r.bufs) - 1
	if k < 0 || len(r.bufs[k]) == batchSize {
		var b []Segment
		if n := len(r.spare); n > 0 {
			b, r.spare = r.spare[n-1], r.spare[:n-1]
		} else {
			b = make([]Segment, 0, batchSize)
		}
		r.bufs = append(r.bufs, b)
		k++
	}
	b := r.bufs[k]
	b = b[:len(b)+1] // its old contents are overwritten
	r.bufs[k] = b
	r.n++
	r.cur = &b[len(b)-1]
	return r.cur
}

// unslot gives back the slot: what was decoded there is no TCP segment.
func (r *reorder) unslot() {
	k := len(r.bufs) - 1
	r.bufs[k] = r.bufs[k][:len(r.bufs[k])-1]
	r.n--
}

// commit takes the segment written into slot, and hands over the batches
// whose segments all fell out of the window.
func (r *reorder) commit() {
	t := r.cur.Time
	held := r.n-1 > r.head // segments not released before this one
	switch {
	case r.win < 0:
		r.head = r.n
	case held && r.tail-t > r.win:
		// Further behind than the window: a clock step, not packets out
		// of order. It keeps its place in the file, after those held.
		r.head, r.tail = r.n, t
	default:
		if held && t < r.tail {
			r.insert(r.n - 1) // the latest held stays at the tail
		} else {
			r.tail = t
		}
		for r.head < r.n {
			if r.head == batchSize {
				r.handOver()
				continue
			}
			if r.tail-r.bufs[0][r.head].Time <= r.win && r.n-r.head <= reorderMax {
				break
			}
			r.head++
		}
	}
	for r.head >= batchSize {
		r.handOver()
	}
}

// insert moves the segment at last, out of order, to after every held
// segment not later than it.
func (r *reorder) insert(last int) {
	s := *r.at(last)
	lo, hi := r.head, last
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.at(m).Time <= s.Time {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for j := last; j > lo; j-- {
		*r.at(j) = *r.at(j - 1)
	}
	*r.at(lo) = s
}

// handOver sends the first batch, all of whose segments are released.
func (r *reorder) handOver() {
	b := r.bufs[0]
	copy(r.bufs, r.bufs[1:])
	r.bufs[len(r.bufs)-1] = nil
	r.bufs = r.bufs[:len(r.bufs)-1]
	r.head -= len(b)
	r.n -= len(b)
	r.spare = append(r.spare, r.send(b)[:0])
}

// drain hands over every segment still held.
func (r *reorder) drain() {
	r.head = r.n
	for len(r.bufs) > 0 {
		if len(r.bufs[0]) == 0 {
			r.spare = append(r.spare, r.bufs[0])
			r.bufs = r.bufs[:copy(r.bufs, r.bufs[1:])]
			continue
		}
		r.handOver()
	}
}
