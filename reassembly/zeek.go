package reassembly

// This file mirrors the TCP analyzer of Zeek 6.x/7.x
// (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc,
// src/analyzer/protocol/tcp/TCP_Endpoint.cc and TCP_Reassembler.cc) and the
// conn_state function of scripts/base/protocols/conn/main.zeek, so that
// twscope can give the conn_state and history Zeek would log for a
// connection. Names follow Zeek's where that helps to compare the two.
//
// Approximations, each because Zeek keeps state we do not:
//
//   - A segment's payload counts as captured unless observeCaptured says
//     otherwise, because Segment does not say how much of it the snaplen
//     kept; Zeek skips reassembly of a cut payload, which shows as gaps.
//   - Checksums are not verified: Zeek drops a packet with a bad checksum
//     before the state machine sees it and records 'c'; Segment carries no
//     checksum verdict, so every segment is taken as good and 'c' never
//     appears.
//   - Roles are never flipped: the caller decides the originator, so '^'
//     never appears, and a SYN answering a SYN-ACK is taken as a
//     simultaneous open rather than as a reversed handshake.
//   - The reassembler keeps no payload, only where delivery stands, the
//     trim point and up to zeekMaxBlocks out-of-order ranges per direction;
//     ranges beyond that are merged, which can hide a gap between them.
//   - A close is never deferred for undelivered data: Zeek marks an endpoint
//     closed only once its data is delivered, which matters only for when
//     Zeek lets the four-tuple be reused and when its timers fire.
//   - Zeek's timers (close delay, attempt, linger, inactivity) are judged
//     by deadline in expired, not run; ExpireTimer's 6 s granularity is
//     ignored.
//   - The buffered-data limits use the held ranges, not Zeek's block list.
//   - The history is cut at len(zeekConn.hist) letters.

const (
	// zeekTooLargeSeqDelta is TOO_LARGE_SEQ_DELTA: a SYN or RST this far from
	// the last sequence number is not trusted to move it.
	zeekTooLargeSeqDelta = 1048576
	// zeekMaxAboveHole is tcp_max_above_hole_without_any_acks: after this
	// much buffered data above a hole with nothing acked, Zeek stops
	// reassembling (and so stops seeing gaps).
	zeekMaxAboveHole = 16384
	// zeekMaxInitialWindow is tcp_max_initial_window.
	zeekMaxInitialWindow = 16384
	// zeekExcessiveData is tcp_excessive_data_without_further_acks.
	zeekExcessiveData = 10 * 1024 * 1024
	// zeekMaxBlocks bounds the out-of-order ranges kept per direction.
	zeekMaxBlocks = 4

	// Zeek's timers, in nanoseconds (base/init-bare.zeek defaults).
	zeekCloseDelay     = 5e9   // tcp_close_delay
	zeekAttemptDelay   = 5e9   // tcp_attempt_delay
	zeekLinger         = 5e9   // tcp_connection_linger
	zeekInactivity     = 300e9 // tcp_inactivity_timeout
	zeekPreHandshakeTO = 60e9  // udp_inactivity_timeout, used until the handshake ends
	zeekHistoryBase    = 10    // scaling base of ScaledHistoryEntry
)

// zeekEndpointState is Zeek's EndpointState, in Zeek's order.
type zeekEndpointState uint8

const (
	zeekInactive    zeekEndpointState = iota // TCP_INACTIVE: nothing seen
	zeekSynSent                              // TCP_SYN_SENT
	zeekSynAckSent                           // TCP_SYN_ACK_SENT
	zeekPartial                              // TCP_PARTIAL: data without SYN
	zeekEstablished                          // TCP_ESTABLISHED
	zeekClosed                               // TCP_CLOSED: FIN seen
	zeekReset                                // TCP_RESET: RST seen
)

// History mask bits, as TCP_Endpoint.h defines them; the responder's are
// shifted left by 16.
const (
	zeekHistSYN       = 0x1
	zeekHistFIN       = 0x2
	zeekHistRST       = 0x4
	zeekHistFINRST    = 0x8
	zeekHistData      = 0x10
	zeekHistACK       = 0x20
	zeekHistMulti     = 0x40
	zeekHistRespShift = 16
)

