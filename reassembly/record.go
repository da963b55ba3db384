package reassembly

import "net/netip"

// Side names one end of a connection, or both, or neither.
type Side uint8

const (
	SideNone Side = iota
	SideClient
	SideServer
	SideBoth
)

var sideNames = [...]string{"none", "client", "server", "both"}

func (s Side) String() string { return sideNames[s&3] }

// Index is the place of a side, SideClient or SideServer, in the [2]
// arrays of per-side facts: 0 for the client, 1 for the server.
func (s Side) Index() int { return int(s-1) & 1 }

// Other is the opposite end: client for server and the reverse.
func (s Side) Other() Side {
	switch s {
	case SideClient:
		return SideServer
	case SideServer:
		return SideClient
	}
	return s
}

// CloseKind is how an incarnation ended, by the first rule that holds in
// contract.md: crossed FINs, both FINs, a RST, one FIN, nothing.
type CloseKind uint8

const (
	CloseOpen CloseKind = iota
	CloseHalf
	CloseRST
	CloseFIN
	CloseSimultaneous
)

var closeNames = [...]string{"open", "half", "rst", "fin", "simultaneous"}

func (k CloseKind) String() string { return closeNames[k%5] }

// FinalAck is what the capture shows of the ACK that ends a FIN close.
type FinalAck uint8

const (
	FinalAckNA          FinalAck = iota // no close by two FINs
	FinalAckSeen                        // the last FIN was acknowledged
	FinalAckNotObserved                 // both FINs, no ACK of the last one in the capture
	FinalAckLost                        // the passive closer sent its FIN again
	// FinalAckLate: the passive closer sent its FIN again sooner than a
	// retransmission timer could fire while the final ACK was on its way
	// (domain.md 3): not lost, only late.
	FinalAckLate
)

var finalAckNames = [...]string{"n/a", "seen", "not_observed", "lost", "late"}

func (f FinalAck) String() string {
	if int(f) < len(finalAckNames) {
		return finalAckNames[f]
	}
	return finalAckNames[FinalAckNA]
}

// Frame locates a packet as Wireshark numbers it: from 1 within its file.
// The zero Frame means "not seen".
type Frame struct {
	File int // index of the capture file
	N    int // frame number in that file, from 1
}

// Seen reports whether the frame refers to a packet.
func (f Frame) Seen() bool { return f.N > 0 }

// Event is one packet that proves something: when it was captured and where.
type Event struct {
	Time  int64 // Unix nanoseconds; 0 when not seen
	Frame Frame
}

// Seen reports whether the event happened in the capture.
func (e Event) Seen() bool { return e.Frame.N > 0 }

func (e *Event) set(seg *Segment) {
	e.Time = seg.Time
	e.Frame = Frame{seg.File, seg.Frame}
}

func (e *Event) setOnce(seg *Segment) {
	if !e.Seen() {
		e.set(seg)
	}
}

// Flow holds what one side of an incarnation sent, in its own sequence space.
// The fields most segments read or write come first, so that they share
// few cache lines; the rest is ordered by size, without padding. What only
// the tracker needs while the incarnation lasts is in its flowSide.
type Flow struct {
	// NextSeq is the sequence number after the side's highest byte, SYN
	// or FIN (snd_nxt), serially; FirstSeq (below) where it started.
	NextSeq uint32
	TSLast  uint32
	// AckHigh is the highest ACK number the side sent (valid when
	// AckSeen), serially; AckHighAtPeerResend (below) is what it was when
	// the peer first sent its FIN again after acknowledging this side's
	// FIN (valid when AckSeenAtPeerResend): how far the active closer had
	// acknowledged toward the passive FIN before the resend.
	AckHigh uint32
	// Timestamps (RFC 7323). TSKnown is false when no segment of this side
	// had its options captured; OptionsCut counts the segments whose
	// options the snaplen cut off (see TSUnknown).
	TSKnown    bool
	HasTS      bool // the side sent the timestamp option
	ZeroWindow bool
	AckSeen    bool

	Packets int
	// Advance counts the sequence space the side went through, without
	// wrapping: more than 2^32 means its sequence numbers wrapped.
	Advance int64
	// Bytes is the payload sent, counting retransmitted bytes once.
	Bytes int64
	// DataStart is the first payload byte's time, to measure wrap speed.
	DataStart  int64
	TSLastTime int64
	OptionsCut int

	FIN          Event // first FIN
	RST          Event // first RST
	AckOfPeerFIN Event // the first segment acknowledging the peer's FIN
	// FINRetransAfterAck is the first FIN sent again after this side had
	// acknowledged the peer's FIN: the evidence of a lost final ACK.
	FINRetransAfterAck Event
	SYN                Event // its SYN (client) or SYN+ACK (server)

	// Wrapped is when Advance first passed 2^32 (0: never).
	Wrapped       int64
	SYNRetrans    int // the same SYN sent again
	SYNCount      int // SYN segments in all
	FINRetrans    int // the same FIN sent again
	AcksOfPeerFIN int // segments acknowledging the peer's FIN
	RSTCount      int
	TSFirstTime   int64

	ISN                 uint32 // sequence number of the SYN; valid when SYN is seen
	FirstSeq            uint32
	FINSeq              uint32 // sequence number the FIN occupies
	FINAck              uint32 // ACK number carried by the first FIN
	AckHighAtPeerResend uint32
	TSFirst             uint32

	FINOnData           bool // the FIN rode on a data segment
	FINHasAck           bool
	AckSeenAtPeerResend bool
	RSTWithAck          bool
	SYNHasTS            bool
	// SYNOptionsCut is true when the snaplen cut the options of the SYN.
	SYNOptionsCut bool
}

