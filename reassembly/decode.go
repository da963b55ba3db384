package reassembly

import (
	"encoding/binary"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Kind is the result of decoding one packet.
type Kind uint8

const (
	KindTCP       Kind = iota // a TCP segment; the Segment is filled
	KindNonTCP                // decoded, and not TCP (UDP, ARP, ICMP, ...)
	KindFragment              // an IP fragment: IP is not reassembled
	KindTruncated             // headers cut by the snaplen before the 20 fixed TCP bytes, or malformed
)

func (k Kind) String() string {
	switch k {
	case KindTCP:
		return "tcp"
	case KindNonTCP:
		return "non-tcp"
	case KindFragment:
		return "fragment"
	case KindTruncated:
		return "truncated"
	}
	return "unknown"
}

// Linux and OpenBSD values of DLT_RAW that old libpcaps wrote into files
// instead of LINKTYPE_RAW (101); Wireshark reads both as raw IP.
const (
	linkTypeRaw12 layers.LinkType = 12
	linkTypeRaw14 layers.LinkType = 14
)

// Decoder decodes link, IP and TCP headers into Segments. All its layers
// are allocated once, so decoding allocates nothing per packet. A Decoder is
// not safe for concurrent use.
type Decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q // 802.1Q and QinQ (0x88a8)
	mpls  mplsLayer
	cmd   cmdLayer // Cisco MetaData (TrustSec)
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback // BSD Null and Loop, either byte order
	ip4   layers.IPv4
	ip6   ipv6Layer
	tcp   tcpHeader

	dlc gopacket.DecodingLayerContainer
	// One parser per first layer, all sharing the layers above.
	ethP, sllP, sll2P, loopP, ip4P, ip6P *gopacket.DecodingLayerParser
	decoded                              []gopacket.LayerType
	noFast                               bool // tests: always use the parsers
	nonIP                                NonIPCounts
}

// NonIPCounts counts the frames whose walk ended at a link layer, on an
// EtherType the decoder does not read on from (ARP, LLDP, an unknown
// encapsulation), per EtherType in a small fixed table: the first
// len(ByType) EtherTypes met, and the frames of any other in Other.
type NonIPCounts struct {
	ByType [8]EtherTypeCount
	Types  int // entries of ByType in use
	Other  int // frames of EtherTypes past the table
}

// EtherTypeCount is the frames seen of one EtherType.
type EtherTypeCount struct {
	EtherType layers.EthernetType
	Frames    int
}

// Total is the frames counted.
func (c *NonIPCounts) Total() int {
	n := c.Other
	for _, e := range c.ByType[:c.Types] {
		n += e.Frames
	}
	return n
}

func (c *NonIPCounts) add(et layers.EthernetType) {
	for i := range c.ByType[:c.Types] {
		if c.ByType[i].EtherType == et {
			c.ByType[i].Frames++
			return
		}
	}
	if c.Types < len(c.ByType) {
		c.ByType[c.Types] = EtherTypeCount{et, 1}
		c.Types++
		return
	}
	c.Other++
}

// NonIP returns the frames decoded so far that ended at a link layer.
func (d *Decoder) NonIP() NonIPCounts { return d.nonIP }

// NewDecoder returns a Decoder for every link type LinkTypeSupported accepts.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 32)}
	dlc := gopacket.DecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range []gopacket.DecodingLayer{
		&d.eth, &d.dot1q, &d.mpls, &d.cmd, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6, &d.tcp,
	} {
		dlc = dlc.Put(l)
	}
	d.dlc = dlc
	parser := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(dlc)
		// Layers nobody registered (UDP, ARP, ...) end the walk quietly
		// instead of building an UnsupportedLayerType error.
		p.IgnoreUnsupported = true
		return p
	}
	d.ethP = parser(layers.LayerTypeEthernet)
	d.sllP = parser(layers.LayerTypeLinuxSLL)
	d.sll2P = parser(layers.LayerTypeLinuxSLL2)
	d.loopP = parser(layers.LayerTypeLoopback)
	d.ip4P = parser(layers.LayerTypeIPv4)
	d.ip6P = parser(layers.LayerTypeIPv6)
	return d
}

func (d *Decoder) parserFor(p *Packet) *gopacket.DecodingLayerParser {
	switch p.LinkType {
	case layers.LinkTypeEthernet:
		return d.ethP
	case layers.LinkTypeLinuxSLL:
		return d.sllP
	case layers.LinkTypeLinuxSLL2:
		return d.sll2P
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return d.loopP
	case layers.LinkTypeIPv4:
		return d.ip4P
	case layers.LinkTypeIPv6:
		return d.ip6P
	case layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14:
		if len(p.Data) > 0 {
			switch p.Data[0] >> 4 {
			case 4:
				return d.ip4P
			case 6:
				return d.ip6P
			}
		}
	}
	return nil
}

