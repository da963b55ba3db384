package reassembly

// Segment acceptance (RFC 9293 3.10.7, RFC 5961): only segments that the
// receiving stack would take are part of the close. A segment it would
// drop is counted (Record.SuspectSegments, TrackerStats.Suspect) and not
// applied: it never changes who closed, how, or who holds TIME_WAIT.
//
// The capture sees neither end's RCV.NXT nor its window exactly (packets
// lost before or after the capture point, a capture started
// mid-connection), so the rules below only call a segment suspect on
// evidence, and measure generously:
//
//   - the data offset runs past the packet's length as the IP header gives
//     it (Linux drops the segment; a snaplen that cut the header is not
//     this: the IP length still covers it);
//   - its sequence number lies further ahead of the receiver's RCV.NXT than
//     the receiver's window: RCV.NXT is taken as the later of what the
//     receiver acknowledged and what the sender had sent, the window as
//     the largest the receiver advertised, scaled, but never below 64 KiB;
//     when the handshake did not give the window scale (no handshake in
//     the capture, options cut by the snaplen) as 2^30, the largest window
//     RFC 7323 allows. For a RST the same bound applies behind (RFC 5961 3:
//     outside the window it is dropped; inside but not exact it draws a
//     challenge ACK, and the capture cannot tell exact, so it counts);
//   - it acknowledges more than the receiver sent, by more than the
//     sender's own window (data the capture missed can be at most that
//     far ahead): RFC 9293 "SEG.ACK > SND.NXT: drop". RSTs are judged by
//     their sequence number alone, as RFC 9293 checks RST before ACK;
//   - a SYN+ACK that does not acknowledge the client's SYN (RFC 9293
//     SYN-SENT), and a RST to a SYN that does not (RFC 9293 3.10.7.3);
//   - a client SYN with a new ISN that carries the IP ID and TSval of the
//     SYN already held (startsIncarnation): the same SYN seen on the far
//     side of a sequence-randomising firewall. The segments of that second
//     sequence view then fail the rules above and the close is judged in
//     the first view's numbers.
//
// A challenge ACK is none of these: a server segment that acknowledges
// something other than the client's SYN before answering it is the peer
// answering from an older state of the four-tuple (RFC 5961 4); the
// client's RST at that ACK number clears that state. Both are kept in
// Record.StaleState, not applied, and the SYN sent again after them is the
// same connection attempt.

// minWindow is the least window a receiver is assumed to offer.
const minWindow = 1 << 16

// accept applies the rules above to seg, sent by from (s its flow, r the
// receiver's), and reports whether the receiver would take it. The common
// case, a segment in the window of a conn past the SYN+ACK, is decided
// here, in a function that calls nothing on that path and so keeps its
// arguments in registers; judge has the rules.
func (t *Tracker) accept(c *conn, seg *Segment, s, r *flowSide, from Side) bool {
	if c.StaleState == nil && c.S.SYN.Seen() && seg.Flags&(FlagSYN|FlagRST) == 0 && !seg.BadHeader &&
		!s.jump && !r.jump && inWindow(seg, s, r, seg.Has(FlagACK)) {
		return true
	}
	return t.judge(c, seg, s, r, from)
}

