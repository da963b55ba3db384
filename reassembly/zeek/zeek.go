package zeek

// This file mirrors the TCP analyzer of Zeek 6.x/7.x
// (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc,
// src/analyzer/protocol/tcp/TCP_Endpoint.cc and TCP_Reassembler.cc) and the
// conn_state function of scripts/base/protocols/conn/main.zeek, so that
// twscope can give the conn_state and history Zeek would log for a
// connection. Names follow Zeek's where that helps to compare the two.
//
// Approximations, each because Zeek keeps state we do not:
//
//   - Checksums are not verified: Zeek drops a packet with a bad checksum
//     before the state machine sees it and records 'c'; Segment carries no
//     checksum verdict, so every segment is taken as good and 'c' never
//     appears.
//   - Roles are never flipped: the caller decides the originator, so '^'
//     never appears, and a SYN answering a SYN-ACK is taken as a
//     simultaneous open rather than as a reversed handshake.
//   - The reassembler keeps no payload, only where delivery stands, the
//     trim point and up to maxBlocks out-of-order ranges per direction;
//     ranges beyond that are merged, which can hide a gap between them.
//   - A close is never deferred for undelivered data: Zeek marks an endpoint
//     closed only once its data is delivered, which matters only for when
//     Zeek lets the four-tuple be reused and when its timers fire.
//   - Zeek's timers (close delay, attempt, linger, inactivity) are not
//     run: where one connection ends and the next begins on a four-tuple
//     is the caller's decision (the tracker's incarnations), so a
//     connection that Zeek's attempt timer would split stays one.
//   - The buffered-data limits use the held ranges, not Zeek's block list.
//   - The history is cut at len(Conn.hist) letters.

const (
	// tooLargeSeqDelta is TOO_LARGE_SEQ_DELTA: a SYN or RST this far from
	// the last sequence number is not trusted to move it.
	tooLargeSeqDelta = 1048576
	// maxAboveHole is tcp_max_above_hole_without_any_acks: after this
	// much buffered data above a hole with nothing acked, Zeek stops
	// reassembling (and so stops seeing gaps).
	maxAboveHole = 16384
	// maxInitialWindow is tcp_max_initial_window.
	maxInitialWindow = 16384
	// excessiveData is tcp_excessive_data_without_further_acks.
	excessiveData = 10 * 1024 * 1024
	// maxBlocks bounds the out-of-order ranges kept per direction.
	maxBlocks = 4

	historyBase = 10 // scaling base of ScaledHistoryEntry
)

// EndpointState is Zeek's EndpointState, in Zeek's order.
type EndpointState uint8

const (
	Inactive    EndpointState = iota // TCP_INACTIVE: nothing seen
	SynSent                          // TCP_SYN_SENT
	SynAckSent                       // TCP_SYN_ACK_SENT
	Partial                          // TCP_PARTIAL: data without SYN
	Established                      // TCP_ESTABLISHED
	Closed                           // TCP_CLOSED: FIN seen
	Reset                            // TCP_RESET: RST seen
)

// History mask bits, as TCP_Endpoint.h defines them; the responder's are
// shifted left by 16.
const (
	histSYN       = 0x1
	histFIN       = 0x2
	histRST       = 0x4
	histFINRST    = 0x8
	histData      = 0x10
	histACK       = 0x20
	histMulti     = 0x40
	histRespShift = 16
)

// scaled counts one kind of event ('t', 'w', 'g') so that its letter
// is logged at the 1st, 10th, 100th... occurrence.
type scaled struct{ cnt, thresh uint32 }

// block is a range of relative sequence numbers held above a hole.
type block struct{ seq, upper uint64 }

// endpoint is one side of the connection: Zeek's TCP_Endpoint plus the
// bookkeeping of its TCP_Reassembler, what every segment reads. What only
// some segments need is in rare, kept apart so that both endpoints fit in
// two cache lines.
type endpoint struct {
	startSeq           uint32
	lastSeq, ackSeq    uint32
	seqWraps, ackWraps uint32
	finSeq             uint64

	// Reassembler: relative sequence numbers, starting at 1.
	lastReassem, trimSeq uint64

	state, prevState EndpointState
	nblocks          uint8 // of rare.blocks in use
	finSeen          bool
	didClose         bool
	skip             bool
}

