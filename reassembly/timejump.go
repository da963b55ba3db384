package reassembly

// Capture times that jump. A pcap record's timestamp is written by the
// capturing host; a stray record (a corrupt header, a clock stepped for one
// packet) or captures of different days merged into one stream put a
// packet far from its neighbours in time. The tracker trusts the order of
// the packets in the capture over a time that disagrees with the capture's
// running time by more than maxTimeJump: such a segment is taken at the
// running time (its neighbours' time), and counted with its file and frame
// (TrackerStats.TimeJumps). When the next segment is at the new time too,
// the capture really moved there (merged captures): the running time
// follows from that segment on. So no age, duration or idle time is ever
// measured across a jump of years.

// maxTimeJump is the largest step between consecutive segments' times
// that is taken as it is: 30 days, far beyond any silence inside one
// capture's connections (the idle bound is minutes) and far below the
// years that stray records show.
const maxTimeJump = int64(30 * 24 * 3600 * 1e9)

// maxTimeJumps bounds the jumps kept in TrackerStats.TimeJumps.
const maxTimeJumps = 8

// TimeJump is one segment whose time was not trusted.
type TimeJump struct {
	Frame Frame
	Time  int64 // the segment's own time
	Prev  int64 // the capture's running time it was taken at
}

// checkTime applies the rule above to seg before the tracker uses its time.
func (t *Tracker) checkTime(seg *Segment) {
	if t.stats.Segments == 1 {
		t.clock = seg.Time
		return
	}
	d := seg.Time - t.clock
	if d <= maxTimeJump && d >= -maxTimeJump {
		t.jumpPending = false
		t.clock = max(t.clock, seg.Time)
		return
	}
	if j := seg.Time - t.jumpTime; t.jumpPending && j <= maxTimeJump && j >= -maxTimeJump {
		// Two segments in a row at the new time: the capture moved there.
		t.jumpPending = false
		t.clock = seg.Time
		if seg.Time > t.now {
			t.lastSweep = seg.Time
		}
		t.retimeJumped()
		return
	}
	t.stats.TimeJumpCount++
	if len(t.stats.TimeJumps) < maxTimeJumps {
		t.stats.TimeJumps = append(t.stats.TimeJumps, TimeJump{Frame{seg.File, seg.Frame}, seg.Time, t.clock})
	}
	t.jumpPending, t.jumpTime = true, seg.Time
	t.jumpFrame, t.jumpConn = Frame{seg.File, seg.Frame}, nil
	seg.Time = t.clock
}

// noteJumped remembers the incarnation that the segment taken at the
// running time went to.
func (t *Tracker) noteJumped(c *conn, seg *Segment) {
	if t.jumpPending && t.jumpConn == nil && t.jumpFrame == (Frame{seg.File, seg.Frame}) {
		t.jumpConn, t.jumpConnID = c, c.id
	}
}

// retimeJumped gives the segment taken at the running time its own time
// back once the capture moved there, when it began an incarnation that
// holds nothing else yet (the first packet of a merged capture): its
// connection then lies wholly in the new time.
func (t *Tracker) retimeJumped() {
	c := t.jumpConn
	t.jumpConn = nil
	if c == nil || c.id != t.jumpConnID || c.Record == nil || c.Packets != 1 || c.FirstFrame != t.jumpFrame {
		return
	}
	at := t.jumpTime
	c.Start, c.End, c.last = at, at, at
	for _, f := range [2]*Flow{&c.C, &c.S} {
		for _, e := range [...]*Event{&f.SYN, &f.FIN, &f.RST} {
			if e.Frame == t.jumpFrame {
				e.Time = at
			}
		}
		if f.Packets > 0 {
			f.TSFirstTime, f.TSLastTime = at, at
			if f.DataStart != 0 {
				f.DataStart = at
			}
		}
	}
	t.live.touch(c, t.deadline(c), t.lingerSeg(c))
}