// judge is accept past its common case.
func (t *Tracker) judge(c *conn, seg *Segment, s, r *flowSide, from Side) bool {
	syn, rst, ack := seg.Has(FlagSYN), seg.Has(FlagRST), seg.Has(FlagACK)
	if (c.StaleState != nil || !c.S.SYN.Seen()) && t.staleState(c, seg, s, from, syn, rst, ack) {
		return false
	}
	if !seg.BadHeader && !syn && !rst && !s.jump && !r.jump && inWindow(seg, s, r, ack) {
		return true
	}
	reason, expected, win := SuspectNone, uint32(0), uint32(0)
	switch {
	case seg.BadHeader:
		reason = SuspectHeader
	case syn:
		switch {
		case from == SideClient && !ack && s.SYN.Seen() && seg.Seq != s.ISN:
			reason, expected = SuspectView, s.ISN
		case from == SideServer && ack && r.SYN.Seen() && !inRange(seg.Ack, r.ISN+1, r.NextSeq+1):
			reason, expected = SuspectAck, r.ISN+1
		}
	case rst && from == SideServer && r.SYN.Seen() && !s.seqKnown:
		// SYN-SENT: a RST counts only if it acknowledges the SYN.
		if !ack || !inRange(seg.Ack, r.ISN+1, r.NextSeq+1) {
			reason, expected = SuspectAck, r.ISN+1
		}
	default:
		reason, expected, win = outOfWindow(seg, s, r, rst, ack)
		if reason != SuspectNone && !c.twoViews && t.resync(c, seg, s, r, from, reason) {
			return true
		}
	}
	if reason == SuspectNone {
		if !syn && (s.jump || r.jump) {
			// Going on in the old numbers: the jump was not real.
			s.jump, r.jump = false, false
			c.pend = nil
		}
		return true
	}
	if reason == SuspectView {
		c.twoViews = true
	}
	t.stats.Suspect++
	c.SuspectSegments++
	c.pendVerdict = false
	if v := wouldChange(seg, s, r); v != VerdictNone {
		c.pendVerdict = c.pend != nil && c.pend.Frame == seg.Frame && c.pend.File == seg.File
		c.SuspectVerdicts++
		if c.SuspectVerdicts == 1 {
			c.Suspect = &SuspectSegment{From: from, Seq: seg.Seq, Ack: seg.Ack, Flags: seg.Flags,
				Len: seg.PayloadLen, Reason: reason, Expected: expected, Window: win, Verdict: v}
			c.Suspect.set(seg)
		}
	}
	return false
}

// outOfWindow is the sequence and acknowledgement test of a segment that
// is no SYN; it returns the reason, the number measured from and the window.
func outOfWindow(seg *Segment, s, r *flowSide, rst, ack bool) (SuspectReason, uint32, uint32) {
	if s.seqKnown || r.ackKnown {
		ref, low := s.NextSeq, s.NextSeq
		if r.ackKnown {
			low = r.ackHigh
			if !s.seqKnown || serialBefore(ref, r.ackHigh) {
				ref = r.ackHigh
			}
		}
		win := r.windowBound()
		if int32(seg.Seq-ref) > int32(win) || (rst && int32(low-seg.Seq) > int32(win)) {
			return SuspectSeq, ref, win
		}
	}
	if ack && !rst && r.seqKnown {
		if win := s.windowBound(); int32(seg.Ack-r.NextSeq) > int32(win) {
			return SuspectAck, r.NextSeq, win
		}
	}
	return SuspectNone, 0, 0
}

// resync decides whether a segment outside the window is the other end
// confirming an earlier one: when the capture missed data (a trimmed or
// lossy capture, a transfer of gigabytes with most packets dropped), one
// side's sequence numbers jump, and the peer's next segment acknowledges
// them, or the peer's ACK jumps and the side's next segment continues from
// it. An injected segment is never confirmed: the peer drops it and goes
// on in the old numbers. A jump confirmed this way moves the sequence
// space there, and the segment counts. Not when the capture holds two
// sequence views of the connection (twoViews): each would confirm itself.
func (t *Tracker) resync(c *conn, seg *Segment, s, r *flowSide, from Side, reason SuspectReason) bool {
	// The space the segment jumped in, where to (its end, to compare) and
	// where it starts (where the space moves to if confirmed).
	f, at, start := s, seg.Seq+uint32(seg.PayloadLen), seg.Seq
	if reason == SuspectAck {
		f, at, start = r, seg.Ack, seg.Ack
	}
	if f.jump && f.jumpBy != from {
		if d := int32(at - f.jumpTo); d > -int32(f.windowBound()) && d < int32(f.windowBound()) {
			f.jump = false
			t.moveTo(f, f.jumpStart)
			c.pendReady = c.pend != nil
			if c.pendReady {
				t.unsuspect(c)
			}
			return true
		}
	}
	f.jump, f.jumpTo, f.jumpStart, f.jumpBy = true, at, start, from
	if c.pend == nil {
		c.pend, t.freePend = t.freePend, nil
		if c.pend == nil {
			c.pend = new(Segment)
		}
	}
	*c.pend, c.pendFrom = *seg, from
	return false
}