// zeekScaled counts one kind of event ('t', 'w', 'g') so that its letter
// is logged at the 1st, 10th, 100th... occurrence.
type zeekScaled struct{ cnt, thresh uint32 }

// zeekBlock is a range of relative sequence numbers held above a hole.
type zeekBlock struct{ seq, upper uint64 }

// zeekEndpoint is one side of the connection: Zeek's TCP_Endpoint plus the
// bookkeeping of its TCP_Reassembler.
type zeekEndpoint struct {
	state, prevState zeekEndpointState

	startSeq           int64
	lastSeq, ackSeq    uint32
	seqWraps, ackWraps uint32

	histLastSYN, histLastFIN, histLastRST uint64

	finCnt, rstCnt uint32
	finSeq         uint64
	didClose       bool

	rxmt, win0, gap zeekScaled

	// Reassembler: relative sequence numbers, starting at 1.
	lastReassem, trimSeq uint64
	blocks               [zeekMaxBlocks]zeekBlock
	nblocks              uint8
	skip                 bool
}

// zeekConn follows one connection as Zeek's TCP analyzer does, to give
// Zeek's conn_state and history for it.
type zeekConn struct {
	orig, resp zeekEndpoint

	histSeen uint32
	hist     [40]byte
	histLen  uint8

	started         bool
	isPartial       bool
	firstPacketSeen uint8 // 1 orig, 2 resp

	startTime  int64 // first packet
	lastTime   int64 // Zeek's Conn()->LastTime()
	attemptAt  int64 // when the attempt timer fires, 0 if none
	closedAt   int64 // when the close completed, 0 if not
	handshaken bool  // the handshake is over: tcp_inactivity_timeout applies
}

// observe takes every segment of the connection in capture order; fromOrig
// says whether it was sent by the originator (our client: the SYN sender).
// It takes the whole payload as captured; see observeCaptured.
func (z *zeekConn) observe(fromOrig bool, seg *Segment) {
	z.observeCaptured(fromOrig, seg, seg.PayloadLen)
}

// observeCaptured is observe for a segment of which only captured payload
// bytes are in the capture. Zeek does not reassemble a segment whose
// payload the snaplen cut, so the ACK for it reveals a content gap ('g').
func (z *zeekConn) observeCaptured(fromOrig bool, seg *Segment, captured int) {
	if !z.started {
		z.started = true
		z.orig.init()
		z.resp.init()
		z.startTime = seg.Time
	}
	e, p := &z.orig, &z.resp
	if !fromOrig {
		e, p = p, e
	}
	syn := seg.Flags&FlagSYN != 0
	fin := seg.Flags&FlagFIN != 0
	rst := seg.Flags&FlagRST != 0
	ack := seg.Flags&FlagACK != 0
	n := seg.PayloadLen

	z.setPartialStatus(fromOrig, syn, ack)

	segLen := n
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= n
	}
	seqEnd := seg.Seq + uint32(segLen)

	e.initEndpoint(syn, seg.Seq, seqEnd)

	relSeq, underflow := e.relativeSeq(seg.Seq, e.lastSeq, e.seqWraps)

	z.updateHistory(fromOrig, e, seg.Flags, relSeq, n)

	// update_window: only its zero-window accounting shows in the history.
	// A 16-bit window shifted by a scale of at most 14 is zero only if it
	// was zero, so the scale need not be kept.
	if seg.Window == 0 && !rst && p.state != zeekClosed && e.state != zeekReset {
		z.scaled(fromOrig, 'W', &e.win0)
	}

	if !(z.orig.didClose && z.resp.didClose) {
		z.lastTime = seg.Time
	}

	if fin {
		e.finCnt++
		e.finSeq = relSeq + uint64(int64(segLen))
	}
	if rst {
		e.rstCnt++
	}

	var relAck uint64
	if ack {
		if p.state == zeekInactive {
			relAck = 1
			p.initPeer(seg.Ack)
		} else {
			var under bool
			relAck, under = p.relativeSeq(seg.Ack, p.ackSeq, p.ackWraps)
			if under {
				relAck = 0
			} else if !rst {
				p.updateAckSeq(seg.Ack)
			}
		}
	}

	z.updateLastSeq(fromOrig, e, seqEnd, syn, fin, rst, n)

	doClose := z.updateStateMachine(fromOrig, e, p, seg, n)

	if ack {
		z.ackReceived(!fromOrig, p, relAck)
	}

	relData := relSeq
	if syn {
		relData++
	}
	if n > 0 && !rst && !underflow && captured >= n {
		z.dataSent(fromOrig, e, relData, uint64(n))
	}

	if doClose {
		z.connectionClosed(e, p)
	}
	if !zeekIsHandshake(z.orig.state) || !zeekIsHandshake(z.resp.state) {
		z.handshaken = true
	}
}

