package reassembly

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/twscope/twscope/reassembly/zeek"
)

// Config bounds what the tracker keeps, and selects packets. The zero
// value of a field means its default.
type Config struct {
	// Filter, when set, keeps only the packets it returns true for (a
	// compiled tcpdump expression, see NewFilter).
	Filter func(*Packet) bool

	// IdleTimeout closes out an incarnation that stayed silent this long,
	// as Zeek's tcp_inactivity_timeout does (default 5 minutes).
	IdleTimeout time.Duration
	// CloseLinger keeps a closed incarnation (both FINs acknowledged, or a
	// RST) this long after its last packet, so that a FIN sent again, the
	// ACK or RST answering it and stray late segments still find it
	// (default 20 s: a FIN retransmission backs off 0.2, 0.4, 0.8 ... s).
	CloseLinger time.Duration
	// ResetLinger is the same after a RST (default 5 s, Zeek's
	// tcp_reset_delay): both ends dropped the connection, so a segment
	// much later on the four-tuple belongs to something new.
	ResetLinger time.Duration
	// TupleMemory is how long a four-tuple's last incarnation is remembered
	// to judge the next one (default 5 minutes, above any TIME_WAIT
	// profile).
	TupleMemory time.Duration
	// TupleNeed is how long after its end a four-tuple's last incarnation
	// can still change what the consumer reports (the longest TIME_WAIT
	// it judges reuse by, plus a margin). When MaxTuples forces the
	// tracker to forget, it forgets older summaries first and does not
	// count them in TuplesForgotten (default: TupleMemory, so that every
	// summary forgotten early counts).
	TupleNeed time.Duration

	// Workers is how many goroutines Run uses: 1 reads, decodes and
	// tracks in the calling goroutine; 2 read and decode in a goroutine
	// of their own; 3 or more also run the tracker's partitions on
	// Workers-2 more (shard.go). Default: GOMAXPROCS (at most 17). The
	// records are the same bytes whatever the count.
	Workers int
	// NewRecord, when set, makes the tracker hand records over instead of
	// lending them: it fills each incarnation into a Record from NewRecord
	// (in any state; the tracker clears it) and never touches it again once
	// passed to emit, so the consumer may keep it rather than copy it, and
	// give it back through NewRecord when done. Called on the tracker's
	// goroutine.
	NewRecord func() *Record
	// Watermark, when set, is called after each sweep (every second of
	// capture time) with a time before which no record still to come
	// enters TIME_WAIT (both FINs, then the first ACK of a FIN, a RST or
	// its last packet) or, when it reuses a four-tuple, starts: what a
	// consumer needs to settle TIME_WAIT occupancy early.
	Watermark func(t int64)
	// Progress, when set, is called every 65536 packets from the goroutine
	// that reads, with the packets read and Source.Position.
	Progress func(packets int, bytes int64)

	// MaxHalfOpen bounds the half-open incarnations held at once: those
	// whose handshake has not completed and that carried no data both ways
	// (default 32768). Past it the oldest is closed out, marked
	// HalfOpenEvicted and counted: a SYN flood or a scan to millions of
	// four-tuples stays within fixed memory.
	MaxHalfOpen int
	// MaxTuples bounds the remembered summaries of finished four-tuples
	// (default 131072), and MaxClocks the per-address-pair timestamp clocks
	// (default 262144); past them the oldest are forgotten and counted
	// (four-tuples: those older than TupleNeed first and uncounted, then
	// failed connection attempts).
	MaxTuples, MaxClocks int
	// DupWindow is how far apart in time two copies of one packet may be
	// to count as a duplicate capture (default 5 ms, negative: off); see
	// dedup.go for how copies are told from retransmissions.
	DupWindow time.Duration
	// ReorderWindow is how much capture time Run holds segments back to
	// put them in time order, for a pcapng whose interfaces are written
	// out of order (default 50 ms, negative: off).
	ReorderWindow time.Duration
}

const (
	defaultIdle   = 5 * time.Minute
	defaultLinger = 20 * time.Second
	defaultReset  = 5 * time.Second
	defaultMemory = 5 * time.Minute
	sweepEvery    = int64(time.Second)
	// pawsMSL is TCP_PAWS_MSL: how long Linux trusts a remembered TSval.
	pawsMSL = int64(60 * time.Second)
	// maxSeqJump bounds how far one segment may move a side's sequence
	// space: further is a forged or corrupt segment, not data.
	maxSeqJump = 1 << 30
)

// TrackerStats counts what the tracker did.
type TrackerStats struct {
	Segments     int // TCP segments fed
	Connections  int // incarnations started
	Partial      int // of those, without the client's SYN
	Evicted      int // closed out for being idle
	OldDuplicate int // segments that belonged to a previous incarnation

	HalfOpenEvicted int // half-open incarnations closed out past MaxHalfOpen
	Duplicates      int // packets captured twice, counted once
	TuplesForgotten int // four-tuple summaries forgotten past MaxTuples
	ClocksForgotten int // address-pair clocks forgotten past MaxClocks

	Suspect int // segments the receiver would not have accepted (accept.go)
	// TimeJumps are the first segments whose capture time jumped by more
	// than maxTimeJump from the capture's running time (timejump.go);
	// TimeJumpCount counts them all.
	TimeJumps     []TimeJump
	TimeJumpCount int
}

