// Package synth writes synthetic TCP captures, for tests and benchmarks
// that need a case no real capture shows: each packet is built with
// gopacket's serializers and written with pcapgo, so what the tests read is
// a real pcap file.
package synth

import (
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer writes Ethernet frames into a classic pcap with nanosecond times.
type Writer struct {
	w      *pcapgo.Writer
	buf    gopacket.SerializeBuffer
	Now    time.Time // time of the next packet
	Frames int       // frames written so far
}

// Epoch is the default start time of a synthetic capture.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// NewWriter writes the pcap file header to w.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return &Writer{w: pw, buf: gopacket.NewSerializeBuffer(), Now: Epoch}, nil
}

// Advance moves the clock forward.
func (w *Writer) Advance(d time.Duration) { w.Now = w.Now.Add(d) }

// End is one side of a synthetic connection: its address and what it will
// put into the next segment it sends.
type End struct {
	Addr     netip.AddrPort
	Seq      uint32 // next sequence number to send
	Ack      uint32 // next sequence number expected from the peer
	TSval    uint32 // timestamp clock value; 0 with NoTS set sends no option
	NoTS     bool   // send no timestamp option
	TSecr    uint32 // last TSval received from the peer
	TSStep   uint32 // added to TSval after every segment sent
	Window   uint16
	NoUpdate bool // do not move Seq/Ack after sending (for crafted segments)
	// IPID is the IPv4 identification of the next segment (0: left 0);
	// when set it moves by one a segment.
	IPID uint16
}

// NewEnd returns an end at addr ("10.0.0.1:40000") with the given ISN.
func NewEnd(addr string, isn uint32, tsval uint32) *End {
	return &End{Addr: netip.MustParseAddrPort(addr), Seq: isn, TSval: tsval, Window: 64240, TSStep: 1}
}

// Flag bits for Send, as in the TCP header.
const (
	FIN = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// Send writes one segment from a to b with the given flags and payload
// length, using a's Seq/Ack/TSval, then moves a's sequence number past it
// and b's expectations (b.Ack, b.TSecr) as delivery would.
func (w *Writer) Send(a, b *End, flags int, payload int) error {
	return w.SendAt(a, b, flags, a.Seq, a.Ack, payload)
}

// SendAt writes a segment with explicit sequence and acknowledgement
// numbers (retransmissions, old duplicates, forged segments). a's state
// moves only when seq is a's next sequence number.
func (w *Writer) SendAt(a, b *End, flags int, seq, ack uint32, payload int) error {
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(a.Addr.Port()), DstPort: layers.TCPPort(b.Addr.Port()),
		Seq: seq, Ack: ack, Window: a.Window,
		FIN: flags&FIN != 0, SYN: flags&SYN != 0, RST: flags&RST != 0,
		PSH: flags&PSH != 0, ACK: flags&ACK != 0,
	}
	if !a.NoTS {
		opt := make([]byte, 8)
		put32(opt[0:], a.TSval)
		put32(opt[4:], a.TSecr)
		tcp.Options = []layers.TCPOption{
			{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: opt},
		}
	}
	if !a.NoUpdate && seq == a.Seq {
		n := uint32(payload)
		if flags&SYN != 0 {
			n++
		}
		if flags&FIN != 0 {
			n++
		}
		a.Seq += n
		if flags&SYN != 0 && b.Ack == 0 {
			b.Ack = seq + 1
		} else if seq+n-b.Ack < 1<<31 {
			b.Ack = seq + n
		}
	}
	if !a.NoTS {
		b.TSecr = a.TSval
		a.TSval += a.TSStep
	}
	id := a.IPID
	if a.IPID != 0 {
		a.IPID++
	}
	if err := w.write(a.Addr.Addr(), b.Addr.Addr(), id, tcp, make([]byte, payload)); err != nil {
		return err
	}
	return nil
}

func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func (w *Writer) write(src, dst netip.Addr, id uint16, tcp *layers.TCP, payload []byte) error {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB}
	var ip gopacket.NetworkLayer
	if src.Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Id: id,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return err
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(w.buf, opts, eth, ip.(gopacket.SerializableLayer), tcp, gopacket.Payload(payload)); err != nil {
		return err
	}
	data := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: w.Now, CaptureLength: len(data), Length: len(data)}
	w.Frames++
	return w.w.WritePacket(ci, data)
}

// Handshake writes SYN, SYN+ACK and ACK, each step after gap.
func (w *Writer) Handshake(c, s *End, gap time.Duration) error {
	steps := []struct {
		from, to *End
		flags    int
	}{{c, s, SYN}, {s, c, SYN | ACK}, {c, s, ACK}}
	for _, st := range steps {
		if err := w.Send(st.from, st.to, st.flags, 0); err != nil {
			return err
		}
		w.Advance(gap)
	}
	return nil
}

// Exchange writes a request from c and a response from s, each ACKed.
func (w *Writer) Exchange(c, s *End, req, resp int, gap time.Duration) error {
	for _, st := range []struct {
		from, to *End
		n        int
	}{{c, s, req}, {s, c, resp}} {
		if st.n == 0 {
			continue
		}
		if err := w.Send(st.from, st.to, PSH|ACK, st.n); err != nil {
			return err
		}
		w.Advance(gap)
		if err := w.Send(st.to, st.from, ACK, 0); err != nil {
			return err
		}
		w.Advance(gap)
	}
	return nil
}

// Close writes a normal close started by a: FIN, FIN+ACK, ACK.
func (w *Writer) Close(a, b *End, gap time.Duration) error {
	for _, st := range []struct {
		from, to *End
		flags    int
	}{{a, b, FIN | ACK}, {b, a, FIN | ACK}, {a, b, ACK}} {
		if err := w.Send(st.from, st.to, st.flags, 0); err != nil {
			return err
		}
		w.Advance(gap)
	}
	return nil
}