func (e *zeekEndpoint) init() {
	e.lastReassem, e.trimSeq = 1, 1
	e.rxmt.thresh, e.win0.thresh, e.gap.thresh = 1, 1, 1
}

func zeekIsHandshake(s zeekEndpointState) bool {
	return s == zeekInactive || s == zeekSynSent || s == zeekSynAckSent
}

func (e *zeekEndpoint) setState(s zeekEndpointState) {
	if s != e.state {
		e.prevState = e.state
		e.state = s
	}
}

func zeekSeqDelta(a, b uint32) int32 { return int32(a - b) }

func (e *zeekEndpoint) startAll(seq, last uint32) {
	e.startSeq = int64(seq)
	e.ackSeq = seq
	e.lastSeq = last
}

// initEndpoint is init_endpoint: it (re)starts the sequence space of the
// sender on its first segment or on a SYN that moves it.
func (e *zeekEndpoint) initEndpoint(syn bool, seq, last uint32) {
	switch e.state {
	case zeekInactive:
		if syn {
			e.ackSeq = seq
			e.startSeq = int64(seq)
		} else {
			// A partial connection: number as though a SYN had been seen.
			e.ackSeq = seq - 1
			e.startSeq = int64(seq - 1)
			last = seq
		}
		e.lastSeq = last
	case zeekSynSent, zeekSynAckSent:
		if syn && seq != uint32(e.startSeq) {
			e.startAll(seq, last)
		}
	case zeekEstablished, zeekPartial:
		if syn {
			e.startAll(seq, last)
		}
	case zeekReset:
		if syn && e.prevState == zeekInactive {
			e.startAll(seq, last)
		}
	}
}

// initPeer is init_peer: the first ACK for a silent peer starts its
// sequence space as though its SYN had been seen.
func (e *zeekEndpoint) initPeer(ack uint32) {
	e.startSeq = int64(ack - 1)
	e.ackSeq = ack - 1
	e.lastSeq = ack - 1
}

func (e *zeekEndpoint) toRelative(seq, wraps uint32) uint64 {
	return uint64(int64(wraps)<<32 + int64(seq) - e.startSeq)
}

// relativeSeq is get_relative_seq; underflow reports a number before the
// start of the sequence space.
func (e *zeekEndpoint) relativeSeq(cur, last, wraps uint32) (uint64, bool) {
	d := zeekSeqDelta(cur, last)
	if d < 0 {
		if wraps > 0 && cur > last {
			wraps--
		}
	} else if d > 0 && cur < last {
		wraps++
	}
	if wraps == 0 {
		d = zeekSeqDelta(cur, uint32(e.startSeq))
		return uint64(int64(d)), d < 0
	}
	return e.toRelative(cur, wraps), false
}

func (e *zeekEndpoint) updateAckSeq(ack uint32) {
	d := zeekSeqDelta(ack, e.ackSeq)
	if ack == 0 && d > zeekTooLargeSeqDelta {
		return // more likely a broken ACK than a wrap onto zero
	}
	if d > 0 {
		if ack < e.ackSeq {
			e.ackWraps++
		}
		e.ackSeq = ack
	}
}

func (e *zeekEndpoint) setLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

// updateLastSeq is update_last_seq, where Zeek counts a retransmission:
// payload that does not reach past the highest sequence number seen.
func (z *zeekConn) updateLastSeq(fromOrig bool, e *zeekEndpoint, last uint32, syn, fin, rst bool, n int) {
	d := zeekSeqDelta(last, e.lastSeq)
	switch {
	case (syn || rst) && (d > zeekTooLargeSeqDelta || d < -zeekTooLargeSeqDelta):
	case fin && int64(e.lastSeq) == int64(uint32(e.startSeq))+1:
		e.setLastSeq(last)
	case e.state == zeekReset:
	case d > 0:
		e.setLastSeq(last)
	case n > 0:
		z.scaled(fromOrig, 'T', &e.rxmt)
	}
}

