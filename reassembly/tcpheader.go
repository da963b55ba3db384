package reassembly

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Errors of the layers written here. They are values, not fmt.Errorf calls,
// so that a malformed packet costs no allocation either.
var (
	errTCPShort      = errors.New("TCP header shorter than 20 bytes")
	errTCPDataOffset = errors.New("TCP data offset below 5")
)

// tcpHeader is a gopacket DecodingLayer for the TCP header alone. Unlike
// layers.TCP it accepts a header whose options the snaplen cut off (a
// 54-byte snaplen leaves only the 20 fixed bytes). It only checks the
// header and keeps its bytes: decodeTCP reads them straight into the
// Segment, with no copy of the fields in between.
type tcpHeader struct {
	data []byte // the header and the rest of the packet as captured
}

func (t *tcpHeader) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errTCPShort
	}
	if data[12]>>4 < 5 {
		return errTCPDataOffset
	}
	t.data = data
	return nil
}

// decodeTCP fills seg's TCP fields from data, a TCP header that
// tcpHeader.DecodeFromBytes accepted, and returns the header length as the
// data offset says and how many payload bytes follow the header in the
// capture (padding included; 0 when the snaplen cut into the options, and
// then OptionsKnown stays false). seg must come zeroed in its TCP fields.
func decodeTCP(data []byte, seg *Segment) (headerLen, captured int) {
	h := data[:20]
	seg.SrcPort = binary.BigEndian.Uint16(h[0:2])
	seg.DstPort = binary.BigEndian.Uint16(h[2:4])
	seg.Seq = binary.BigEndian.Uint32(h[4:8])
	seg.Ack = binary.BigEndian.Uint32(h[8:12])
	headerLen = int(h[12]>>4) * 4
	seg.Flags = h[13]
	seg.Window = binary.BigEndian.Uint16(h[14:16])
	seg.Checksum = binary.BigEndian.Uint16(h[16:18])
	if len(data) < headerLen {
		return headerLen, 0
	}
	seg.OptionsKnown = true
	if headerLen > 20 {
		parseOptions(data[20:headerLen], seg)
	}
	return headerLen, len(data) - headerLen
}

// parseOptions looks for the timestamps and window scale options. Like
// Linux's tcp_parse_options it stops at the end-of-list option or at a
// length that is below 2 or runs past the header, keeping what it found
// before, and it takes a timestamps option only with its proper length of
// 10.
func parseOptions(opts []byte, seg *Segment) {
	if len(opts) == 12 && binary.BigEndian.Uint32(opts) == 0x0101080a {
		// NOP, NOP, timestamps: the layout RFC 7323 (appendix A) gives,
		// which stacks send on every segment but the SYNs.
		seg.HasTS = true
		seg.TSval = binary.BigEndian.Uint32(opts[4:8])
		seg.TSecr = binary.BigEndian.Uint32(opts[8:12])
		return
	}
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of option list
			return
		case 1: // no-operation
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 {
			return
		}
		n := int(opts[1])
		if n < 2 || n > len(opts) {
			return
		}
		if opts[0] == 8 && n == 10 {
			seg.HasTS = true
			seg.TSval = binary.BigEndian.Uint32(opts[2:6])
			seg.TSecr = binary.BigEndian.Uint32(opts[6:10])
		}
		if opts[0] == 3 && n == 3 {
			seg.WScale = min(opts[2], 14) + 1 // RFC 7323 2.3: larger is taken as 14
		}
		opts = opts[n:]
	}
}

func (t *tcpHeader) CanDecode() gopacket.LayerClass { return layers.LayerTypeTCP }

// NextLayerType is zero and LayerPayload nil: the parser stops here, and
// the payload is measured from the IP lengths instead.
func (t *tcpHeader) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }
func (t *tcpHeader) LayerPayload() []byte              { return nil }
