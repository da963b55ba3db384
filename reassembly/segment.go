package reassembly

import "net/netip"

// TCP flag bits, as they sit in byte 13 of the TCP header.
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// Segment is the part of one captured TCP segment that connection tracking
// needs. The decoder fills it in place, so it holds no pointers into the
// packet buffer and costs nothing to reuse; it holds no pointers at all
// (the addresses are bytes, read through Src and Dst), so that the
// batches of segments on their way to the tracker cost the garbage
// collector nothing to scan. The decoder also computes the segment's flow
// key, hash and fingerprint from the raw header bytes, so that the tracker
// only looks it up.
type Segment struct {
	key  segKey // the four-tuple in canonical order: the addresses live there
	Time int64  // capture time, Unix nanoseconds

	File  int // index of the capture file in the order given
	Frame int // frame number within its file, from 1, as Wireshark counts

	// PayloadLen is the TCP payload length taken from the IP header's length
	// fields, so it stays right when the snaplen cut the payload off.
	PayloadLen int
	// Captured is how much of that payload the capture holds.
	Captured int

	Seq, Ack     uint32
	TSval, TSecr uint32

	SrcPort, DstPort uint16
	Window           uint16

	// IPID is the IPv4 identification field (0 for IPv6) and Checksum the
	// TCP checksum as captured: with the TCP fields they tell the same
	// packet captured twice from a retransmission, which gets a new IP ID
	// (and usually a new TSval, so a new checksum).
	IPID     uint16
	Checksum uint16

	Flags uint8
	// WScale is the window scale option's shift plus 1 (valid when
	// OptionsKnown; 0: no option), read on SYNs to bound the windows.
	WScale uint8

	// OptionsKnown is false when the snaplen cut into the TCP options: then
	// HasTS says nothing and TSval/TSecr are unknown, never guessed.
	OptionsKnown bool
	HasTS        bool
	// BadHeader is true when the TCP data offset runs past the packet's
	// length as the IP header gives it (not the snaplen): no stack accepts
	// such a segment (Linux tcp_v4_rcv drops it).
	BadHeader bool

	v6 bool // the addresses came in an IPv6 header (IPv4-mapped ones stay IPv6)
}

// Src is the sender's address.
func (s *Segment) Src() netip.Addr {
	if s.key.srcIsLo {
		return s.addr(&s.key.key.loAddr)
	}
	return s.addr(&s.key.key.hiAddr)
}

// Dst is the receiver's address.
func (s *Segment) Dst() netip.Addr {
	if s.key.srcIsLo {
		return s.addr(&s.key.key.hiAddr)
	}
	return s.addr(&s.key.key.loAddr)
}

func (s *Segment) addr(a *[16]byte) netip.Addr {
	if s.v6 {
		return netip.AddrFrom16(*a)
	}
	return netip.AddrFrom4([4]byte(a[12:16]))
}

// SetAddrs sets the sender's and the receiver's address, for segments made
// by hand rather than decoded; Tracker.Feed computes the key from them and
// the ports as they are then. Both are IPv6 when either is.
func (s *Segment) SetAddrs(src, dst netip.Addr) {
	s.v6 = !src.Is4() || !dst.Is4()
	a, b := src.As16(), dst.As16()
	s.key.set(&a, &b, s.SrcPort, s.DstPort)
}

// Has reports whether all of the given flag bits are set.
func (s *Segment) Has(flags uint8) bool { return s.Flags&flags == flags }

// flagNames are the TCP flags by bit, in the order Wireshark lists them.
var flagNames = [...]struct {
	bit  uint8
	name string
}{{FlagCWR, "CWR"}, {FlagECE, "ECE"}, {FlagURG, "URG"}, {FlagACK, "ACK"}, {FlagPSH, "PSH"},
	{FlagRST, "RST"}, {FlagSYN, "SYN"}, {FlagFIN, "FIN"}}

// FlagString names the flags set, as Wireshark does: "FIN, ACK".
func FlagString(flags uint8) string {
	s := ""
	for _, f := range flagNames {
		if flags&f.bit != 0 {
			if s != "" {
				s += ", "
			}
			s += f.name
		}
	}
	return s
}
