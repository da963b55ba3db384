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
// 54-byte snaplen leaves only the 20 fixed bytes), and it keeps nothing but
// what a Segment needs.
type tcpHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	HeaderLen        int // data offset in bytes, as the header says
	Flags            uint8
	Window           uint16
	Checksum         uint16

	OptionsKnown bool // all HeaderLen bytes were captured
	Captured     int  // payload bytes after the header in the capture (padding included)
	HasTS        bool
	TSval, TSecr uint32
	WScale       uint8 // window scale shift + 1 (RFC 7323), 0: no option
}

func (t *tcpHeader) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errTCPShort
	}
	t.SrcPort = binary.BigEndian.Uint16(data[0:2])
	t.DstPort = binary.BigEndian.Uint16(data[2:4])
	t.Seq = binary.BigEndian.Uint32(data[4:8])
	t.Ack = binary.BigEndian.Uint32(data[8:12])
	t.HeaderLen = int(data[12]>>4) * 4
	t.Flags = data[13]
	t.Window = binary.BigEndian.Uint16(data[14:16])
	t.Checksum = binary.BigEndian.Uint16(data[16:18])
	t.HasTS, t.TSval, t.TSecr = false, 0, 0
	t.WScale = 0
	t.Captured = 0
	if t.HeaderLen < 20 {
		t.OptionsKnown = false
		return errTCPDataOffset
	}
	if len(data) < t.HeaderLen {
		t.OptionsKnown = false
		return nil
	}
	t.OptionsKnown = true
	t.Captured = len(data) - t.HeaderLen
	t.parseOptions(data[20:t.HeaderLen])
	return nil
}

// parseOptions looks for the timestamps option. Like Linux's
// tcp_parse_options it stops at the end-of-list option or at a length that
// is below 2 or runs past the header, keeping what it found before, and it
// takes a timestamps option only with its proper length of 10.
func (t *tcpHeader) parseOptions(opts []byte) {
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
			t.HasTS = true
			t.TSval = binary.BigEndian.Uint32(opts[2:6])
			t.TSecr = binary.BigEndian.Uint32(opts[6:10])
		}
		if opts[0] == 3 && n == 3 {
			t.WScale = min(opts[2], 14) + 1 // RFC 7323 2.3: larger is taken as 14
		}
		opts = opts[n:]
	}
}

func (t *tcpHeader) CanDecode() gopacket.LayerClass { return layers.LayerTypeTCP }

// NextLayerType is zero and LayerPayload nil: the parser stops here, and
// the payload is measured from the IP lengths instead.
func (t *tcpHeader) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }
func (t *tcpHeader) LayerPayload() []byte              { return nil }
