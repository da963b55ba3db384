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
// packet buffer and costs nothing to reuse.
type Segment struct {
	File  int   // index of the capture file in the order given
	Frame int   // frame number within its file, from 1, as Wireshark counts
	Time  int64 // capture time, Unix nanoseconds

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16

	Seq, Ack uint32
	Flags    uint8
	Window   uint16

	// IPID is the IPv4 identification field (0 for IPv6) and Checksum the
	// TCP checksum as captured: with the TCP fields they tell the same
	// packet captured twice from a retransmission, which gets a new IP ID
	// (and usually a new TSval, so a new checksum).
	IPID     uint16
	Checksum uint16

	// PayloadLen is the TCP payload length taken from the IP header's length
	// fields, so it stays right when the snaplen cut the payload off.
	PayloadLen int
	// Captured is how much of that payload the capture holds.
	Captured int

	// OptionsKnown is false when the snaplen cut into the TCP options: then
	// HasTS says nothing and TSval/TSecr are unknown, never guessed.
	OptionsKnown bool
	HasTS        bool
	TSval, TSecr uint32
	// WScale is the window scale option's shift plus 1 (valid when
	// OptionsKnown; 0: no option), read on SYNs to bound the windows.
	WScale uint8
	// BadHeader is true when the TCP data offset runs past the packet's
	// length as the IP header gives it (not the snaplen): no stack accepts
	// such a segment (Linux tcp_v4_rcv drops it).
	BadHeader bool
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
