package reassembly

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Errors of the layers written here, values so that a malformed packet costs
// no allocation.
var (
	errMPLSShort    = errors.New("MPLS label stack cut short")
	errIPv6Short    = errors.New("IPv6 header cut short")
	errIPv6Version  = errors.New("IPv6 header with a version other than 6")
	errIPv6ExtShort = errors.New("IPv6 extension header cut short")
)

// mplsLayer is a DecodingLayer for a whole MPLS label stack (gopacket's
// layers.MPLS is no DecodingLayer). MPLS does not say what it carries; like
// tcpdump and gopacket's own guess it reads IPv4 or IPv6 from the first
// nibble after the bottom of the stack, and anything else (pseudowires) is
// left undecoded.
type mplsLayer struct {
	Labels  int
	payload []byte
	next    gopacket.LayerType
}

func (m *mplsLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	m.Labels = 0
	for {
		if len(data) < 4 {
			df.SetTruncated()
			return errMPLSShort
		}
		bottom := data[2]&1 != 0
		data = data[4:]
		m.Labels++
		if bottom {
			break
		}
	}
	m.payload = data
	m.next = gopacket.LayerTypeZero
	if len(data) > 0 {
		switch data[0] >> 4 {
		case 4:
			m.next = layers.LayerTypeIPv4
		case 6:
			m.next = layers.LayerTypeIPv6
		}
	}
	return nil
}

func (m *mplsLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeMPLS }
func (m *mplsLayer) NextLayerType() gopacket.LayerType { return m.next }
func (m *mplsLayer) LayerPayload() []byte              { return m.payload }

// ipv6Layer is a DecodingLayer for the IPv6 header and the extension headers
// after it. layers.IPv6 allocates the options of hop-by-hop and destination
// headers and rejects a zero payload length without a jumbogram, which TSO
// captures have; this one only skips the extension headers and counts them.
type ipv6Layer struct {
	Header     []byte // the 40 fixed bytes
	PayloadLen int    // bytes after the fixed header per the header (or jumbogram); -1 if it says 0
	ExtLen     int    // bytes of extension headers skipped before the upper layer
	Protocol   uint8  // upper-layer protocol, or 44 for a fragment
	Fragment   bool   // a real fragment (not an atomic one)
	payload    []byte
}

// IPv6 extension headers this layer walks through.
const (
	ip6HopByHop    = 0
	ip6Routing     = 43
	ip6Fragment    = 44
	ip6AuthHeader  = 51
	ip6Destination = 60
)

func (ip *ipv6Layer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 40 {
		df.SetTruncated()
		return errIPv6Short
	}
	if data[0]>>4 != 6 {
		return errIPv6Version
	}
	ip.Header = data[:40]
	ip.ExtLen = 0
	ip.Fragment = false
	ip.PayloadLen = int(binary.BigEndian.Uint16(data[4:6]))
	rest := data[40:]
	if ip.PayloadLen == 0 {
		ip.PayloadLen = -1
	} else if ip.PayloadLen < len(rest) {
		rest = rest[:ip.PayloadLen] // drop a link-layer trailer
	}
	next := data[6]
	for first := true; ; first = false {
		var n int
		switch next {
		case ip6HopByHop, ip6Routing, ip6Destination, ip6AuthHeader:
			if next == ip6HopByHop && !first {
				break // hop-by-hop is only valid first; treat as unknown
			}
			if len(rest) < 2 {
				df.SetTruncated()
				return errIPv6ExtShort
			}
			if next == ip6AuthHeader {
				n = (int(rest[1]) + 2) * 4
			} else {
				n = (int(rest[1]) + 1) * 8
			}
			if len(rest) < n {
				df.SetTruncated()
				return errIPv6ExtShort
			}
			if next == ip6HopByHop && ip.PayloadLen < 0 {
				if j, ok := jumboLength(rest[2:n]); ok {
					ip.PayloadLen = j
				}
			}
		case ip6Fragment:
			if len(rest) < 8 {
				df.SetTruncated()
				return errIPv6ExtShort
			}
			n = 8
			// An atomic fragment (offset 0, no more fragments) is a whole
			// packet and is read through; any other is left alone.
			if binary.BigEndian.Uint16(rest[2:4])&0xfff9 != 0 {
				ip.Fragment = true
			}
		}
		if n == 0 || ip.Fragment {
			break
		}
		next = rest[0]
		rest = rest[n:]
		ip.ExtLen += n
	}
	ip.Protocol = next
	ip.payload = rest
	return nil
}