// TSUnknown reports whether the capture cannot tell if this side sent
// timestamps: none was seen, and the snaplen cut the options of some of its
// segments. Then HasTS false means "unknown", not "no".
func (f *Flow) TSUnknown() bool { return !f.HasTS && f.OptionsCut > 0 }

// SYNTSUnknown is the same for the side's SYN: it was seen with its
// options cut off.
func (f *Flow) SYNTSUnknown() bool { return f.SYN.Seen() && !f.SYNHasTS && f.SYNOptionsCut }

// Summary is what an incarnation leaves behind for the next one on the
// same four-tuple: enough to judge reuse inside TIME_WAIT, sequence overlap
// and old duplicates, without keeping the record. The tracker remembers
// one for each of many four-tuples in this same form, so it stays small:
// the addresses are the four-tuple's (Record.PrevClient, PrevServer).
type Summary struct {
	ID         int
	CloseTime  int64
	CloseFrame Frame
	End        int64
	// Per side of the previous incarnation, by Side.Index (its client,
	// then its server): ISN, final sequence (snd_nxt) and the last
	// timestamp sent.
	ISN, Final, TSLast [2]uint32
	SYNSeen, HasTS     [2]bool
	// TSUnknown: the snaplen cut the options, HasTS false says nothing.
	TSUnknown [2]bool
	Partial   bool
	// Turned is true when the roles turned round: the previous
	// incarnation's server is this one's client.
	Turned                        bool
	Close                         CloseKind
	Closer, RSTBy, TimeWaitHolder Side
	lo                            Side // the side at the four-tuple key's lo end
}

// Record is everything the capture shows of one incarnation of a
// four-tuple. The tracker hands it over once the incarnation is finished;
// it holds no pointers into tracker state.
type Record struct {
	ID             int
	Client, Server netip.AddrPort

	// The fields that hold pointers come first: the garbage collector
	// scans a Record only up to its last pointer, and the rest (the
	// per-side facts) is most of its size.

	ZeekState string
	History   string

	// OldDup is the first segment that belongs to Prev rather than to this
	// incarnation; OldDups counts them.
	OldDups int
	OldDup  OldDuplicate

	// SuspectSegments counts the segments the receiver would not have
	// accepted (RFC 9293 3.10.7, RFC 5961; accept.go): they were not
	// applied to the close facts. Suspect is the first of them that would
	// have changed a verdict (closer, close kind, TIME_WAIT holder), and
	// SuspectVerdicts counts those.
	SuspectSegments int
	SuspectVerdicts int
	Suspect         *SuspectSegment // nil: none

	// StaleState is set when the peer answered this SYN with an ACK of an
	// older state of the four-tuple (a challenge ACK) that the client then
	// reset: the peer still held the four-tuple and refused its reuse.
	StaleState *StaleState // nil: none

	Start, End int64
	FirstFrame Frame
	LastFrame  Frame
	Packets    int

	// Partial is true when the client's SYN is not in the capture: the
	// connection started before the capture or its SYN was missed.
	Partial bool
	// Evicted is true when the tracker closed the incarnation out because
	// it stayed idle past the idle bound, not because the capture ended.
	Evicted bool
	// HalfOpenEvicted is true when the tracker closed the incarnation out
	// before its handshake completed because more half-open incarnations
	// than Config.MaxHalfOpen were held (a SYN flood or a scan).
	HalfOpenEvicted bool
	// HasPrev: Prev below is the previous incarnation.
	HasPrev bool
	// Duplicates counts packets of this incarnation captured twice (the
	// same packet seen on two interfaces): they were counted once.
	Duplicates int

	C, S Flow // client and server side

	Closer         Side
	Close          CloseKind
	RSTBy          Side
	TimeWaitHolder Side
	FinalAck       FinalAck
	FINRetransmits int
	// CloseAt is the close as contract.md defines it for reuse gaps: the
	// first ACK of the last FIN (the later of the two when FINs crossed),
	// else the first RST, else the last packet.
	CloseAt Event

	// LostAck describes a lost final ACK (FinalAck == FinalAckLost), a late
	// one (FinalAckLate), or a resent passive FIN that recovered lost data
	// (LostAck.Recovery).
	LostAck LostAck
	// RTT is the handshake's round trip as the capture point saw it.
	RTT HandshakeRTT

	// Prev is the previous incarnation of the same four-tuple, when the
	// tracker still remembered it (HasPrev, with the flags above).
	Prev Summary
	// ReuseGap is the time from Prev's close to this incarnation's SYN;
	// valid when HasPrev and the client's SYN was seen.
	ReuseGap int64

	// SYNTSBehind describes this connection's SYN compared with the
	// timestamps seen before from the client's IP address.
	SYNTS SYNTimestamp
}