// rare is the state of one side that only SYNs, FINs, RSTs,
// retransmissions, zero windows and data above a hole touch.
type rare struct {
	histLastSYN, histLastFIN, histLastRST uint64

	rxmt, win0, gap scaled

	blocks [maxBlocks]block // held above a hole, sorted
}

// Conn follows one connection as Zeek's TCP analyzer does, to give
// Zeek's conn_state and history for it.
type Conn struct {
	orig, resp endpoint

	histSeen        uint32
	histLen         uint8
	started         bool
	isPartial       bool
	firstPacketSeen uint8 // 1 orig, 2 resp

	hist               [40]byte
	origRare, respRare rare
}

// Segment is what the analyzer reads of one TCP segment.
type Segment struct {
	Seq, Ack uint32
	Window   uint16
	// Flags is the flags byte of the TCP header; the analyzer reads FIN,
	// SYN, RST and ACK.
	Flags uint8
	// Len is the payload length from the IP header; Captured is how much
	// of it the capture holds. Zeek does not reassemble a segment whose
	// payload the snaplen cut, so the ACK for it reveals a content gap ('g').
	Len, Captured int
}

// The bits of Segment.Flags, as the TCP header has them.
const (
	FIN uint8 = 0x01
	SYN uint8 = 0x02
	RST uint8 = 0x04
	ACK uint8 = 0x10
)

// Observe takes every segment of the connection in capture order; fromOrig
// says whether it was sent by the originator (our client: the SYN sender).
func (z *Conn) Observe(fromOrig bool, seg *Segment) {
	if !z.started {
		z.started = true
		z.orig.init(&z.origRare)
		z.resp.init(&z.respRare)
	}
	e, p := &z.orig, &z.resp
	if !fromOrig {
		e, p = p, e
	}
	if seg.Flags&(SYN|FIN|RST) == 0 && z.firstPacketSeen == 3 &&
		e.state != Inactive && e.state != Reset && p.state != Inactive {
		z.ordinary(fromOrig, e, p, seg)
		return
	}
	flags := seg.Flags
	syn, fin, rst, ack := flags&SYN != 0, flags&FIN != 0, flags&RST != 0, flags&ACK != 0
	n, captured := seg.Len, seg.Captured

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

	z.updateHistory(fromOrig, z.rare(fromOrig), flags, relSeq, n)

	// update_window: only its zero-window accounting shows in the history.
	// A 16-bit window shifted by a scale of at most 14 is zero only if it
	// was zero, so the scale need not be kept.
	if seg.Window == 0 && !rst && p.state != Closed && e.state != Reset {
		z.scaled(fromOrig, 'W', &z.rare(fromOrig).win0)
	}

	if fin {
		e.finSeen = true
		e.finSeq = relSeq + uint64(int64(segLen))
	}

	var relAck uint64
	if ack {
		if p.state == Inactive {
			relAck = 1
			p.initPeer(seg.Ack)
		} else {
			relAck = p.acked(seg.Ack, !rst)
		}
	}

	z.updateLastSeq(fromOrig, e, seqEnd, flags, n)

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
		e.connectionClosed()
	}
}

// ordinary is Observe for most segments: without SYN, FIN or RST, once
// both sides have been seen, neither is inactive and the sender has not
// reset. Such a segment changes no endpoint's state and logs only
// letters that Observe logs once (D, A) or counts (W, T, G).
func (z *Conn) ordinary(fromOrig bool, e, p *endpoint, seg *Segment) {
	n := seg.Len
	ack := seg.Flags&ACK != 0
	relSeq, underflow := e.relativeSeq(seg.Seq, e.lastSeq, e.seqWraps)
	switch {
	case n > 0:
		z.checkHistory(fromOrig, histData, 'D')
	case ack:
		z.checkHistory(fromOrig, histACK, 'A')
	}
	if seg.Window == 0 && p.state != Closed {
		z.scaled(fromOrig, 'W', &z.rare(fromOrig).win0)
	}
	var relAck uint64
	if ack {
		relAck = p.acked(seg.Ack, true)
	}
	// update_last_seq
	if seqEnd := seg.Seq + uint32(n); seqDelta(seqEnd, e.lastSeq) > 0 {
		e.setLastSeq(seqEnd)
	} else if n > 0 {
		z.scaled(fromOrig, 'T', &z.rare(fromOrig).rxmt)
	}
	if ack {
		z.ackReceived(!fromOrig, p, relAck)
	}
	if n > 0 && !underflow && seg.Captured >= n {
		z.dataSent(fromOrig, e, relSeq, uint64(n))
	}
}