func (e *zeekEndpoint) noDataAcked() bool {
	a := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	s := uint64(e.startSeq)
	return a == s || a == s+1
}

// size is TCP_Endpoint::Size, the payload bytes conn_state needs to tell
// REJ from RSTO/RSTR when both sides reset.
func (e *zeekEndpoint) size(peer *zeekEndpoint) uint64 {
	if e.prevState == zeekSynSent && e.state == zeekReset && peer.state == zeekInactive && !e.noDataAcked() {
		return 0
	}
	last := uint64(e.seqWraps)<<32 + uint64(e.lastSeq)
	ack := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	hi := ack
	if last > ack {
		hi = last
	}
	s := hi - uint64(e.startSeq)
	if s != 0 {
		s--
	}
	if e.finCnt > 0 && s != 0 {
		s--
	}
	return s
}

func (z *zeekConn) setPartialStatus(fromOrig, syn, ack bool) {
	if fromOrig {
		if z.firstPacketSeen&1 == 0 {
			z.isPartial = !syn || ack
		}
	} else if z.firstPacketSeen&2 == 0 && !z.isPartial {
		z.isPartial = !syn
	}
	// CheckPIA_FirstPacket, later in Process, marks the side as seen.
	if fromOrig {
		z.firstPacketSeen |= 1
	} else {
		z.firstPacketSeen |= 2
	}
}

func (z *zeekConn) addHistory(c byte) {
	if int(z.histLen) < len(z.hist) {
		z.hist[z.histLen] = c
		z.histLen++
	}
}

// checkHistory is Connection::CheckHistory: a letter is logged only the
// first time its mask is seen. It reports whether the mask had been seen.
func (z *zeekConn) checkHistory(fromOrig bool, mask uint32, code byte) bool {
	if !fromOrig {
		mask <<= zeekHistRespShift
		code = zeekLower(code)
	}
	if z.histSeen&mask == 0 {
		z.histSeen |= mask
		z.addHistory(code)
		return false
	}
	return true
}

// scaled is ScaledHistoryEntry: the letter goes in at the 1st, 10th,
// 100th... occurrence.
func (z *zeekConn) scaled(fromOrig bool, code byte, c *zeekScaled) {
	c.cnt++
	if c.cnt != c.thresh {
		return
	}
	if !fromOrig {
		code = zeekLower(code)
	}
	z.addHistory(code)
	if next := c.thresh * zeekHistoryBase; next <= c.thresh {
		c.cnt = 0
	} else {
		c.thresh = next
	}
}

func zeekLower(c byte) byte { return c | 0x20 }

// updateHistory is update_history. S, H, F and R repeat when their
// sequence number differs from the last one of the same kind; the others
// are logged once per direction.
func (z *zeekConn) updateHistory(fromOrig bool, e *zeekEndpoint, flags uint8, relSeq uint64, n int) {
	syn, fin, rst := flags&FlagSYN != 0, flags&FlagFIN != 0, flags&FlagRST != 0
	bits := 0
	for _, b := range [...]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			z.checkHistory(fromOrig, zeekHistFINRST, 'I')
		} else {
			z.checkHistory(fromOrig, zeekHistMulti, 'Q')
		}
	case syn:
		code := byte('S')
		if flags&FlagACK != 0 {
			code = 'H'
		}
		if z.checkHistory(fromOrig, zeekHistSYN, code) && relSeq != e.histLastSYN {
			z.addHistoryFrom(fromOrig, code)
		}
		e.histLastSYN = relSeq
	case fin:
		// A FIN's number is at the end of its data.
		at := relSeq + uint64(n)
		if z.checkHistory(fromOrig, zeekHistFIN, 'F') && at != e.histLastFIN {
			z.addHistoryFrom(fromOrig, 'F')
		}
		e.histLastFIN = at
	case rst:
		if z.checkHistory(fromOrig, zeekHistRST, 'R') && relSeq != e.histLastRST {
			z.addHistoryFrom(fromOrig, 'R')
		}
		e.histLastRST = relSeq
	case n > 0:
		z.checkHistory(fromOrig, zeekHistData, 'D')
	case flags&FlagACK != 0:
		z.checkHistory(fromOrig, zeekHistACK, 'A')
	}
}