// jumboLength finds the jumbo payload option (type 0xC2) among hop-by-hop
// options.
func jumboLength(opts []byte) (int, bool) {
	for len(opts) > 0 {
		if opts[0] == 0 { // Pad1
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || int(opts[1])+2 > len(opts) {
			return 0, false
		}
		if opts[0] == 0xC2 && opts[1] == 4 {
			return int(binary.BigEndian.Uint32(opts[2:6])), true
		}
		opts = opts[int(opts[1])+2:]
	}
	return 0, false
}

func (ip *ipv6Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv6 }

func (ip *ipv6Layer) NextLayerType() gopacket.LayerType {
	if ip.Fragment {
		return gopacket.LayerTypeFragment
	}
	switch layers.IPProtocol(ip.Protocol) {
	case layers.IPProtocolTCP:
		return layers.LayerTypeTCP
	case layers.IPProtocolIPv4:
		return layers.LayerTypeIPv4
	case layers.IPProtocolIPv6:
		return layers.LayerTypeIPv6
	}
	return layers.IPProtocol(ip.Protocol).LayerType()
}

func (ip *ipv6Layer) LayerPayload() []byte { return ip.payload }

// EtherTypeCiscoMetaData is Cisco MetaData (CMD), the TrustSec header that
// carries a security group tag between the Ethernet or 802.1Q header and
// the packet: Wireshark's packet-cisco-metadata.c reads a fixed 6 bytes
// (version, length, option type and length, the 16-bit SGT) and the
// EtherType of what follows.
const EtherTypeCiscoMetaData layers.EthernetType = 0x8909

// layerTypeCMD is registered in the range gopacket leaves to applications.
var layerTypeCMD = gopacket.RegisterLayerType(1909, gopacket.LayerTypeMetadata{
	Name:    "CiscoMetaData",
	Decoder: gopacket.DecodeFunc(decodeCMD),
})

func init() {
	// Ethernet, 802.1Q and SLL find the layer after them through this
	// table, as the gopacket documentation shows for a layer of one's own.
	layers.EthernetTypeMetadata[EtherTypeCiscoMetaData] = layers.EnumMetadata{
		DecodeWith: gopacket.DecodeFunc(decodeCMD), Name: "CiscoMetaData", LayerType: layerTypeCMD,
	}
}

var errCMDShort = errors.New("cisco MetaData header cut short")

// cmdLayer is a DecodingLayer for the Cisco MetaData header.
type cmdLayer struct {
	layers.BaseLayer
	SGT  uint16
	Type layers.EthernetType // of what follows
}

func (c *cmdLayer) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 8 {
		df.SetTruncated()
		return errCMDShort
	}
	c.SGT = binary.BigEndian.Uint16(data[4:6])
	c.Type = layers.EthernetType(binary.BigEndian.Uint16(data[6:8]))
	c.BaseLayer = layers.BaseLayer{Contents: data[:8], Payload: data[8:]}
	return nil
}

func (c *cmdLayer) CanDecode() gopacket.LayerClass    { return layerTypeCMD }
func (c *cmdLayer) NextLayerType() gopacket.LayerType { return c.Type.LayerType() }
func (c *cmdLayer) LayerType() gopacket.LayerType     { return layerTypeCMD }

// decodeCMD lets gopacket.NewPacket (tests, tools) read the layer too.
func decodeCMD(data []byte, p gopacket.PacketBuilder) error {
	c := &cmdLayer{}
	if err := c.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(c)
	return p.NextDecoder(c.Type)
}