// Tracker follows every four-tuple through its incarnations. Feed it the
// TCP segments of a capture in time order; it calls emit once for every
// incarnation as soon as it is finished, and for the rest at Flush.
type Tracker struct {
	cfg                              Config
	idle, linger, reset, tupleMemory int64
	tupleNeed                        int64
	maxTuples, maxClocks             int // the bounds of Config, checked every segment
	emit                             func(*Record)
	conns                            connTable
	tuples                           tupleMemory // the summary of each finished four-tuple (tuplesum.go)
	clocks                           clockTable
	// clockGen changes whenever clocks are forgotten, which invalidates
	// the indexes that conns keep of their senders' clocks.
	clockGen       uint32
	nextID         int
	now, lastSweep int64
	free           []int32 // conns to reuse, in conns
	stats          TrackerStats
	batch          []dueConn
	sink           uint64 // finishAll's loads ahead of time
	live           liveSet
	half           halfOpenQueue
	// jumpPending: the last segment's time jumped (timejump.go) to jumpTime.
	jumpPending bool
	clock       int64 // the capture's running time, for checkTime
	jumpTime    int64
	jumpFrame   Frame
	jumpConn    *conn
	jumpConnID  int
	freePend    *Segment // one spare for conn.pend
	histories   zeek.Histories
	// shard is set when the tracker is one partition of Run's sharded
	// tracker (shard.go): it hands out the IDs and sees the openings.
	shard *part
}

// NewTracker returns a tracker that hands finished incarnations to emit.
// The Record passed to emit is valid only during the call.
func NewTracker(cfg Config, emit func(*Record)) *Tracker {
	t := &Tracker{
		cfg:  cfg,
		emit: emit,
		// Not 0, the generation of a conn that has cached no clock.
		clockGen: 1,
	}
	// boundMemory prunes once one more than the bound is remembered.
	t.maxTuples = intOr(cfg.MaxTuples, defaultMaxTuples)
	t.maxClocks = intOr(cfg.MaxClocks, defaultMaxClocks)
	t.tuples.slab.limit = t.maxTuples + 1
	t.tuples.slab.bits = filterBits
	t.tuples.live = &t.conns.hashSlots
	t.idle = durationOr(cfg.IdleTimeout, defaultIdle)
	t.linger = durationOr(cfg.CloseLinger, defaultLinger)
	t.reset = durationOr(cfg.ResetLinger, defaultReset)
	t.tupleMemory = durationOr(cfg.TupleMemory, defaultMemory)
	t.tupleNeed = min(durationOr(cfg.TupleNeed, time.Duration(t.tupleMemory)), t.tupleMemory)
	return t
}

func durationOr(d, def time.Duration) int64 {
	if d <= 0 {
		d = def
	}
	return int64(d)
}

// Stats returns the counts so far.
func (t *Tracker) Stats() TrackerStats { return t.stats }

// Live is the number of incarnations held right now.
func (t *Tracker) Live() int { return t.conns.n }

// flowKey is a four-tuple in canonical order, so both directions of a
// connection find the same entry: lo is the smaller (address, port).
type flowKey struct {
	loAddr, hiAddr [16]byte
	loPort, hiPort uint16
}

// clockKey is the unit of every timestamp comparison (domain.md 5): the
// pair (sender IP, receiver IP). A server keeps its per-peer timestamp
// memory for the peers it sees, and a client stack draws its offsets per
// destination (or per four-tuple), so a SYN to one server is never judged
// against TSvals sent to another.
// The addresses are kept as 16 bytes (IPv4 mapped), without netip.Addr's
// pointer, so that the table costs the collector nothing to scan.
type clockKey struct{ src, dst [16]byte }

func clockKeyOf(src, dst netip.Addr) clockKey { return clockKey{src.As16(), dst.As16()} }

func compareClockKeys(a, b clockKey) int {
	if c := bytes.Compare(a.src[:], b.src[:]); c != 0 {
		return c
	}
	return bytes.Compare(a.dst[:], b.dst[:])
}

// ipClock is what one source address's timestamps toward one destination
// address looked like lately: the per-peer memory of Linux's
// tcp_tw_recycle, as the destination kept it.
type ipClock struct {
	latestAt   int64
	latestConn int
	// recycle is the client's last TSval when this server last put one of
	// the address's connections into TIME_WAIT (tcp_remember_stamp).
	recycleAt   int64
	recycleConn int
	latest      uint32 // the last TSval the address sent to the destination
	recycle     uint32
}

// conn is one live incarnation: the record being filled and the little
// state that is not part of it. The fields every segment reads come
// first, in as few cache lines as the key allows: a conn is cold by the
// time its next segment comes, and each line is a miss.
type conn struct {
	key         flowKey
	lo          Side // the side at the key's lo end
	closed      bool // both FINs acknowledged, or a RST: only lingers now
	halfOpen    bool // counted in Tracker.half
	lostAckAns  bool // the active closer's answer to a resent FIN was seen
	twoViews    bool // a second sequence view of the SYN was seen (accept.go)
	pendFrom    Side
	pendReady   bool
	pendVerdict bool // pend was counted as changing a verdict
	last        int64
	hash        uint64 // of key, in the flow table

	// The pointers next: the collector scans a conn only up to its last.
	*Record
	// pend is the last segment outside the window, kept until the peer
	// confirms its jump (pendReady) or goes on in the old numbers.
	pend *Segment
	// clk caches the index of the clock of each side's address (by
	// Side.Index) in Tracker.clocks, valid while clkGen matches
	// Tracker.clockGen.
	clkGen [2]uint32
	clk    [2]int32
	ref    int32 // index in Tracker.conns
	id     int   // Record.ID, kept when the record is handed over

	fs [2]flowSide // by Side.Index: the client's, the server's

	zeek zeek.Conn
}

