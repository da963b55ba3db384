package reassembly

import "math"

// liveSet keeps the live incarnations in dense arrays, with the capture
// time after which each is due to be finished (its last packet plus its
// idle bound, or its linger once closed). The sweep every second of capture
// time then reads one small array instead of walking the flow table, whose
// entries are large and scattered.
type liveSet struct {
	conns    []*conn
	ids      []int   // conns[i].id
	deadline []int64 // finish when now > deadline
	// closing is the earliest time each may enter TIME_WAIT or, when it
	// reuses a four-tuple, its start (math.MaxInt64: neither yet): the
	// watermark.
	closing []int64
	// lingerSeg is, for a closed incarnation, the count of segments fed
	// after which its linger is over whatever the clock says
	// (math.MaxInt: not closed).
	lingerSeg []int
	// nextLinger is the segment count at which sweepLinger next runs.
	nextLinger int
	// lastForget is when the remembered four-tuples and address clocks
	// were last checked for age.
	lastForget int64
}

// forgetEvery is how often (capture time) the tuple and clock tables are
// checked for entries too old to matter. Their users check the age of an
// entry themselves, so an old entry kept a little longer changes nothing.
const forgetEvery = 60 * sweepEvery

// lingerPackets bounds a closed incarnation's linger by the segments fed
// after its last one, as CloseLinger and ResetLinger bound it by capture
// time: a capture whose clock stands still (every packet at one time, or
// pcapng simple packet blocks, which have none) never reaches those, and
// would hold every connection it ever closed. At 100,000 packets a second
// 2^18 segments are 2.6 s of capture, past the retransmissions of a FIN or
// final ACK that the linger is there to catch; sweepLinger checks every
// lingerSweepEvery segments.
const (
	lingerPackets    = 1 << 18
	lingerSweepEvery = 1 << 14
)

func (t *Tracker) liveAdd(c *conn) {
	c.slot = int32(len(t.live.conns))
	t.live.conns = append(t.live.conns, c)
	t.live.ids = append(t.live.ids, c.id)
	t.live.deadline = append(t.live.deadline, 0)
	t.live.closing = append(t.live.closing, math.MaxInt64)
	t.live.lingerSeg = append(t.live.lingerSeg, math.MaxInt)
	t.liveTouch(c)
}

func (t *Tracker) liveRemove(c *conn) {
	i := int(c.slot)
	if i < 0 || i >= len(t.live.conns) || t.live.conns[i] != c {
		return
	}
	last := len(t.live.conns) - 1
	if i != last {
		m := t.live.conns[last]
		t.live.conns[i], t.live.deadline[i], t.live.closing[i] = m, t.live.deadline[last], t.live.closing[last]
		t.live.ids[i] = t.live.ids[last]
		t.live.lingerSeg[i] = t.live.lingerSeg[last]
		m.slot = int32(i)
	}
	t.live.conns[last] = nil
	t.live.conns = t.live.conns[:last]
	t.live.ids = t.live.ids[:last]
	t.live.deadline = t.live.deadline[:last]
	t.live.closing = t.live.closing[:last]
	t.live.lingerSeg = t.live.lingerSeg[:last]
	c.slot = -1
}

// liveTouch sets c's deadline after a segment changed it.
func (t *Tracker) liveTouch(c *conn) {
	i := int(c.slot)
	if i < 0 || i >= len(t.live.conns) || t.live.conns[i] != c {
		return
	}
	bound := t.idle
	t.live.lingerSeg[i] = math.MaxInt
	if c.closed {
		bound = min(bound, t.lingerOf(c))
		t.live.lingerSeg[i] = t.stats.Segments + lingerPackets
	}
	t.live.deadline[i] = c.last + bound
	// With both FINs the record may enter TIME_WAIT at the first ACK of
	// a FIN, a RST or (neither seen) its last packet; with fewer, only at
	// a FIN still to come.
	b := int64(math.MaxInt64)
	if c.C.FIN.Seen() && c.S.FIN.Seen() {
		b = c.last
		for _, e := range [...]*Event{&c.C.AckOfPeerFIN, &c.S.AckOfPeerFIN, &c.C.RST, &c.S.RST} {
			if e.Seen() {
				b = min(b, e.Time)
			}
		}
	}
	if c.HasPrev {
		b = min(b, c.Start)
	}
	t.live.closing[i] = b
}

// watermarkMargin is how far behind the newest packet the watermark stays
// at least, for segments fed a little out of time order.
const watermarkMargin = int64(2e9)

// watermark is a time before which no record still to come enters
// TIME_WAIT (both FINs, then the first ACK of one, a RST or the last
// packet) or, when it reuses a four-tuple, starts.
func (t *Tracker) watermark() int64 {
	w := t.now - max(watermarkMargin, 2*int64(t.cfg.ReorderWindow))
	for _, b := range t.live.closing {
		w = min(w, b)
	}
	return w
}

// liveDue appends the incarnations due to be finished at t.now: those
// idle past the idle bound, or closed and past their linger.
func (t *Tracker) liveDue(batch []dueConn) []dueConn {
	for i, d := range t.live.deadline {
		if t.now > d {
			batch = append(batch, dueConn{t.live.ids[i], t.live.conns[i]})
		}
	}
	return batch
}

// sweepLinger finishes the closed incarnations that lingered past
// lingerPackets segments. Only those: the others are the time sweep's, so
// that on a capture whose clock moves the records come out as before.
func (t *Tracker) sweepLinger() {
	t.live.nextLinger = t.stats.Segments + lingerSweepEvery
	t.batch = t.batch[:0]
	for i, d := range t.live.lingerSeg {
		if t.stats.Segments > d {
			t.batch = append(t.batch, dueConn{t.live.ids[i], t.live.conns[i]})
		}
	}
	t.finishAll(t.batch)
}