// Decode fills seg from p and says what p was; seg is meaningful only for
// KindTCP, though File, Frame and Time are always set. A link type Decode
// does not know gives KindTruncated. Decode does not allocate for any
// well-formed packet; some malformed ones cost gopacket an error value.
func (d *Decoder) Decode(p *Packet, seg *Segment) Kind {
	*seg = Segment{File: p.File, Frame: p.Frame, Time: p.Time}
	if p.LinkType == layers.LinkTypeEthernet && !d.noFast && d.fastIPv4TCP(p, seg) {
		seg.key.finish(seg)
		return KindTCP
	}
	parser := d.parserFor(p)
	if parser == nil {
		return KindTruncated
	}
	err := parser.DecodeLayers(p.Data, &d.decoded)
	n := len(d.decoded)
	if n == 0 {
		return KindTruncated
	}
	last := d.decoded[n-1]
	if last == layers.LayerTypeTCP && n >= 2 {
		switch d.decoded[n-2] {
		case layers.LayerTypeIPv4:
			hlen, captured := decodeTCP(d.tcp.data, seg)
			d.fillIPv4From(p, d.ip4.Contents, hlen, captured, seg)
		case layers.LayerTypeIPv6:
			hlen, captured := decodeTCP(d.tcp.data, seg)
			d.fillIPv6(p, hlen, captured, seg)
		default:
			return KindTruncated
		}
		seg.key.finish(seg)
		return KindTCP
	}
	// The walk stopped before TCP: find out why from the layer it ended on.
	dl, ok := d.dlc.Decoder(last)
	if !ok {
		return KindNonTCP
	}
	next := dl.NextLayerType()
	if err == nil {
		d.countLink(last, next)
	}
	switch {
	case next == gopacket.LayerTypeFragment:
		return KindFragment
	case err != nil:
		return KindTruncated // the next layer failed to decode
	}
	if _, ok := d.dlc.Decoder(next); ok {
		return KindTruncated // a layer we read was expected, but no bytes were left
	}
	return KindNonTCP
}

// countLink counts a frame whose walk ended at link layer last, before the
// layer next, which no decoder of ours reads: a non-IP EtherType.
func (d *Decoder) countLink(last, next gopacket.LayerType) {
	if _, ok := d.dlc.Decoder(next); ok {
		return // cut short, not non-IP
	}
	switch last {
	case layers.LayerTypeEthernet:
		d.nonIP.add(d.eth.EthernetType)
	case layers.LayerTypeDot1Q:
		d.nonIP.add(d.dot1q.Type)
	case layerTypeCMD:
		d.nonIP.add(d.cmd.Type)
	case layers.LayerTypeLinuxSLL:
		d.nonIP.add(d.sll.EthernetType)
	case layers.LayerTypeLinuxSLL2:
		d.nonIP.add(d.sll2.ProtocolType)
	}
}

// fastIPv4TCP decodes the common case, TCP in an unfragmented IPv4 packet
// without IP options straight on Ethernet, as the gopacket layers would, at
// a fraction of the cost; it reports false, having filled in nothing that
// Decode keeps, for anything else (the parser then decodes the packet).
func (d *Decoder) fastIPv4TCP(p *Packet, seg *Segment) bool {
	data := p.Data
	if len(data) < 14+20+20 || binary.BigEndian.Uint16(data[12:14]) != uint16(layers.EthernetTypeIPv4) {
		return false // less than the fixed TCP header is for the parser to name
	}
	ip := data[14:]
	length := int(binary.BigEndian.Uint16(ip[2:4]))
	if ip[0]&0x0f != 5 || length < 20 || ip[9] != uint8(layers.IPProtocolTCP) ||
		binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // more fragments, or an offset
		return false
	}
	if len(ip) > length {
		ip = ip[:length] // Ethernet padding
	}
	tcp := ip[20:]
	if len(tcp) < 20 || tcp[12]>>4 < 5 {
		return false
	}
	hlen, captured := decodeTCP(tcp, seg)
	d.fillIPv4From(p, ip[:20], hlen, captured, seg)
	return true
}

// linkOffset is where b starts within p.Data; b must be a sub-slice of it,
// as every layer's bytes are.
func linkOffset(p *Packet, b []byte) int { return cap(p.Data) - cap(b) }

// fillIPv4From fills seg from the IPv4 header h, a sub-slice of p.Data,
// after decodeTCP (the key needs the ports), which found a TCP header of
// hlen bytes and captured payload bytes after it.
func (d *Decoder) fillIPv4From(p *Packet, h []byte, hlen, captured int, seg *Segment) {
	seg.key.set4(h[12:20], seg.SrcPort, seg.DstPort)
	seg.IPID = binary.BigEndian.Uint16(h[4:6])
	total := int(binary.BigEndian.Uint16(h[2:4]))
	if total == 0 {
		// TSO: the NIC fills the length in later, so the capture says 0.
		total = p.Length - linkOffset(p, h)
	}
	seg.PayloadLen = max(total-len(h)-hlen, 0)
	seg.Captured = min(seg.PayloadLen, captured)
	seg.BadHeader = total-len(h) < hlen
}

// fillIPv6 fills seg from the IPv6 header, after decodeTCP (the key needs
// the ports).
func (d *Decoder) fillIPv6(p *Packet, hlen, captured int, seg *Segment) {
	h := d.ip6.Header
	seg.v6 = true
	seg.key.set((*[16]byte)(h[8:24]), (*[16]byte)(h[24:40]), seg.SrcPort, seg.DstPort)
	plen := d.ip6.PayloadLen
	if plen < 0 {
		plen = p.Length - linkOffset(p, h) - 40
	}
	seg.PayloadLen = max(plen-d.ip6.ExtLen-hlen, 0)
	seg.Captured = min(seg.PayloadLen, captured)
	seg.BadHeader = plen-d.ip6.ExtLen < hlen
}