// sideOf is the side that sent a segment, from whether its sender is the
// key's lo end.
func (c *conn) sideOf(srcIsLo bool) Side {
	if srcIsLo {
		return c.lo
	}
	return c.lo.Other()
}

// flowSide is one side's facts (its Flow in the record) and what only the
// tracker needs of that side while the incarnation lasts, kept in the conn
// so that the record carries none of it.
type flowSide struct {
	*Flow
	// What the side's peer would accept from it (accept.go): the highest
	// ACK the side sent, and its largest advertised window, scaled, when
	// the handshake gave the scale (winKnown).
	ackHigh uint32
	maxWin  uint32
	// jump: a segment outside the window put this side's sequence space
	// at jumpTo, by the side jumpBy, not yet confirmed (accept.go).
	jumpTo    uint32
	jumpStart uint32
	synAck    uint32 // ACK number of the first SYN+ACK
	synIPID   uint16
	seqKnown  bool // FirstSeq and NextSeq are set
	ackKnown  bool
	winKnown  bool
	wsOpt     bool
	shift     uint8
	jump      bool
	jumpBy    Side
}

// flows returns the side that sent a segment and its peer.
func (c *conn) flows(from Side) (sender, receiver *flowSide) {
	i := from.Index()
	return &c.fs[i], &c.fs[1-i]
}

// Feed takes the next TCP segment of the capture.
func (t *Tracker) Feed(seg *Segment) {
	var k segKey
	k.of(seg)
	t.feed(seg, &k)
}

// feed is Feed with the segment's key, hash and fingerprint computed
// already (by Run's reading goroutine).
func (t *Tracker) feed(seg *Segment, k *segKey) {
	t.stats.Segments++
	t.checkTime(seg)
	if seg.Time > t.now {
		t.now = seg.Time
	}
	if t.now-t.lastSweep >= sweepEvery {
		t.sweep()
	}
	if t.stats.Segments >= t.live.nextLinger {
		t.sweepLinger()
	}
	t.track(seg, k)
}

// track applies a segment to its four-tuple, once the capture-wide steps
// (the clock, sweeps) are done, and returns the incarnation it went to
// (nil: a duplicate). A partition of the sharded tracker calls it with
// those steps decided for the whole capture (shard.go).
func (t *Tracker) track(seg *Segment, k *segKey) *conn {
	key, srcIsLo, fp := &k.key, k.srcIsLo, k.fp
	syn := seg.Flags&FlagSYN != 0
	if syn {
		// A SYN mostly opens an incarnation: load what open reads, the
		// remembered four-tuples' filter word and the conn to reuse,
		// before the flow table lookup, so that the cache misses overlap.
		t.sink += t.tuples.slab.filterWord(k.hash)
		if n := len(t.free); n > 0 {
			t.sink += uint64(t.conns.at(t.free[n-1]).ref)
		}
	}
	c := t.conns.getHashed(key, k.hash)
	if c != nil && t.duplicate(c, seg, fp) {
		return nil
	}
	if c != nil {
		idle := seg.Time - c.last
		switch {
		case idle > t.idle && !t.continues(c, seg, c.sideOf(srcIsLo)):
			t.finish(c, true)
			c = nil
		case c.closed && idle > t.lingerOf(c) && !syn:
			t.finish(c, false)
			c = nil
		case syn && t.startsIncarnation(c, seg, c.sideOf(srcIsLo)):
			t.finish(c, false)
			c = nil
		}
	}
	if c == nil {
		c = t.open(*key, k.hash, seg, srcIsLo)
	}
	t.update(c, seg, c.sideOf(srcIsLo))
	if t.jumpPending {
		t.noteJumped(c, seg)
	}
	t.remember(c, seg, fp)
	t.live.touch(c, t.deadline(c), t.lingerSeg(c))
	t.boundMemory()
	return c
}

// openID is the ID of an incarnation being opened: the count of
// openings so far, or in a partition a provisional one (shard.go).
func (t *Tracker) openID(c *conn, h uint64) int {
	if t.shard != nil {
		return t.shard.opened(c, h)
	}
	t.nextID++
	return t.nextID
}

// lingerOf is how long a closed incarnation waits for late packets.
func (t *Tracker) lingerOf(c *conn) int64 {
	if c.C.RST.Seen() || c.S.RST.Seen() {
		return t.reset
	}
	return t.linger
}

// startsIncarnation decides whether a SYN or SYN+ACK on a known four-tuple
// begins a new incarnation: a SYN with a new ISN, a SYN after FIN or RST,
// or a SYN+ACK with a new ISN where the SYN is missing. A SYN sent again
// with the same ISN is a retransmission. Other segments never begin one:
// track asks only for SYNs.
func (t *Tracker) startsIncarnation(c *conn, seg *Segment, from Side) bool {
	ended := c.C.FIN.Seen() || c.S.FIN.Seen() || c.C.RST.Seen() || c.S.RST.Seen()
	if !seg.Has(FlagACK) {
		if from == SideServer {
			return true // the server side connects: roles turn round
		}
		if !c.C.SYN.Seen() {
			// Started mid-stream or with the SYN+ACK: this is the
			// missing SYN only if the SYN+ACK acknowledges it.
			return !(c.S.SYN.Seen() && !ended && seg.Seq+1 == c.fs[1].synAck)
		}
		return (seg.Seq != c.C.ISN || ended) && !(!ended && sameSYNOtherView(c, seg))
	}
	if from == SideClient {
		return ended && !c.C.SYN.Seen()
	}
	if c.S.SYN.Seen() {
		if seg.Seq == c.S.ISN {
			return false
		}
		return !(c.C.SYN.Seen() && seg.Ack == c.C.ISN+1)
	}
	if c.C.SYN.Seen() {
		return seg.Ack != c.C.ISN+1 && ended
	}
	return true
}