// rare is the rare state of the originator's side when orig, else of the
// responder's.
func (z *Conn) rare(orig bool) *rare {
	if orig {
		return &z.origRare
	}
	return &z.respRare
}

func (e *endpoint) init(r *rare) {
	e.lastReassem, e.trimSeq = 1, 1
	r.rxmt.thresh, r.win0.thresh, r.gap.thresh = 1, 1, 1
}

func (e *endpoint) setState(s EndpointState) {
	if s != e.state {
		e.prevState = e.state
		e.state = s
	}
}

func seqDelta(a, b uint32) int32 { return int32(a - b) }

func (e *endpoint) startAll(seq, last uint32) {
	e.startSeq = seq
	e.ackSeq = seq
	e.lastSeq = last
}

// initEndpoint is init_endpoint: it (re)starts the sequence space of the
// sender on its first segment or on a SYN that moves it.
func (e *endpoint) initEndpoint(syn bool, seq, last uint32) {
	switch e.state {
	case Inactive:
		if syn {
			e.ackSeq = seq
			e.startSeq = seq
		} else {
			// A partial connection: number as though a SYN had been seen.
			e.ackSeq = seq - 1
			e.startSeq = seq - 1
			last = seq
		}
		e.lastSeq = last
	case SynSent, SynAckSent:
		if syn && seq != e.startSeq {
			e.startAll(seq, last)
		}
	case Established, Partial:
		if syn {
			e.startAll(seq, last)
		}
	case Reset:
		if syn && e.prevState == Inactive {
			e.startAll(seq, last)
		}
	}
}

// initPeer is init_peer: the first ACK for a silent peer starts its
// sequence space as though its SYN had been seen.
func (e *endpoint) initPeer(ack uint32) {
	e.startSeq = ack - 1
	e.ackSeq = ack - 1
	e.lastSeq = ack - 1
}

func (e *endpoint) toRelative(seq, wraps uint32) uint64 {
	return uint64(wraps)<<32 + uint64(seq) - uint64(e.startSeq)
}

// relativeSeq is get_relative_seq; underflow reports a number before the
// start of the sequence space.
func (e *endpoint) relativeSeq(cur, last, wraps uint32) (uint64, bool) {
	d := seqDelta(cur, last)
	if d > 0 && cur < last {
		wraps++
	} else if d < 0 && cur > last && wraps > 0 {
		wraps--
	}
	if wraps > 0 {
		return e.toRelative(cur, wraps), false
	}
	d = seqDelta(cur, e.startSeq)
	return uint64(int64(d)), d < 0
}

// acked is the ACK number ack relative to e's sequence space (0 when it
// is behind its start), which moves e's highest ACK seen on when update.
func (e *endpoint) acked(ack uint32, update bool) uint64 {
	rel, under := e.relativeSeq(ack, e.ackSeq, e.ackWraps)
	if under {
		return 0
	}
	if update {
		e.updateAckSeq(ack)
	}
	return rel
}

func (e *endpoint) updateAckSeq(ack uint32) {
	d := seqDelta(ack, e.ackSeq)
	if ack == 0 && d > tooLargeSeqDelta {
		return // more likely a broken ACK than a wrap onto zero
	}
	if d > 0 {
		if ack < e.ackSeq {
			e.ackWraps++
		}
		e.ackSeq = ack
	}
}

func (e *endpoint) setLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

// updateLastSeq is update_last_seq, where Zeek counts a retransmission:
// payload that does not reach past the highest sequence number seen.
func (z *Conn) updateLastSeq(fromOrig bool, e *endpoint, last uint32, flags uint8, n int) {
	d := seqDelta(last, e.lastSeq)
	switch {
	case flags&(SYN|RST) != 0 && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
	case flags&FIN != 0 && int64(e.lastSeq) == int64(e.startSeq)+1:
		e.setLastSeq(last)
	case e.state == Reset:
	case d > 0:
		e.setLastSeq(last)
	case n > 0:
		z.scaled(fromOrig, 'T', &z.rare(fromOrig).rxmt)
	}
}

func (e *endpoint) noDataAcked() bool {
	a := uint64(e.ackWraps)<<32 + uint64(e.ackSeq)
	s := uint64(e.startSeq)
	return a == s || a == s+1
}