func (z *zeekConn) addHistoryFrom(fromOrig bool, code byte) {
	if !fromOrig {
		code = zeekLower(code)
	}
	z.addHistory(code)
}

// updateStateMachine is UpdateStateMachine and the Update*State functions
// it calls; it reports whether the segment closes the sender's side.
func (z *zeekConn) updateStateMachine(fromOrig bool, e, p *zeekEndpoint, seg *Segment, n int) bool {
	syn := seg.Flags&FlagSYN != 0
	fin := seg.Flags&FlagFIN != 0
	rst := seg.Flags&FlagRST != 0
	ack := seg.Flags&FlagACK != 0
	doClose := false

	switch e.state {
	case zeekInactive:
		if syn {
			if fromOrig {
				if ack {
					e.setState(zeekSynAckSent)
				} else {
					e.setState(zeekSynSent)
				}
				if z.attemptAt == 0 {
					z.attemptAt = seg.Time + zeekAttemptDelay
				}
			} else {
				if !ack && p.state == zeekSynAckSent && seg.Seq == uint32(e.startSeq) {
					// Zeek flips roles here (a SYN-ACK seen before its
					// SYN); roles are the caller's, so only the states move.
					p.setState(zeekEstablished)
				}
				if p.state == zeekSynSent {
					p.setState(zeekEstablished)
				}
				e.setState(zeekEstablished)
			}
		}
		if fin {
			e.setState(zeekClosed)
			doClose = true
		}
		if rst {
			e.setState(zeekReset)
			doClose = true
		}
		if e.state == zeekInactive {
			switch {
			case !fromOrig && n == 0 && z.orig.state == zeekSynSent:
				// An ACK of the SYN before the SYN-ACK: not partial.
			case ack && p.state == zeekEstablished:
				// The SYN was missed but the SYN-ACK seen.
				e.setState(zeekEstablished)
				z.isPartial = false
			default:
				e.setState(zeekPartial)
			}
		}

	case zeekSynSent, zeekSynAckSent:
		if fin {
			e.setState(zeekClosed)
			doClose = true
		}
		if rst {
			e.setState(zeekReset)
			doClose = true
		}

	case zeekEstablished, zeekPartial:
		if syn && e.state == zeekPartial && p.state == zeekInactive && !ack {
			e.setState(zeekSynSent)
		}
		if fin && !rst {
			e.setState(zeekClosed)
			if p.state == zeekReset && p.prevState == zeekClosed {
				// FIN then RST from the peer was a normal close.
				p.setState(zeekClosed)
			}
			doClose = true
		}
		if rst {
			e.setState(zeekReset)
			doClose = true
		}

	case zeekClosed:
		// After a FIN exchange a RST changes nothing.
		if rst && p.state != zeekClosed {
			e.setState(zeekReset)
			if !e.didClose {
				doClose = true
			}
		}

	case zeekReset:
	}
	return doClose
}

// connectionClosed is ConnectionClosed without the deferral for pending
// data: it marks the side closed and notes when the close completed.
func (z *zeekConn) connectionClosed(e, p *zeekEndpoint) {
	if e.didClose {
		return
	}
	e.didClose = true
	if e.state == zeekReset || p.didClose || p.state == zeekInactive {
		if z.closedAt == 0 {
			z.closedAt = z.lastTime
		}
	}
}

func zeekIsClean(a *zeekEndpoint) bool {
	return a.state == zeekEstablished || a.state == zeekClosed && a.prevState == zeekEstablished
}