// open starts an incarnation with this segment, deciding the roles: the
// SYN's sender is the client, the SYN+ACK's the server; without either,
// the side with the lower (well-known) port is taken for the server.
// open starts an incarnation of the four-tuple key, whose hash (hashKey
// with flowSeed) is h.
func (t *Tracker) open(key flowKey, h uint64, seg *Segment, srcIsLo bool) *conn {
	var c *conn
	var r *Record
	if n := len(t.free); n > 0 {
		c, t.free = t.conns.at(t.free[n-1]), t.free[:n-1]
		r = c.Record
		ref := c.ref
		*c = conn{}
		c.ref = ref
		t.conns.dups(ref).reset()
	} else {
		c = t.conns.newConn()
	}
	if t.cfg.NewRecord != nil {
		r = t.cfg.NewRecord()
	}
	if r == nil {
		r = new(Record)
	}
	*r = Record{}
	c.Record = r
	c.fs[0].Flow, c.fs[1].Flow = &r.C, &r.S
	srcIsClient := true
	switch {
	case seg.Has(FlagSYN) && !seg.Has(FlagACK):
	case seg.Has(FlagSYN | FlagACK):
		srcIsClient = false
	default:
		srcIsClient = seg.SrcPort >= seg.DstPort
	}
	c.key = key
	c.lo = SideServer
	if srcIsLo == srcIsClient {
		c.lo = SideClient
	}
	src := netip.AddrPortFrom(seg.Src(), seg.SrcPort)
	dst := netip.AddrPortFrom(seg.Dst(), seg.DstPort)
	if srcIsClient {
		c.Client, c.Server = src, dst
	} else {
		c.Client, c.Server = dst, src
	}
	id := t.openID(c, h)
	c.ID, c.id = id, id
	c.Start = seg.Time
	c.FirstFrame = Frame{seg.File, seg.Frame}
	// The first packet is also the last so far, whatever its time (the
	// zero End must not outrank a time before 1970).
	c.End, c.LastFrame, c.last = seg.Time, c.FirstFrame, seg.Time
	if i, ok := t.tuples.lookup(&key, h); ok {
		prev := t.tuples.forget(i)
		if seg.Time-prev.End <= t.tupleMemory {
			c.HasPrev, c.Prev = true, prev
			c.Prev.Turned = prev.lo != c.lo
		}
	}
	t.tuples.opening(h)
	t.conns.putHashed(c, h)
	t.live.add(c, t.deadline(c), t.lingerSeg(c))
	t.stats.Connections++
	t.halfOpenAdd(c)
	return c
}

// update applies one segment to its incarnation.
func (t *Tracker) update(c *conn, seg *Segment, from Side) {
	s, r := c.flows(from)
	c.Packets++
	if seg.Time >= c.End { // a packet out of time order does not end it
		c.End = seg.Time
		c.LastFrame = Frame{seg.File, seg.Frame}
		c.last = seg.Time
	}
	s.Packets++

	if c.HasPrev && !seg.Has(FlagSYN) && t.oldDuplicate(c, seg, from) {
		return
	}
	c.zeek.Observe(from == SideClient, &zeek.Segment{Seq: seg.Seq, Ack: seg.Ack, Window: seg.Window,
		Flags: seg.Flags, Len: seg.PayloadLen, Captured: seg.Captured})
	if !t.accept(c, seg, s, r, from) {
		return
	}
	if c.pend != nil && c.pendReady {
		// A jump that the peer has now confirmed (accept.go): its first
		// segment counts after all, before this one.
		p, pf := c.pend, c.pendFrom
		c.pend, c.pendReady = nil, false
		ps, pr := c.flows(pf)
		t.apply(c, p, pf, ps, pr)
		t.freePend = p
	}
	t.apply(c, seg, from, s, r)
}