// SuspectReason is why a segment was not accepted.
type SuspectReason uint8

const (
	SuspectNone   SuspectReason = iota
	SuspectHeader               // the data offset runs past the packet
	SuspectSeq                  // the sequence number is outside the window
	SuspectAck                  // it acknowledges bytes never sent
	SuspectView                 // a second sequence view of the same SYN (a rewriting middlebox)
)

var suspectNames = [...]string{"", "header", "seq", "ack", "view"}

func (s SuspectReason) String() string { return suspectNames[s%5] }

// SuspectSegment is one segment that the receiver would have dropped.
type SuspectSegment struct {
	Event
	From     Side
	Seq, Ack uint32
	Flags    uint8
	Len      int
	Reason   SuspectReason
	// Expected is the sequence or acknowledgement number the receiver's
	// window was measured from, Window its size (0 when unknown).
	Expected uint32
	Window   uint32
	// Verdict is what the segment would have changed: VerdictClose (a RST:
	// the close kind), VerdictCloser (a first FIN), VerdictHolder (the
	// first ACK of the peer's FIN: the close completes, TIME_WAIT starts).
	Verdict Verdict
}

// Verdict names a close fact that a segment could change.
type Verdict uint8

const (
	VerdictNone Verdict = iota
	VerdictClose
	VerdictCloser
	VerdictHolder
)

var verdictNames = [...]string{"none", "close", "closer", "time_wait_holder"}

func (v Verdict) String() string { return verdictNames[v&3] }

// StaleState is the evidence of a peer that still held an older
// incarnation when the client's SYN came (RFC 5961 4, RFC 9293 3.10.7.4):
// its challenge ACK, and the client's RST that cleared it.
type StaleState struct {
	ChallengeACK Event
	Ack          uint32 // what the challenge ACK acknowledged: the old state
	RST          Event
	SYNAgain     bool // the same SYN was sent after the RST
}

// Seen reports whether the peer answered with a challenge ACK.
func (s *StaleState) Seen() bool { return s != nil && s.ChallengeACK.Seen() }

// PrevClient is the client of the previous incarnation (valid when
// HasPrev): the same four-tuple, with the roles turned round if Prev.Turned.
func (r *Record) PrevClient() netip.AddrPort {
	if r.Prev.Turned {
		return r.Server
	}
	return r.Client
}

// PrevServer is the server of the previous incarnation.
func (r *Record) PrevServer() netip.AddrPort {
	if r.Prev.Turned {
		return r.Client
	}
	return r.Server
}

// Flow returns the facts of one side (the client's for SideClient, the
// server's for SideServer).
func (r *Record) Flow(s Side) *Flow {
	if s == SideServer {
		return &r.S
	}
	return &r.C
}

// LostAck is the evidence of a lost final ACK: the passive closer's FIN
// sent again after it had acknowledged the active closer's FIN.
type LostAck struct {
	Retrans    Event // the first FIN sent again
	FinalAck   Event // the active closer's ACK of that FIN before it was sent again, if captured
	ReAck      Event // the active closer ACKing it again afterwards
	RST        Event // the active closer answering it with RST
	Passive    Side  // who sent its FIN again
	RSTWithAck bool
	// Recovery is true when the resend was loss recovery, not a lost final
	// ACK: the active closer's ACKs stopped below the passive FIN's sequence
	// number (Flow.AckHighAtPeerResend), or the capture sits at the active
	// closer and holds no ACK of the FIN before the resend (it never sent
	// one).
	Recovery bool
}

// HandshakeRTT is the round trip of the handshake as the capture point saw
// it, split by who contributes each part: the server's part is SYN to
// SYN+ACK (capture point to server and back), the client's part SYN+ACK to
// the client's ACK (capture point to client and back). Their sum is the
// whole round trip wherever the capture sits on the path.
type HandshakeRTT struct {
	Client, Server int64
	// When the SYN and SYN+ACK the parts are measured from were seen (the
	// last of each before the next step), while the handshake goes on.
	syn, synAck int64
	Known       bool  // both parts measured
	state       uint8 // 0 nothing, 1 SYN, 2 SYN+ACK, 3 done
}