// dataSent is TCP_Reassembler::DataSent and NewBlock for e's payload
// [seq, seq+n), in e's relative numbers.
func (z *zeekConn) dataSent(fromOrig bool, e *zeekEndpoint, seq, n uint64) {
	if e.skip {
		return
	}
	upper := seq + n
	if acked := e.toRelative(e.ackSeq, e.ackWraps); seq < acked {
		if upper <= acked {
			return
		}
		seq = acked
	}
	if upper <= e.trimSeq {
		return
	}
	if seq < e.trimSeq {
		seq = e.trimSeq
	}
	if seq > e.lastReassem {
		e.insertBlock(seq, upper)
	} else if upper > e.lastReassem {
		// BlockInserted: a leading hole filled, deliver what follows and
		// stop holding data nobody acks.
		e.lastReassem = upper
		e.deliverBuffered()
		peer := &z.resp
		if !fromOrig {
			peer = &z.orig
		}
		if e.noDataAcked() && e.size(peer) > zeekMaxInitialWindow {
			e.trimTo(e.lastReassem)
		}
	}
	if e.noDataAcked() && e.undelivered() > zeekMaxAboveHole {
		e.nblocks = 0
		e.skip = true
	}
	if e.buffered() > zeekExcessiveData {
		e.nblocks = 0
		e.skip = true
	}
}

// deliverBuffered moves lastReassem over held blocks it now reaches.
func (e *zeekEndpoint) deliverBuffered() {
	for {
		moved := false
		for i := 0; i < int(e.nblocks); i++ {
			b := e.blocks[i]
			if b.seq <= e.lastReassem {
				if b.upper > e.lastReassem {
					e.lastReassem = b.upper
				}
				e.removeBlock(i)
				moved = true
				break
			}
		}
		if !moved {
			return
		}
	}
}

func (e *zeekEndpoint) removeBlock(i int) {
	copy(e.blocks[i:e.nblocks], e.blocks[i+1:e.nblocks])
	e.nblocks--
}

// insertBlock holds [seq, upper) above a hole, keeping blocks sorted and
// disjoint; when all slots are taken the new range joins its neighbour.
func (e *zeekEndpoint) insertBlock(seq, upper uint64) {
	i := 0
	for i < int(e.nblocks) && e.blocks[i].upper < seq {
		i++
	}
	// Merge with every block that overlaps or touches [seq, upper).
	j := i
	for j < int(e.nblocks) && e.blocks[j].seq <= upper {
		seq = min(seq, e.blocks[j].seq)
		upper = max(upper, e.blocks[j].upper)
		j++
	}
	if j > i {
		e.blocks[i] = zeekBlock{seq, upper}
		copy(e.blocks[i+1:], e.blocks[j:e.nblocks])
		e.nblocks -= uint8(j - i - 1)
		return
	}
	if int(e.nblocks) == zeekMaxBlocks {
		k := min(i, zeekMaxBlocks-1)
		e.blocks[k].seq = min(e.blocks[k].seq, seq)
		e.blocks[k].upper = max(e.blocks[k].upper, upper)
		return
	}
	copy(e.blocks[i+1:e.nblocks+1], e.blocks[i:e.nblocks])
	e.blocks[i] = zeekBlock{seq, upper}
	e.nblocks++
}

func (e *zeekEndpoint) undelivered() uint64 {
	if e.nblocks == 0 {
		return 0
	}
	return e.blocks[e.nblocks-1].upper - e.lastReassem
}

func (e *zeekEndpoint) buffered() uint64 {
	s := uint64(0)
	if e.lastReassem > e.trimSeq {
		s = e.lastReassem - e.trimSeq
	}
	for _, b := range e.blocks[:e.nblocks] {
		s += b.upper - b.seq
	}
	return s
}

// trimTo drops what lies below seq without reporting gaps.
func (e *zeekEndpoint) trimTo(seq uint64) {
	for e.nblocks > 0 && e.blocks[0].upper <= seq {
		e.removeBlock(0)
	}
	e.trimSeq = seq
}

// ackReceived is TCP_Reassembler::AckReceived and DataBlockList::Trim for
// e's data: an ACK past what was delivered reveals a content gap.
func (z *zeekConn) ackReceived(fromOrig bool, e *zeekEndpoint, seq uint64) {
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trimSeq {
		return
	}
	if seq > e.lastReassem {
		z.undelivered(fromOrig, e, seq)
	}
	for e.nblocks > 0 && e.blocks[0].upper <= seq {
		e.removeBlock(0)
	}
	if e.nblocks > 0 && e.blocks[0].seq == e.lastReassem {
		e.deliverBuffered()
	}
	e.trimSeq = seq
}