// apply applies an accepted segment, sent by from (s its flow, r the
// receiver's), to its incarnation's facts.
func (t *Tracker) apply(c *conn, seg *Segment, from Side, s, r *flowSide) {
	syn, fin, rst, ack := seg.Has(FlagSYN), seg.Has(FlagFIN), seg.Has(FlagRST), seg.Has(FlagACK)
	if seg.OptionsKnown {
		s.TSKnown = true
		if seg.HasTS {
			if !s.HasTS {
				s.HasTS = true
				s.TSFirst, s.TSFirstTime = seg.TSval, seg.Time
				s.TSLast, s.TSLastTime = seg.TSval, seg.Time
			} else if !serialBefore(seg.TSval, s.TSLast) {
				s.TSLast, s.TSLastTime = seg.TSval, seg.Time
			}
		}
	} else {
		s.OptionsCut++
	}
	if seg.Window == 0 && !syn && !rst {
		s.ZeroWindow = true
	}

	if syn {
		t.syn(c, s, seg, from, ack)
		t.synWindow(c, s, seg)
	}
	if c.RTT.state < hsDone {
		t.handshakeRTT(c, seg, from, syn, ack)
	}
	t.window(s, seg, syn, ack)
	t.advance(s, seg, syn, fin)

	if fin {
		finSeq := seg.Seq + uint32(seg.PayloadLen)
		if syn {
			finSeq++
		}
		switch {
		case !s.FIN.Seen():
			s.FIN.set(seg)
			s.FINSeq = finSeq
			s.FINOnData = seg.PayloadLen > 0
			s.FINHasAck, s.FINAck = ack, seg.Ack
		case finSeq == s.FINSeq:
			s.FINRetrans++
			if s.AckOfPeerFIN.Seen() && !s.FINRetransAfterAck.Seen() {
				s.FINRetransAfterAck.set(seg)
				r.AckHighAtPeerResend, r.AckSeenAtPeerResend = r.AckHigh, r.AckSeen
			}
		}
	}

	// What the active closer did after the passive closer sent its FIN
	// again: ACKed it from TIME_WAIT, or answered with RST.
	if r.FINRetransAfterAck.Seen() && !c.lostAckAns {
		switch {
		case rst:
			c.LostAck.RST.set(seg)
			c.LostAck.RSTWithAck = ack
			c.lostAckAns = true
		case ack && !serialBefore(seg.Ack, r.FINSeq+1):
			c.LostAck.ReAck.set(seg)
			c.lostAckAns = true
		}
	}

	if ack && r.FIN.Seen() && !serialBefore(seg.Ack, r.FINSeq+1) &&
		seg.Ack-r.FINSeq < maxSeqJump {
		s.AcksOfPeerFIN++
		if !s.AckOfPeerFIN.Seen() {
			s.AckOfPeerFIN.set(seg)
			c.closed = c.closed || r.AckOfPeerFIN.Seen() // both FINs acknowledged
			// The server enters TIME_WAIT when it ACKs the client's FIN
			// after sending its own, unless its FIN acknowledged the
			// client's: then it was the passive closer (LAST_ACK).
			if from == SideServer && s.FIN.Seen() && !(s.FINHasAck && !serialBefore(s.FINAck, r.FINSeq+1)) {
				t.rememberStamp(c)
			}
		}
	}

	if ack && !syn && !rst {
		ackHigh(s, seg)
	}

	if rst {
		s.RSTCount++
		if !s.RST.Seen() {
			s.RST.set(seg)
			s.RSTWithAck = ack
		}
		c.closed = true
	}

	// Only what clients send: a SYN is judged against the TSvals its IP
	// sent as a client to that server, the samples the NAT clocks are
	// fitted on (analyze/nat.go); a server's replies would double the
	// table for nothing.
	if seg.OptionsKnown && seg.HasTS && from == SideClient {
		clk := t.senderClock(c, seg, from, true)
		clk.latest, clk.latestAt, clk.latestConn = seg.TSval, seg.Time, c.ID
	}
	if c.halfOpen {
		t.halfOpenCheck(c, seg, from, r)
	}
}

// senderClock returns the clock of seg's (source, destination) address pair, made when new
// if create (else nil when there is none), through c's cache: about one
// map lookup per side of a conn, not one per segment. The pointer is
// valid until the next clock is made.
func (t *Tracker) senderClock(c *conn, seg *Segment, from Side, create bool) *ipClock {
	side := from.Index()
	if c.clkGen[side] == t.clockGen {
		return &t.clocks.s[c.clk[side]]
	}
	i := t.clocks.get(clockKeyOf(seg.Src(), seg.Dst()), create)
	if i < 0 {
		return nil
	}
	c.clk[side], c.clkGen[side] = i, t.clockGen
	return &t.clocks.s[i]
}

// syn records a SYN or SYN+ACK, and checks a client SYN's timestamp
// against what its address sent before to the same server address, and
// against the stamp that server remembered when it held one of the
// address's connections in TIME_WAIT.
func (t *Tracker) syn(c *conn, s *flowSide, seg *Segment, from Side, ack bool) {
	s.SYNCount++
	if !s.SYN.Seen() {
		s.SYN.set(seg)
		s.synAck = seg.Ack
		s.ISN = seg.Seq
		s.SYNHasTS = seg.OptionsKnown && seg.HasTS
		s.SYNOptionsCut = !seg.OptionsKnown
	} else if seg.Seq == s.ISN {
		s.SYNRetrans++
		if from == SideClient && !ack && !c.SYNTS.Answered {
			c.SYNTS.Unanswered++
		}
	}
	if from == SideServer {
		c.SYNTS.Answered = true
		return
	}
	if ack || c.SYNTS.Checked || !seg.OptionsKnown {
		return
	}
	clk := t.senderClock(c, seg, from, false)
	if clk == nil {
		return
	}
	if !seg.HasTS {
		if clk.recycleAt != 0 && seg.Time-clk.recycleAt < pawsMSL {
			c.SYNTS.Recycle, c.SYNTS.RecycleTS, c.SYNTS.RecycleConn = true, clk.recycle, clk.recycleConn
		}
		return
	}
	if seg.Time-clk.latestAt <= pawsMSL {
		c.SYNTS.Checked = true
		c.SYNTS.Latest, c.SYNTS.LatestAt, c.SYNTS.LatestConn = clk.latest, clk.latestAt, clk.latestConn
		if serialBefore(seg.TSval, clk.latest) {
			c.SYNTS.Behind = true
			c.SYNTS.By = clk.latest - seg.TSval
		}
	}
	// tcp_tw_recycle: drop when the remembered stamp is fresh and ahead of
	// the SYN's by more than TCP_PAWS_WINDOW (1).
	if clk.recycleAt != 0 && seg.Time-clk.recycleAt < pawsMSL && int32(clk.recycle-seg.TSval) > 1 {
		c.SYNTS.Recycle, c.SYNTS.RecycleTS, c.SYNTS.RecycleConn = true, clk.recycle, clk.recycleConn
	}
}