// Total is the whole round trip (ns).
func (h HandshakeRTT) Total() int64 { return h.Client + h.Server }

// Part is what one side contributes: the time from the capture point to
// that side and back.
func (h HandshakeRTT) Part(s Side) int64 {
	if s == SideServer {
		return h.Server
	}
	return h.Client
}

// CapturePosition is where the capture point sits on the path, judged
// from the handshake: next to a host, its part of the round trip is only
// its own turnaround.
type CapturePosition uint8

const (
	PositionUnknown    CapturePosition = iota // in between, or the round trip too short to tell
	PositionNearClient                        // the client's part is a small share of the round trip
	PositionNearServer
)

var positionNames = [...]string{"unknown", "near_client", "near_server"}

func (p CapturePosition) String() string {
	if int(p) < len(positionNames) {
		return positionNames[p]
	}
	return positionNames[PositionUnknown]
}

// Near is the side the capture point sits next to, or SideNone.
func (p CapturePosition) Near() Side {
	switch p {
	case PositionNearClient:
		return SideClient
	case PositionNearServer:
		return SideServer
	}
	return SideNone
}

// Bounds for telling the capture position: below positionMinRTT the
// hosts' own turnaround (tens of microseconds, more under load) is as large
// as the path, so no side can be told; above it, the side whose part is at
// most 1/positionShare of the round trip is the one the capture sits next to.
const (
	positionMinRTT = int64(1e6) // 1 ms
	positionShare  = 5
)

// Position says where the capture point sits.
func (h HandshakeRTT) Position() CapturePosition {
	if !h.Known || h.Total() < positionMinRTT {
		return PositionUnknown
	}
	switch total := h.Total(); {
	case h.Client*positionShare <= total:
		return PositionNearClient
	case h.Server*positionShare <= total:
		return PositionNearServer
	}
	return PositionUnknown
}

// SYNTimestamp compares a SYN's TSval with what the same source IP sent
// just before it to the same server IP: the check Linux's tcp_tw_recycle
// made per peer (domain.md 5).
type SYNTimestamp struct {
	LatestAt   int64 // when Latest was sent
	LatestConn int   // the connection that sent it
	// RecycleConn is the connection whose last TSval (RecycleTS) the
	// server remembered, for Recycle.
	RecycleConn int
	// Unanswered counts the SYN sent again before any SYN+ACK came back:
	// how a silent drop (tcp_tw_recycle) shows in the capture.
	Unanswered int
	By         uint32 // how far behind, in TSval ticks
	Latest     uint32 // the latest TSval from the IP to that server
	RecycleTS  uint32
	Checked    bool // the SYN had a timestamp and the IP had sent one to that server within 60 s
	Behind     bool // the SYN's TSval is before the latest from the IP to that server
	// Recycle is true when the exact tcp_tw_recycle rule would drop the
	// SYN: this server held a connection from this IP in TIME_WAIT whose
	// last TSval, seen within 60 s, is ahead of the SYN's by more than 1.
	Recycle  bool
	Answered bool // a SYN+ACK came back
}

// OldDuplicate is one segment of a new incarnation that belongs to the
// previous one: its sequence number, acknowledgement or timestamp lie in
// the old incarnation's space, not the new one's.
type OldDuplicate struct {
	Event
	Len    int
	Reason string // "timestamp", "ack", "seq"
	Seq    uint32
	Ack    uint32
	TSval  uint32
	From   Side
	HasTS  bool
}

// The values of each enumeration in the order reports list them, and how
// many there are (for arrays indexed by value). Their names are String;
// reports and rules list them in these orders only.
var (
	// Sides: client, server, both, none; Sides[:3] are the sides that can
	// send something.
	Sides = [...]Side{SideClient, SideServer, SideBoth, SideNone}
	// CloseKinds: the clean closes first.
	CloseKinds = [...]CloseKind{CloseFIN, CloseSimultaneous, CloseRST, CloseHalf, CloseOpen}
	// FinalAcks: the lost ones first.
	FinalAcks = [...]FinalAck{FinalAckLost, FinalAckLate, FinalAckSeen, FinalAckNotObserved, FinalAckNA}
	// CapturePositions: the known ones first.
	CapturePositions = [...]CapturePosition{PositionNearClient, PositionNearServer, PositionUnknown}
)

const (
	NumSides      = len(sideNames)
	NumCloseKinds = len(closeNames)
	NumFinalAcks  = len(finalAckNames)
	NumPositions  = len(positionNames)
)