// unsuspect takes back the count of the pending segment, now confirmed.
func (t *Tracker) unsuspect(c *conn) {
	t.stats.Suspect--
	c.SuspectSegments--
	if c.pendVerdict {
		c.SuspectVerdicts--
		if c.Suspect != nil && c.Suspect.Frame == (Frame{c.pend.File, c.pend.Frame}) {
			c.Suspect = nil
		}
		c.pendVerdict = false
	}
}

// moveTo moves f's sequence space forward to end, as advance would have.
func (t *Tracker) moveTo(f *flowSide, end uint32) {
	if step := end - f.NextSeq; f.seqKnown && step < 1<<31 {
		f.NextSeq = end
		f.Advance += int64(step)
	}
}

// inWindow is the fast test of a segment that is no SYN or RST: its
// sequence number is not ahead of the receiver's window and its ACK not
// ahead of what the receiver sent (outOfWindow has the full rule).
func inWindow(seg *Segment, s, r *flowSide, ack bool) bool {
	if r.ackKnown && uint32(int32(seg.Seq-r.ackHigh)) < minWindow && (!ack || !r.seqKnown || uint32(int32(seg.Ack-r.NextSeq)+minWindow) <= 2*minWindow) {
		return true
	}
	return false
}

// windowBound is the most that the side's peer may send beyond what the
// side acknowledged: its largest window, or 2^30 when the scale is unknown.
func (f *flowSide) windowBound() uint32 {
	if !f.winKnown {
		return maxSeqJump
	}
	return max(f.maxWin, minWindow)
}

// wouldChange is the verdict seg would have changed had it been accepted:
// a first RST (the close kind), a first FIN of its sender (the closer), or
// the first ACK of the peer's FIN (the close completes, TIME_WAIT).
func wouldChange(seg *Segment, s, r *flowSide) Verdict {
	switch {
	case seg.Has(FlagRST):
		if !s.RST.Seen() && !r.RST.Seen() {
			return VerdictClose
		}
	case seg.Has(FlagFIN) && !s.FIN.Seen():
		return VerdictCloser
	case seg.Has(FlagACK) && r.FIN.Seen() && !s.AckOfPeerFIN.Seen() && !serialBefore(seg.Ack, r.FINSeq+1):
		return VerdictHolder
	}
	return VerdictNone
}

// staleState recognises the challenge ACK and the client's RST that
// answers it (see above) and keeps them in the record.
func (t *Tracker) staleState(c *conn, seg *Segment, s *flowSide, from Side, syn, rst, ack bool) bool {
	st := c.StaleState
	if st != nil && st.RST.Seen() && !st.SYNAgain && from == SideClient && syn && !ack && seg.Seq == c.C.ISN {
		st.SYNAgain = true // the same attempt goes on
	}
	if syn || c.S.SYN.Seen() || !c.C.SYN.Seen() || c.fs[0].seqKnown && c.C.NextSeq != c.C.ISN+1 {
		return false
	}
	switch {
	case from == SideServer && ack && !rst && seg.Ack != c.C.ISN+1 && !s.seqKnown:
		if st == nil {
			st = new(StaleState) // rare: once per refused reuse
			c.StaleState = st
		}
		st.ChallengeACK.setOnce(seg)
		st.Ack = seg.Ack
		return true
	case from == SideClient && rst && st.Seen() && !st.SYNAgain && seg.Seq == st.Ack:
		st.RST.setOnce(seg)
		return true
	}
	return false
}

// staleReset is the close fact of a RST that answered a challenge ACK when
// no SYN followed it: then it was the attempt's last word, and counts.
func staleReset(r *Record) {
	if st := r.StaleState; st != nil && st.RST.Seen() && !st.SYNAgain && !r.C.RST.Seen() {
		r.C.RST = st.RST
		r.C.RSTCount++
	}
}