// Handshake steps seen, for HandshakeRTT.state.
const (
	hsNone uint8 = iota
	hsSYN
	hsSYNACK
	hsDone
)

// handshakeRTT measures the handshake's round trip in its two parts: from
// the last SYN before the SYN+ACK that acknowledges it, and from the last
// SYN+ACK before the client's ACK of it.
func (t *Tracker) handshakeRTT(c *conn, seg *Segment, from Side, syn, ack bool) {
	h := &c.RTT
	switch {
	case syn && !ack && from == SideClient:
		if h.state <= hsSYN {
			h.syn, h.state = seg.Time, hsSYN
		}
	case syn && ack && from == SideServer:
		if h.state >= hsSYN && seg.Ack == c.C.ISN+1 {
			if h.state == hsSYN {
				h.Server = seg.Time - h.syn
			}
			h.synAck, h.state = seg.Time, hsSYNACK
		}
	case !syn && ack && from == SideClient && h.state == hsSYNACK && seg.Ack == c.S.ISN+1:
		h.Client = seg.Time - h.synAck
		h.state, h.Known = hsDone, h.Client >= 0 && h.Server >= 0
	}
}

// ackHigh follows the highest ACK a side sent: how far the active closer
// had acknowledged toward the passive FIN when the FIN came again.
func ackHigh(s *flowSide, seg *Segment) {
	if !s.AckSeen || (serialBefore(s.AckHigh, seg.Ack) && seg.Ack-s.AckHigh < maxSeqJump) {
		s.AckHigh, s.AckSeen = seg.Ack, true
	}
}

// rememberStamp notes, when the server enters TIME_WAIT, the client's last
// TSval: what Linux kept per peer for tcp_tw_recycle, on that server only.
func (t *Tracker) rememberStamp(c *conn) {
	if !c.C.HasTS {
		return
	}
	clk := &t.clocks.s[t.clocks.get(clockKeyOf(c.Client.Addr(), c.Server.Addr()), true)]
	clk.recycle, clk.recycleAt, clk.recycleConn = c.C.TSLast, c.last, c.ID
}

// advance moves the sender's sequence space forward.
func (t *Tracker) advance(s *flowSide, seg *Segment, syn, fin bool) {
	n := uint32(seg.PayloadLen)
	if syn {
		n++
	}
	if fin {
		n++
	}
	end := seg.Seq + n
	if !s.seqKnown {
		s.seqKnown = true
		s.FirstSeq, s.NextSeq = seg.Seq, end
		s.Bytes = int64(seg.PayloadLen)
		s.Advance = int64(n)
		if seg.PayloadLen > 0 {
			s.DataStart = seg.Time
		}
		return
	}
	if seg.PayloadLen > 0 && s.DataStart == 0 {
		s.DataStart = seg.Time
	}
	step := end - s.NextSeq
	if step == 0 || step >= maxSeqJump {
		return // nothing new, behind, or not believable
	}
	s.NextSeq = end
	s.Advance += int64(step)
	fresh := int64(step)
	if fresh > int64(seg.PayloadLen) {
		fresh = int64(seg.PayloadLen)
	}
	s.Bytes += fresh
	if s.Wrapped == 0 && s.Advance >= 1<<32 {
		s.Wrapped = seg.Time
	}
}

// oldDuplicate reports whether a segment on a reused four-tuple belongs to
// the previous incarnation: it lies in the old sequence space and its
// timestamp is older than the new incarnation's first, or it acknowledges
// data the peer never sent in this incarnation, or its sequence number is
// outside the new space. Such segments are counted, not applied.
func (t *Tracker) oldDuplicate(c *conn, seg *Segment, from Side) bool {
	p := &c.Prev
	side := from.Index() // the sender's index in p
	if p.Turned {
		side = 1 - side
	}
	if !p.SYNSeen[side] || !inRange(seg.Seq, p.ISN[side], p.Final[side]) {
		return false
	}
	s, r := c.flows(from)
	reason := ""
	switch {
	case s.SYN.Seen() && s.SYNHasTS && seg.OptionsKnown && seg.HasTS && serialBefore(seg.TSval, s.TSFirst):
		reason = "timestamp"
	case seg.Has(FlagACK) && r.SYN.Seen() && r.seqKnown && !inRange(seg.Ack, r.ISN+1, r.NextSeq+1) &&
		inRange(seg.Ack, p.ISN[1-side], p.Final[1-side]+1):
		reason = "ack"
	case s.SYN.Seen() && s.seqKnown && serialBefore(seg.Seq, s.ISN):
		reason = "seq"
	default:
		return false
	}
	c.OldDups++
	t.stats.OldDuplicate++
	if c.OldDups == 1 {
		c.OldDup = OldDuplicate{From: from, Seq: seg.Seq, Ack: seg.Ack, Len: seg.PayloadLen,
			TSval: seg.TSval, HasTS: seg.OptionsKnown && seg.HasTS, Reason: reason}
		c.OldDup.set(seg)
	}
	return true
}

// inRange reports whether x lies in [lo, hi) in serial arithmetic.
func inRange(x, lo, hi uint32) bool { return x-lo < hi-lo }

// serialBefore reports whether a comes before b in 32-bit serial
// arithmetic (RFC 1982).
func serialBefore(a, b uint32) bool { return int32(a-b) < 0 }

