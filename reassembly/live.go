package reassembly

import "math"

// liveSet keeps the live incarnations in a dense array indexed like the
// flow table's conns (by conn.ref, nothing for the collector to scan),
// with the capture time after which each is due to be finished (its last
// packet plus its idle bound, or its linger once closed). The sweep every
// second of capture time then reads one small array instead of walking the
// flow table, whose entries are large and scattered. Indexed by ref, an
// entry never moves: removing one writes only its own, which the sweep
// that found it due just read, where moving the last entry into its place
// would write the moved conn's slot, a cache miss. A free conn's entry
// stays, never due, until the conn is used again; the conns are reused
// before new ones are made, so the array is as long as the most held at
// once.
type liveSet struct {
	e []liveEntry
	// nextLinger is the segment count at which sweepLinger next runs.
	nextLinger int
	// lastForget is when the remembered four-tuples and address clocks
	// were last checked for age.
	lastForget int64
}

// liveEntry is what the set holds of one conn, in 32 bytes: touch writes
// one cache line a segment, and the sweep reads the array through once.
type liveEntry struct {
	deadline int64 // finish when now > deadline (math.MaxInt64: not live)
	// closing is the earliest time it may enter TIME_WAIT or, when it
	// reuses a four-tuple, its start (math.MaxInt64: neither yet, or not
	// live): the watermark.
	closing int64
	// lingerSeg is, for a closed incarnation, the count of segments fed
	// after which its linger is over whatever the clock says
	// (math.MaxInt: not closed, or not live).
	lingerSeg int
	id        int // conns[i].id, 0 for a conn not live (IDs start at 1)
}

// notLive is the entry of a conn not in the set: never due, no closing.
var notLive = liveEntry{deadline: math.MaxInt64, closing: math.MaxInt64, lingerSeg: math.MaxInt}

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

// add puts c in the set, due at deadline or past lingerSeg segments.
func (l *liveSet) add(c *conn, deadline int64, lingerSeg int) {
	for int(c.ref) >= len(l.e) {
		l.e = append(l.e, notLive)
	}
	l.e[c.ref].id = c.id
	l.touch(c, deadline, lingerSeg)
}

// has reports whether c is in the set.
func (l *liveSet) has(c *conn) bool {
	return int(c.ref) < len(l.e) && l.e[c.ref].id != 0
}

// remove takes c out of the set.
func (l *liveSet) remove(c *conn) {
	if l.has(c) {
		l.e[c.ref] = notLive
	}
}

// touch sets c's deadline (capture time and, once closed, segments fed),
// and its closing time, after a segment changed it.
func (l *liveSet) touch(c *conn, deadline int64, lingerSeg int) {
	if !l.has(c) {
		return
	}
	e := &l.e[c.ref]
	e.deadline = deadline
	e.lingerSeg = lingerSeg
	// With both FINs the record may enter TIME_WAIT at the first ACK of
	// a FIN, a RST or (neither seen) its last packet; with fewer, only at
	// a FIN still to come.
	b := int64(math.MaxInt64)
	if c.C.FIN.Seen() && c.S.FIN.Seen() {
		b = earliestSeen(c.last, &c.C.AckOfPeerFIN)
		b = earliestSeen(b, &c.S.AckOfPeerFIN)
		b = earliestSeen(b, &c.C.RST)
		b = earliestSeen(b, &c.S.RST)
	}
	if c.HasPrev {
		b = min(b, c.Start)
	}
	e.closing = b
}

// earliestSeen is the earlier of b and the time of e, if it was seen.
func earliestSeen(b int64, e *Event) int64 {
	if e.Seen() {
		return min(b, e.Time)
	}
	return b
}

// deadline is when c is due to be finished: its last packet plus the
// idle bound, or its linger once closed.
func (t *Tracker) deadline(c *conn) int64 {
	bound := t.idle
	if c.closed {
		bound = min(bound, t.lingerOf(c))
	} else {
		bound += t.idle // dormant: it may still continue (continues)
	}
	return c.last + bound
}

// lingerSeg is the count of segments fed after which c, once closed, is
// due whatever the clock says (math.MaxInt: not closed).
func (t *Tracker) lingerSeg(c *conn) int {
	if c.closed {
		return t.stats.Segments + lingerPackets
	}
	return math.MaxInt
}

// watermarkMargin is how far behind the newest packet the watermark stays
// at least, for segments fed a little out of time order.
const watermarkMargin = int64(2e9)

// watermarkFloor is the latest the watermark may be, a margin behind the
// newest packet.
func (t *Tracker) watermarkFloor() int64 {
	return t.now - max(watermarkMargin, 2*int64(t.cfg.ReorderWindow))
}

// due appends the incarnations due to be finished at now: those idle past
// the idle bound, or closed and past their linger. It returns them with
// the watermark once they are finished, the earliest of w and the
// closing times of the others: a time before which no record still to
// come enters TIME_WAIT (both FINs, then the first ACK of one, a RST or
// the last packet) or, when it reuses a four-tuple, starts. One pass
// reads the set for both.
func (l *liveSet) due(now, w int64, batch []dueConn) ([]dueConn, int64) {
	es := l.e // not reloaded past each append
	for i := range es {
		e := &es[i]
		if now > e.deadline {
			batch = append(batch, dueConn{e.id, int32(i)})
			continue
		}
		w = min(w, e.closing)
	}
	return batch, w
}

// sweepLinger finishes the closed incarnations that lingered past
// lingerPackets segments. Only those: the others are the time sweep's, so
// that on a capture whose clock moves the records come out as before.
func (t *Tracker) sweepLinger() {
	t.live.nextLinger = t.stats.Segments + lingerSweepEvery
	t.batch = t.batch[:0]
	es, n := t.live.e, t.stats.Segments // not reloaded past each append
	for i := range es {
		if e := &es[i]; n > e.lingerSeg {
			t.batch = append(t.batch, dueConn{e.id, int32(i)})
		}
	}
	t.finishAll(t.batch)
}