// synWindow notes the window scale once both SYNs are in: RFC 7323 scales
// windows only when both carried the option.
func (t *Tracker) synWindow(c *conn, s *flowSide, seg *Segment) {
	if seg.OptionsKnown {
		s.shift, s.wsOpt = max(seg.WScale, 1)-1, seg.WScale > 0
		s.synIPID = seg.IPID
	}
	cs, ss := &c.fs[0], &c.fs[1]
	if !cs.SYN.Seen() || !ss.SYN.Seen() || cs.SYNOptionsCut || ss.SYNOptionsCut || cs.winKnown {
		return
	}
	if !cs.wsOpt || !ss.wsOpt {
		cs.shift, ss.shift = 0, 0 // either side without the option: no scaling
	}
	cs.winKnown, ss.winKnown = true, true
	cs.maxWin, ss.maxWin = 0, 0
}

// window keeps the largest window the sender advertised and the highest
// ACK it sent.
func (t *Tracker) window(s *flowSide, seg *Segment, syn, ack bool) {
	if ack && (!s.ackKnown || serialBefore(s.ackHigh, seg.Ack)) {
		s.ackHigh, s.ackKnown = seg.Ack, true
	}
	if !s.winKnown {
		return
	}
	w := uint32(seg.Window)
	if !syn {
		w <<= s.shift
	}
	s.maxWin = max(s.maxWin, w)
}

// sameSYNOtherView reports whether a client SYN with a new ISN is the SYN
// already held seen through a sequence-rewriting middlebox: the same IP
// ID and TSval, within a second.
func sameSYNOtherView(c *conn, seg *Segment) bool {
	f := &c.fs[0]
	return seg.Time-f.SYN.Time < int64(1e9) && seg.IPID != 0 && seg.IPID == f.synIPID &&
		seg.OptionsKnown && seg.HasTS == f.SYNHasTS && (!seg.HasTS || seg.TSval == f.TSFirst)
}

// abortedBeforeDone reports whether a RST came before the close completed
// (before the last FIN was acknowledged): then the close is abortive even
// with both FINs (domain.md 2). A RST that answers the last FIN sent again
// comes from a side that had completed: the final ACK was lost, not the
// close aborted (domain.md 3).
func abortedBeforeDone(r *Record, crossed bool) bool {
	rst := r.C.RST
	from := SideClient
	if !rst.Seen() || r.S.RST.Seen() && before(r.S.RST, rst) {
		rst, from = r.S.RST, SideServer
	}
	if !rst.Seen() {
		return false
	}
	var done Event
	if crossed {
		a, b := r.C.AckOfPeerFIN, r.S.AckOfPeerFIN
		if !a.Seen() || !b.Seen() {
			return !resentBefore(r, from, rst)
		}
		done = a
		if before(a, b) {
			done = b
		}
	} else {
		done = r.Flow(r.Closer).AckOfPeerFIN
		if !done.Seen() {
			return from != r.Closer || !resentBefore(r, from, rst)
		}
	}
	return before(rst, done)
}

// resentBefore reports whether the peer of from sent its FIN again after
// acknowledging from's FIN, before rst.
func resentBefore(r *Record, from Side, rst Event) bool {
	p := r.Flow(from.Other()).FINRetransAfterAck
	return p.Seen() && !before(rst, p)
}

// before reports whether a came before b in the capture (by time, then
// frame within one file).
func before(a, b Event) bool {
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	return a.Frame.File == b.Frame.File && a.Frame.N < b.Frame.N
}

// continues reports whether seg, arriving after its incarnation c stayed
// idle past the idle bound, carries on exactly where c stopped: no SYN,
// its sequence number the sender's next one (or one below, a keep-alive
// probe), and its acknowledgement the peer's next one. Then it is the
// same incarnation, not a new partial one. To see that, an incarnation
// that is neither closed nor reset stays held (dormant) for one more idle
// bound before it is closed out as Evicted: memory stays bounded by time
// as before, twice the idle bound for connections that went quiet.
func (t *Tracker) continues(c *conn, seg *Segment, from Side) bool {
	if c.closed || seg.Has(FlagSYN) || seg.Has(FlagRST) {
		return false
	}
	s, r := c.flows(from)
	if !s.seqKnown || seg.Seq-(s.NextSeq-1) > 1 {
		return false
	}
	return !seg.Has(FlagACK) || !r.seqKnown || seg.Ack == r.NextSeq
}