// sweep closes out incarnations that lingered or idled past their bound and
// forgets four-tuples and address clocks too old to matter.
func (t *Tracker) sweep() {
	t.lastSweep = t.now
	// The watermark is of what is left once the batch is finished.
	var w int64
	t.batch, w = t.live.due(t.now, t.watermarkFloor(), t.batch[:0])
	t.finishAll(t.batch)
	if t.cfg.Watermark != nil {
		t.cfg.Watermark(w)
	}
	if t.now-t.live.lastForget < forgetEvery {
		return
	}
	t.live.lastForget = t.now
	t.tuples.forgetOlder(t.now, t.tupleMemory)
	if t.clocks.forgetOlder(t.now, pawsMSL) > 0 {
		t.clockGen++
	}
}

// dueConn is a conn to finish, with its ID to sort by without touching it.
type dueConn struct {
	id  int
	ref int32 // in Tracker.conns
}

// finishAll finishes incarnations in the order they started, so output
// never depends on map order. A partition of the sharded tracker leaves
// them in the order it found them: what it holds after finishing them
// does not depend on the order, and the coordinator sorts the records of
// all partitions by ID anyway (emitAll, emitPending).
func (t *Tracker) finishAll(cs []dueConn) {
	if t.shard == nil {
		slices.SortFunc(cs, func(a, b dueConn) int { return cmp.Compare(a.id, b.id) })
	}
	// Load what finishing touches first, each conn's record and the tuple
	// table slot its summary goes to, for all of them at once: the cache
	// misses overlap instead of coming one after another.
	sink := t.sink
	if mask := len(t.tuples.table.slots) - 1; mask > 0 {
		for _, d := range cs {
			c := t.conns.at(d.ref)
			sink += uint64(t.tuples.table.slots[home(tagOf(c.hash), mask)].tag) + uint64(c.Record.ID)
		}
	}
	t.sink = sink
	for _, d := range cs {
		c := t.conns.at(d.ref)
		t.finish(c, !c.closed && t.now-c.last > t.idle)
	}
}

// Flush finishes every incarnation still held, at the end of the capture.
func (t *Tracker) Flush() {
	t.batch = t.batch[:0]
	for i := range t.live.e {
		if id := t.live.e[i].id; id != 0 {
			t.batch = append(t.batch, dueConn{id, int32(i)})
		}
	}
	slices.SortFunc(t.batch, func(a, b dueConn) int { return cmp.Compare(a.id, b.id) })
	for _, d := range t.batch {
		// Dormant (continues, accept.go): idle past the bound already.
		c := t.conns.at(d.ref)
		t.finish(c, !c.closed && t.now-c.last > t.idle)
	}
}

// finish derives the close facts, hands the record over and remembers its
// summary for the four-tuple's next incarnation.
func (t *Tracker) finish(c *conn, evicted bool) {
	r := c.Record
	r.Evicted = evicted
	if evicted {
		t.stats.Evicted++
	}
	r.Partial = !r.C.SYN.Seen()
	if r.Partial {
		t.stats.Partial++
	}
	staleReset(r)
	deriveClose(r)
	if r.HasPrev && r.C.SYN.Seen() {
		r.ReuseGap = r.C.SYN.Time - r.Prev.CloseTime
	}
	r.ZeekState, r.History = c.zeek.State(), t.histories.Of(&c.zeek)
	t.halfOpenLeave(c)
	sum := summarize(r, c.lo)
	t.emit(r)
	if t.cfg.NewRecord != nil {
		c.Record = nil // the consumer's now
		c.fs[0].Flow, c.fs[1].Flow = nil, nil
	}
	t.tuples.remember(&c.key, c.hash, &sum)
	t.conns.del(c)
	t.live.remove(c)
	t.free = append(t.free, c.ref)
}

// deriveClose computes who closed, how, and who holds TIME_WAIT, from the
// per-side facts (domain.md section 2).
func deriveClose(r *Record) {
	cf, sf := r.C.FIN.Seen(), r.S.FIN.Seen()
	crossed := false
	switch {
	case cf && sf:
		switch {
		case r.S.FINHasAck && !serialBefore(r.S.FINAck, r.C.FINSeq+1):
			r.Closer = SideClient // the server's FIN acknowledges the client's
		case r.C.FINHasAck && !serialBefore(r.C.FINAck, r.S.FINSeq+1):
			r.Closer = SideServer
		default:
			r.Closer, crossed = SideBoth, true // both sent FIN before seeing the other's
		}
	case cf:
		r.Closer = SideClient
	case sf:
		r.Closer = SideServer
	}
	rst := r.C.RST.Seen() || r.S.RST.Seen()
	aborted := cf && sf && abortedBeforeDone(r, crossed)
	switch {
	case aborted:
		r.Close = CloseRST
	case crossed:
		r.Close = CloseSimultaneous
	case cf && sf:
		r.Close = CloseFIN
	case rst:
		r.Close = CloseRST
	case cf || sf:
		r.Close = CloseHalf
	}
	if r.C.RST.Seen() {
		r.RSTBy = SideClient
	}
	if r.S.RST.Seen() {
		r.RSTBy |= SideServer
	}
	r.FINRetransmits = r.C.FINRetrans + r.S.FINRetrans

	// A RST after the FINs means the side that sent it kept no TIME_WAIT
	// (it answered a FIN from a socket it no longer had), or that it
	// killed the peer's TIME_WAIT (RFC 1337): either way nobody holds it.
	switch {
	case rst:
	case crossed:
		r.TimeWaitHolder = SideBoth
	case cf && sf:
		r.TimeWaitHolder = r.Closer
	}

	r.FinalAck = FinalAckNA
	if cf && sf {
		r.FinalAck = FinalAckNotObserved
		if crossed {
			if r.C.AckOfPeerFIN.Seen() && r.S.AckOfPeerFIN.Seen() {
				r.FinalAck = FinalAckSeen
				r.CloseAt = r.C.AckOfPeerFIN
				if r.S.AckOfPeerFIN.Time > r.CloseAt.Time {
					r.CloseAt = r.S.AckOfPeerFIN
				}
			}
		} else if a := r.Flow(r.Closer); a.AckOfPeerFIN.Seen() {
			r.FinalAck = FinalAckSeen
			r.CloseAt = a.AckOfPeerFIN
		}
		deriveLostAck(r, crossed)
	}
	if !r.CloseAt.Seen() {
		switch {
		case r.C.RST.Seen() && (!r.S.RST.Seen() || r.C.RST.Time <= r.S.RST.Time):
			r.CloseAt = r.C.RST
		case r.S.RST.Seen():
			r.CloseAt = r.S.RST
		default:
			r.CloseAt = Event{Time: r.End, Frame: r.LastFrame}
		}
	}
}