// undelivered is TCP_Reassembler::Undelivered: each hole below upTo is a
// gap, logged only while both sides are established or closing cleanly.
func (z *zeekConn) undelivered(fromOrig bool, e *zeekEndpoint, upTo uint64) {
	if upTo <= 2 && z.isPartial {
		// The first ACK of a partial connection.
		return
	}
	peer := &z.resp
	if !fromOrig {
		peer = &z.orig
	}
	if !e.skip {
		for e.nblocks > 0 && e.blocks[0].seq < upTo {
			z.gap(fromOrig, e, peer)
			b := e.blocks[0]
			e.removeBlock(0)
			e.lastReassem = max(e.lastReassem, b.upper)
			e.deliverBuffered()
		}
		if upTo > e.lastReassem {
			z.gap(fromOrig, e, peer)
		}
	}
	e.lastReassem = max(e.lastReassem, upTo)
}

func (z *zeekConn) gap(fromOrig bool, e, peer *zeekEndpoint) {
	if zeekIsClean(e) && zeekIsClean(peer) {
		z.scaled(fromOrig, 'G', &e.gap)
	}
}

// reuse is TCPSessionAdapter::IsReuse: whether Zeek would end this
// connection and start a new one with seg, a segment of its four-tuple.
func (z *zeekConn) reuse(seg *Segment) bool {
	if !z.started || seg.Flags&FlagSYN == 0 {
		return false
	}
	o := &z.orig
	if seg.Flags&FlagACK != 0 {
		if z.orig.state != zeekInactive {
			return false
		}
		o = &z.resp
	}
	if !z.orig.didClose && !z.resp.didClose {
		if seg.Seq == uint32(o.startSeq) {
			return false
		}
		if seg.Flags&FlagACK == 0 && o.state == zeekSynAckSent && z.resp.state == zeekInactive &&
			seg.Seq == uint32(z.resp.startSeq) {
			return false
		}
	}
	return true
}

// expired reports whether Zeek's timers would have removed the connection
// before a packet at time now, so that the packet starts a new one. The
// timers are approximated by their deadlines: the delete timer after a
// complete close, the attempt timer for an unanswered SYN, the expire timer
// for a half-closed or reset connection gone quiet, and inactivity.
func (z *zeekConn) expired(now int64) bool {
	if !z.started {
		return false
	}
	if z.closedAt != 0 && now >= z.closedAt+zeekCloseDelay {
		return true
	}
	if z.attemptAt != 0 && now >= z.attemptAt &&
		(z.orig.state == zeekSynSent || z.orig.state == zeekSynAckSent) && z.resp.state == zeekInactive {
		return true
	}
	o, r := &z.orig, &z.resp
	if (o.didClose || r.didClose) && now > z.lastTime+zeekLinger &&
		(o.didClose && r.didClose || o.state == zeekReset || r.state == zeekReset ||
			o.state == zeekInactive || r.state == zeekInactive) {
		return true
	}
	timeout := int64(zeekPreHandshakeTO)
	if z.handshaken {
		timeout = zeekInactivity
	}
	return now > z.lastTime+timeout
}

// state is conn_state from base/protocols/conn/main.zeek.
func (z *zeekConn) state() string {
	os, rs := z.orig.state, z.resp.state
	oInactive := os == zeekInactive || os == zeekPartial
	rInactive := rs == zeekInactive || rs == zeekPartial
	switch {
	case rs == zeekReset:
		if os == zeekSynSent || os == zeekSynAckSent ||
			os == zeekReset && z.orig.size(&z.resp) == 0 && z.resp.size(&z.orig) == 0 {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == zeekReset:
		if rInactive {
			if z.rstos0() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == zeekClosed && os == zeekClosed:
		return "SF"
	case os == zeekClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zeekClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == zeekSynSent && rs == zeekInactive:
		return "S0"
	case os == zeekEstablished && rs == zeekEstablished:
		return "S1"
	}
	return "OTH"
}

// rstos0 matches the history against /\^?S[^HAFGIQ]*R.*/, anchored as
// Zeek's pattern equality is.
func (z *zeekConn) rstos0() bool {
	h := z.hist[:z.histLen]
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// history is the connection's history string, as in conn.log.
func (z *zeekConn) history() string { return string(z.hist[:z.histLen]) }