// size is TCP_Endpoint::Size, the payload bytes conn_state needs to tell
// REJ from RSTO/RSTR when both sides reset.
func (e *endpoint) size(peer *endpoint) uint64 {
	if e.prevState == SynSent && e.state == Reset && peer.state == Inactive && !e.noDataAcked() {
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
	if e.finSeen && s != 0 {
		s--
	}
	return s
}

func (z *Conn) setPartialStatus(fromOrig, syn, ack bool) {
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

func (z *Conn) addHistory(c byte) {
	if int(z.histLen) < len(z.hist) {
		z.hist[z.histLen] = c
		z.histLen++
	}
}

// checkHistory is Connection::CheckHistory: a letter is logged only the
// first time its mask is seen. It reports whether the mask had been seen.
func (z *Conn) checkHistory(fromOrig bool, mask uint32, code byte) bool {
	if !fromOrig {
		mask <<= histRespShift
		code = lower(code)
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
func (z *Conn) scaled(fromOrig bool, code byte, c *scaled) {
	c.cnt++
	if c.cnt != c.thresh {
		return
	}
	if !fromOrig {
		code = lower(code)
	}
	z.addHistory(code)
	if next := c.thresh * historyBase; next <= c.thresh {
		c.cnt = 0
	} else {
		c.thresh = next
	}
}

func lower(c byte) byte { return c | 0x20 }

// updateHistory is update_history. S, H, F and R repeat when their
// sequence number differs from the last one of the same kind; the others
// are logged once per direction.
func (z *Conn) updateHistory(fromOrig bool, r *rare, flags uint8, relSeq uint64, n int) {
	switch ctl := flags & (SYN | FIN | RST); {
	case ctl == 0:
		if n > 0 {
			z.checkHistory(fromOrig, histData, 'D')
		} else if flags&ACK != 0 {
			z.checkHistory(fromOrig, histACK, 'A')
		}
	case ctl&(ctl-1) != 0: // more than one
		if ctl&(FIN|RST) == FIN|RST {
			z.checkHistory(fromOrig, histFINRST, 'I')
		} else {
			z.checkHistory(fromOrig, histMulti, 'Q')
		}
	case ctl == SYN:
		code := byte('S')
		if flags&ACK != 0 {
			code = 'H'
		}
		if z.checkHistory(fromOrig, histSYN, code) && relSeq != r.histLastSYN {
			z.addHistoryFrom(fromOrig, code)
		}
		r.histLastSYN = relSeq
	case ctl == FIN:
		// A FIN's number is at the end of its data.
		at := relSeq + uint64(n)
		if z.checkHistory(fromOrig, histFIN, 'F') && at != r.histLastFIN {
			z.addHistoryFrom(fromOrig, 'F')
		}
		r.histLastFIN = at
	default: // RST
		if z.checkHistory(fromOrig, histRST, 'R') && relSeq != r.histLastRST {
			z.addHistoryFrom(fromOrig, 'R')
		}
		r.histLastRST = relSeq
	}
}

func (z *Conn) addHistoryFrom(fromOrig bool, code byte) {
	if !fromOrig {
		code = lower(code)
	}
	z.addHistory(code)
}

// updateStateMachine is UpdateStateMachine and the Update*State functions
// it calls; it reports whether the segment closes the sender's side.
func (z *Conn) updateStateMachine(fromOrig bool, e, p *endpoint, seg *Segment, n int) bool {
	f := seg.Flags
	syn, fin, rst, ack := f&SYN != 0, f&FIN != 0, f&RST != 0, f&ACK != 0
	doClose := false

	switch e.state {
	case Inactive:
		if syn {
			if fromOrig {
				if ack {
					e.setState(SynAckSent)
				} else {
					e.setState(SynSent)
				}
			} else {
				if !ack && p.state == SynAckSent && seg.Seq == e.startSeq {
					// Zeek flips roles here (a SYN-ACK seen before its
					// SYN); roles are the caller's, so only the states move.
					p.setState(Established)
				}
				if p.state == SynSent {
					p.setState(Established)
				}
				e.setState(Established)
			}
		}
		if fin {
			e.setState(Closed)
			doClose = true
		}
		if rst {
			e.setState(Reset)
			doClose = true
		}
		if e.state == Inactive {
			switch {
			case !fromOrig && n == 0 && z.orig.state == SynSent:
				// An ACK of the SYN before the SYN-ACK: not partial.
			case ack && p.state == Established:
				// The SYN was missed but the SYN-ACK seen.
				e.setState(Established)
				z.isPartial = false
			default:
				e.setState(Partial)
			}
		}

	case SynSent, SynAckSent:
		if fin {
			e.setState(Closed)
			doClose = true
		}
		if rst {
			e.setState(Reset)
			doClose = true
		}

	case Established, Partial:
		if syn && e.state == Partial && p.state == Inactive && !ack {
			e.setState(SynSent)
		}
		if fin && !rst {
			e.setState(Closed)
			if p.state == Reset && p.prevState == Closed {
				// FIN then RST from the peer was a normal close.
				p.setState(Closed)
			}
			doClose = true
		}
		if rst {
			e.setState(Reset)
			doClose = true
		}

	case Closed:
		// After a FIN exchange a RST changes nothing.
		if rst && p.state != Closed {
			e.setState(Reset)
			if !e.didClose {
				doClose = true
			}
		}

	case Reset:
	}
	return doClose
}

// connectionClosed is ConnectionClosed without the deferral for pending
// data: it marks the side closed.
func (e *endpoint) connectionClosed() { e.didClose = true }

func isClean(a *endpoint) bool {
	return a.state == Established || a.state == Closed && a.prevState == Established
}

// dataSent is TCP_Reassembler::DataSent and NewBlock for e's payload
// [seq, seq+n), in e's relative numbers.
func (z *Conn) dataSent(fromOrig bool, e *endpoint, seq, n uint64) {
	if e.skip {
		return
	}
	r := z.rare(fromOrig)
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
		e.insertBlock(r, seq, upper)
	} else if upper > e.lastReassem {
		// BlockInserted: a leading hole filled, deliver what follows and
		// stop holding data nobody acks.
		e.lastReassem = upper
		e.deliverBuffered(r)
		peer := &z.resp
		if !fromOrig {
			peer = &z.orig
		}
		if e.noDataAcked() && e.size(peer) > maxInitialWindow {
			e.trimTo(r, e.lastReassem)
		}
	}
	if e.noDataAcked() && e.undelivered(r) > maxAboveHole {
		e.nblocks = 0
		e.skip = true
	}
	if e.buffered(r) > excessiveData {
		e.nblocks = 0
		e.skip = true
	}
}

// deliverBuffered moves lastReassem over held blocks it now reaches.
func (e *endpoint) deliverBuffered(r *rare) {
	for {
		moved := false
		for i := 0; i < int(e.nblocks); i++ {
			b := r.blocks[i]
			if b.seq <= e.lastReassem {
				if b.upper > e.lastReassem {
					e.lastReassem = b.upper
				}
				e.removeBlock(r, i)
				moved = true
				break
			}
		}
		if !moved {
			return
		}
	}
}

func (e *endpoint) removeBlock(r *rare, i int) {
	copy(r.blocks[i:e.nblocks], r.blocks[i+1:e.nblocks])
	e.nblocks--
}

// insertBlock holds [seq, upper) above a hole, keeping blocks sorted and
// disjoint; when all slots are taken the new range joins its neighbour.
func (e *endpoint) insertBlock(r *rare, seq, upper uint64) {
	i := 0
	for i < int(e.nblocks) && r.blocks[i].upper < seq {
		i++
	}
	// Merge with every block that overlaps or touches [seq, upper).
	j := i
	for j < int(e.nblocks) && r.blocks[j].seq <= upper {
		seq = min(seq, r.blocks[j].seq)
		upper = max(upper, r.blocks[j].upper)
		j++
	}
	if j > i {
		r.blocks[i] = block{seq, upper}
		copy(r.blocks[i+1:], r.blocks[j:e.nblocks])
		e.nblocks -= uint8(j - i - 1)
		return
	}
	if int(e.nblocks) == maxBlocks {
		k := min(i, maxBlocks-1)
		r.blocks[k].seq = min(r.blocks[k].seq, seq)
		r.blocks[k].upper = max(r.blocks[k].upper, upper)
		return
	}
	copy(r.blocks[i+1:e.nblocks+1], r.blocks[i:e.nblocks])
	r.blocks[i] = block{seq, upper}
	e.nblocks++
}

func (e *endpoint) undelivered(r *rare) uint64 {
	if e.nblocks == 0 {
		return 0
	}
	return r.blocks[e.nblocks-1].upper - e.lastReassem
}

func (e *endpoint) buffered(r *rare) uint64 {
	s := uint64(0)
	if e.lastReassem > e.trimSeq {
		s = e.lastReassem - e.trimSeq
	}
	for _, b := range r.blocks[:e.nblocks] {
		s += b.upper - b.seq
	}
	return s
}

// trimTo drops what lies below seq without reporting gaps.
func (e *endpoint) trimTo(r *rare, seq uint64) {
	for e.nblocks > 0 && r.blocks[0].upper <= seq {
		e.removeBlock(r, 0)
	}
	e.trimSeq = seq
}

// ackReceived is TCP_Reassembler::AckReceived and DataBlockList::Trim for
// e's data: an ACK past what was delivered reveals a content gap.
func (z *Conn) ackReceived(fromOrig bool, e *endpoint, seq uint64) {
	if e.finSeen && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq > e.trimSeq {
		z.trim(fromOrig, e, z.rare(fromOrig), seq)
	}
}

// trim is ackReceived for an ACK above the trim point.
func (z *Conn) trim(fromOrig bool, e *endpoint, r *rare, seq uint64) {
	if seq > e.lastReassem {
		z.undelivered(fromOrig, e, r, seq)
	}
	for e.nblocks > 0 && r.blocks[0].upper <= seq {
		e.removeBlock(r, 0)
	}
	if e.nblocks > 0 && r.blocks[0].seq == e.lastReassem {
		e.deliverBuffered(r)
	}
	e.trimSeq = seq
}

// undelivered is TCP_Reassembler::Undelivered: each hole below upTo is a
// gap, logged only while both sides are established or closing cleanly.
func (z *Conn) undelivered(fromOrig bool, e *endpoint, r *rare, upTo uint64) {
	if upTo <= 2 && z.isPartial {
		// The first ACK of a partial connection.
		return
	}
	peer := &z.resp
	if !fromOrig {
		peer = &z.orig
	}
	if !e.skip {
		for e.nblocks > 0 && r.blocks[0].seq < upTo {
			z.gap(fromOrig, e, r, peer)
			b := r.blocks[0]
			e.removeBlock(r, 0)
			e.lastReassem = max(e.lastReassem, b.upper)
			e.deliverBuffered(r)
		}
		if upTo > e.lastReassem {
			z.gap(fromOrig, e, r, peer)
		}
	}
	e.lastReassem = max(e.lastReassem, upTo)
}

func (z *Conn) gap(fromOrig bool, e *endpoint, r *rare, peer *endpoint) {
	if isClean(e) && isClean(peer) {
		z.scaled(fromOrig, 'G', &r.gap)
	}
}

// State is conn_state from base/protocols/conn/main.zeek.
func (z *Conn) State() string {
	os, rs := z.orig.state, z.resp.state
	oInactive := os == Inactive || os == Partial
	rInactive := rs == Inactive || rs == Partial
	switch {
	case rs == Reset:
		if os == SynSent || os == SynAckSent ||
			os == Reset && z.orig.size(&z.resp) == 0 && z.resp.size(&z.orig) == 0 {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == Reset:
		if rInactive {
			if z.rstos0() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == Closed && os == Closed:
		return "SF"
	case os == Closed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == Closed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == SynSent && rs == Inactive:
		return "S0"
	case os == Established && rs == Established:
		return "S1"
	}
	return "OTH"
}

// rstos0 matches the history against /\^?S[^HAFGIQ]*R.*/, anchored as
// Zeek's pattern equality is.
func (z *Conn) rstos0() bool {
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

// History is the connection's history string, as in conn.log.
func (z *Conn) History() string { return string(z.hist[:z.histLen]) }

// Histories gives out history strings, the same string for a history seen
// lately: most connections of a capture share a handful of histories, and
// this spares an allocation for each. The zero value is ready to use.
type Histories struct {
	cache [historyCache]string
}

const historyCache = 256

// Of is z.History(), from the cache when it holds it.
func (h *Histories) Of(z *Conn) string {
	b := z.hist[:z.histLen]
	x := uint32(2166136261)
	for _, c := range b {
		x = (x ^ uint32(c)) * 16777619
	}
	e := &h.cache[x%historyCache]
	if *e != string(b) {
		*e = string(b)
	}
	return *e
}

// Endpoint is one side's state and size (the bytes it sent, as Zeek's
// endpoint record gives them): the originator's when orig.
func (z *Conn) Endpoint(orig bool) (EndpointState, uint64) {
	if orig {
		return z.orig.state, z.orig.size(&z.resp)
	}
	return z.resp.state, z.resp.size(&z.orig)
}