// summarize is what r leaves behind for the four-tuple's next incarnation;
// lo is the side at the four-tuple key's lo end.
func summarize(r *Record, lo Side) Summary {
	s := Summary{
		ID: r.ID, Partial: r.Partial,
		Close: r.Close, Closer: r.Closer, RSTBy: r.RSTBy, TimeWaitHolder: r.TimeWaitHolder,
		CloseTime: r.CloseAt.Time, CloseFrame: r.CloseAt.Frame, End: r.End, lo: lo,
	}
	for _, side := range [2]Side{SideClient, SideServer} {
		i, f := side.Index(), r.Flow(side)
		s.ISN[i], s.Final[i], s.SYNSeen[i] = f.ISN, f.NextSeq, f.SYN.Seen()
		s.HasTS[i], s.TSLast[i] = f.HasTS, f.TSLast
		s.TSUnknown[i] = f.TSUnknown()
	}
	return s
}

// Linux's retransmission timers, for telling a late final ACK: the
// retransmission timeout is at least TCP_RTO_MIN (200 ms); a tail loss
// probe fires after about two round trips.
const (
	rtoMin       = int64(200e6)
	tlpRoundTrip = 2
)

// deriveLostAck judges a passive closer's FIN sent again after it had
// acknowledged the active closer's FIN (domain.md 3): a lost final ACK, a
// late one, or the recovery of data lost before the FIN.
func deriveLostAck(r *Record, crossed bool) {
	for _, passive := range [2]Side{SideClient, SideServer} {
		if !crossed && passive == r.Closer {
			continue
		}
		p, a := r.Flow(passive), r.Flow(passive.Other())
		if !p.FINRetransAfterAck.Seen() {
			continue
		}
		acked := a.AckOfPeerFIN.Seen() && a.AckOfPeerFIN.Time <= p.FINRetransAfterAck.Time
		// After crossed FINs neither side is passive: a FIN sent again
		// may as well mean the FIN itself was lost. Only an ACK of it
		// in the capture before the resend shows a lost final ACK.
		if crossed && !acked {
			continue
		}
		la := &r.LostAck
		la.Passive = passive
		la.Retrans = p.FINRetransAfterAck
		if acked {
			la.FinalAck = a.AckOfPeerFIN
		}
		switch {
		case finalAckLate(r, passive):
			r.FinalAck = FinalAckLate
		case !acked && lossRecovery(r, passive):
			la.Recovery = true // FinalAck stays seen or not_observed
		default:
			r.FinalAck = FinalAckLost
		}
		break
	}
}

// finalAckLate reports whether the passive FIN was sent again sooner than
// a retransmission timer could fire, while the final ACK was on its way:
// at the capture point the final ACK comes less than the active closer's
// part of the round trip after the resend (too soon to answer it), or
// less than the passive closer's part before it (too late to have
// reached the passive closer before it resent). The window is one round
// trip wide wherever the capture sits.
func finalAckLate(r *Record, passive Side) bool {
	p, a := r.Flow(passive), r.Flow(passive.Other())
	if !r.RTT.Known || !a.AckOfPeerFIN.Seen() {
		return false
	}
	resend := p.FINRetransAfterAck.Time
	if resend-p.FIN.Time >= min(rtoMin, tlpRoundTrip*r.RTT.Total()) {
		return false
	}
	d := a.AckOfPeerFIN.Time - resend
	return d > -r.RTT.Part(passive) && d < r.RTT.Part(passive.Other())
}

// lossRecovery reports whether a passive FIN sent again, with no ACK of it
// in the capture before, recovered a loss rather than a lost final ACK:
// the active closer can send the final ACK only once it has everything up
// to the FIN, and its ACKs stopped below the FIN's sequence number (data
// before the FIN missing, or the FIN out of order: the resent FIN or
// data+FIN recovers that data); or the capture sits next to the active
// closer, where its final ACK would be in the capture had it been sent.
func lossRecovery(r *Record, passive Side) bool {
	p, a := r.Flow(passive), r.Flow(passive.Other())
	if a.AckSeenAtPeerResend && serialBefore(a.AckHighAtPeerResend, p.FINSeq) &&
		p.FINSeq-a.AckHighAtPeerResend < maxSeqJump {
		return true
	}
	return r.RTT.Position().Near() == passive.Other()
}
