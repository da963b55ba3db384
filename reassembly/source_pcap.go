package reassembly

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// bufSize is the read buffer of each file. It also bounds how far ahead
// checkBlocks can look, so it is larger than any normal pcapng block run.
const bufSize = 64 << 10

// maxCaptureLen is the largest record any libpcap writes (MAXIMUM_SNAPLEN);
// pcapgo uses the same bound for classic pcap.
const maxCaptureLen = 262144

// pcapng block types this file cares about.
const (
	ngSectionHeader  = 0x0A0D0D0A
	ngInterface      = 0x00000001
	ngPacketObsolete = 0x00000002
	ngSimplePacket   = 0x00000003
	ngEnhancedPacket = 0x00000006
	ngByteOrderMagic = 0x1A2B3C4D
)

// countingReader counts the bytes handed to the bufio.Reader above it, so
// that count minus Buffered is the stream position, and remembers the first
// error that is not io.EOF (for gzip: a stream cut short or corrupt).
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// fileReader is one input file and its pending packet.
type fileReader struct {
	index  int
	name   string
	closer io.Closer // nil for stdin
	gz     *gzip.Reader
	raw    countingReader  // the file as stored
	unz    countingReader  // the decompressed stream, when gzipped
	cr     *countingReader // the capture stream: &raw or &unz
	br     *bufio.Reader   // buffers *cr; handed to pcapgo as is

	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader

	// For readPcapFast: the pcap file's byte order, what its timestamps'
	// fraction is multiplied by to give nanoseconds, and its snaplen.
	pcapOrder  binary.ByteOrder
	pcapFactor uint32
	pcapSnap   uint32

	ngBigEndian bool // byte order of the current pcapng section, tracked by checkBlocks

	info FileInfo

	// The pending packet.
	frame    int
	offset   int64
	time     int64
	data     []byte
	length   int
	linkType layers.LinkType
	done     bool
}

// newFileReader detects gzip and the capture format and reads the file
// header. Every error it returns is fatal: the input is not a capture we can
// read at all.
func newFileReader(index int, name string, r io.Reader, closer io.Closer) (*fileReader, error) {
	f := &fileReader{index: index, name: name, closer: closer}
	f.info.Name = name
	fatal := func(off int64, err error) error {
		return &InputError{File: name, Offset: off, Fatal: true, Err: err}
	}

	f.raw.r = r
	f.cr = &f.raw
	f.br = bufio.NewReaderSize(f.cr, bufSize)
	magic, err := f.br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// Offsets from here on count the decompressed stream.
		f.gz, err = gzip.NewReader(f.br)
		if err != nil {
			return nil, fatal(0, fmt.Errorf("gzip: %w", err))
		}
		f.unz.r = f.gz
		f.cr = &f.unz
		f.br = bufio.NewReaderSize(f.cr, bufSize)
		magic, err = f.br.Peek(4)
	}
	if err != nil {
		if f.cr.err != nil {
			return nil, fatal(-1, f.streamErr(err))
		}
		if len(magic) == 0 {
			return nil, fatal(-1, fmt.Errorf("%w: the file is empty", ErrNotCapture))
		}
		return nil, fatal(0, fmt.Errorf("%w: only %d bytes", ErrNotCapture, len(magic)))
	}

	switch binary.BigEndian.Uint32(magic) {
	case 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D, 0x4D3CB2A1:
		f.info.Format = "pcap"
		f.pcapOrder = binary.LittleEndian
		if magic[0] == 0xA1 { // the magic number written big-endian
			f.pcapOrder = binary.BigEndian
		}
		// pcapgo wraps its input in bufio.NewReader, which hands back our
		// *bufio.Reader unchanged, so positions stay exact.
		f.pcap, err = pcapgo.NewReader(f.br)
		if err != nil {
			return nil, fatal(0, fmt.Errorf("bad pcap file header: %w", f.streamErr(err)))
		}
		f.pcapFactor = 1000
		if f.pcap.Resolution() == gopacket.TimestampResolutionNanosecond {
			f.pcapFactor = 1
		}
		f.pcapSnap = f.pcap.Snaplen()
		lt := f.pcap.LinkType()
		f.info.LinkTypes = []layers.LinkType{lt}
		if !LinkTypeSupported(lt) {
			return nil, fatal(-1, fmt.Errorf("%w %s", ErrLinkType, linkTypeName(lt)))
		}
	case ngSectionHeader:
		f.info.Format = "pcapng"
		if err := f.checkBlocks(); err != nil {
			return nil, fatal(f.offset, err)
		}
		f.ng, err = pcapgo.NewNgReader(f.br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fatal(0, fmt.Errorf("bad pcapng section header: %w", f.streamErr(err)))
		}
	default:
		return nil, fatal(0, fmt.Errorf("%w (magic % x)", ErrNotCapture, magic))
	}
	if f.gz != nil {
		f.info.Format += ".gz"
	}
	return f, nil
}

// pos is the position in the (decompressed) stream of the next unread byte.
func (f *fileReader) pos() int64 { return f.cr.n - int64(f.br.Buffered()) }

// streamErr prefers the error of the stream under the capture reader, which
// says why that reader ran out of bytes.
func (f *fileReader) streamErr(err error) error {
	switch {
	case f.cr.err == nil:
		return err
	case f.gz == nil:
		return fmt.Errorf("read error: %w", f.cr.err)
	case errors.Is(f.cr.err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the gzip stream ends early", ErrTruncated)
	}
	return fmt.Errorf("gzip stream: %w", f.cr.err)
}

// readErr explains an error of the capture reader in the middle of a file.
func (f *fileReader) readErr(err error) error {
	switch {
	case f.cr.err != nil:
		return f.streamErr(err)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: the file ends inside a record", ErrTruncated)
	case f.pcap != nil:
		// pcapgo's only other failures are a capture length over the
		// snaplen or over the wire length.
		return fmt.Errorf("%w: %v", ErrBadLength, err)
	}
	return err
}

// read reads the next packet into the pending slot. It returns io.EOF at a
// clean end of file, otherwise an *InputError, fatal or not.
func (f *fileReader) read() error {
	frame := f.info.Packets + 1
	f.offset = f.pos()
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		lt   layers.LinkType
	)
	if f.pcap != nil {
		if pcapFast && f.readPcapFast(frame) {
			return nil
		}
		data, ci, err = f.pcap.ZeroCopyReadPacketData()
		lt = f.pcap.LinkType()
		// pcapgo accepts any length up to 256 KiB; one over the file's
		// snaplen is a corrupt length field, whose "packet" would swallow
		// the records after it.
		if snap := f.pcap.Snaplen(); err == nil && snap > 0 && uint32(ci.CaptureLength) > snap {
			return f.warn(frame, fmt.Errorf("%w: %d captured bytes, over the snap length %d", ErrBadLength, ci.CaptureLength, snap))
		}
	} else {
		if err = f.checkBlocks(); err != nil {
			return f.warn(frame, err)
		}
		data, ci, err = f.ng.ZeroCopyReadPacketData()
		if err == nil {
			if len(ci.AncillaryData) > 0 {
				lt, _ = ci.AncillaryData[0].(layers.LinkType)
			}
			if ci.CaptureLength > maxCaptureLen {
				iface, _ := f.ng.Interface(ci.InterfaceIndex)
				if snap := int(iface.SnapLength); snap == 0 || ci.CaptureLength > snap {
					return f.warn(frame, fmt.Errorf("%w: %d captured bytes, snaplen %d", ErrBadLength, ci.CaptureLength, snap))
				}
			}
		}
	}
	if err != nil {
		if err == io.EOF && f.cr.err == nil {
			return io.EOF
		}
		return f.warn(frame, f.readErr(err))
	}
	if !LinkTypeSupported(lt) {
		e := fmt.Errorf("%w %s", ErrLinkType, linkTypeName(lt))
		if f.ng != nil {
			e = fmt.Errorf("%w %s on interface %d", ErrLinkType, linkTypeName(lt), ci.InterfaceIndex)
		}
		return &InputError{File: f.name, Frame: frame, Offset: f.offset, Fatal: true, Err: e}
	}

	t := ci.Timestamp.UnixNano()
	f.frame = frame
	f.time = t
	f.data = data
	f.length = max(ci.Length, len(data))
	f.linkType = lt

	in := &f.info
	in.Packets = frame
	if frame == 1 {
		in.First = t
	}
	in.Last = t
	if f.ng != nil && !containsLinkType(in.LinkTypes, lt) {
		in.LinkTypes = append(in.LinkTypes, lt)
	}
	return nil
}

// pcapFast turns readPcapFast on (tests compare it with pcapgo).
var pcapFast = true

// readPcapFast reads the next record of a pcap file straight out of the
// read buffer, as pcapgo would but without copying it, when the record is
// whole there and sound: its captured length no more than its length, the
// snaplen and 64 KiB. It reports false, having read nothing, otherwise, and
// pcapgo reads the record (and reports what is wrong with it). The data
// stays valid until the file is read again, as pcapgo's does.
func (f *fileReader) readPcapFast(frame int) bool {
	hdr, err := f.br.Peek(16)
	if err != nil {
		return false
	}
	o := f.pcapOrder
	caplen, length := o.Uint32(hdr[8:12]), o.Uint32(hdr[12:16])
	if caplen > length || caplen > 1<<16-16 || f.pcapSnap > 0 && caplen > f.pcapSnap {
		return false
	}
	rec, err := f.br.Peek(16 + int(caplen))
	if err != nil {
		return false
	}
	// time.Unix(sec, frac*factor).UnixNano(), the product in 32 bits as
	// pcapgo computes it.
	t := int64(o.Uint32(rec[0:4]))*1e9 + int64(o.Uint32(rec[4:8])*f.pcapFactor)
	data := rec[16:len(rec):len(rec)] // nobody appends into the buffer
	f.br.Discard(len(rec))
	f.frame = frame
	f.time = t
	f.data = data
	f.length = max(int(length), len(data))
	f.linkType = f.pcap.LinkType()
	in := &f.info
	in.Packets = frame
	if frame == 1 {
		in.First = t
	}
	in.Last = t
	return true
}

func (f *fileReader) warn(frame int, err error) error {
	return &InputError{File: f.name, Frame: frame, Offset: f.offset, Err: err}
}

func containsLinkType(lts []layers.LinkType, lt layers.LinkType) bool {
	for _, x := range lts {
		if x == lt {
			return true
		}
	}
	return false
}

// checkBlocks looks at the pcapng blocks up to and including the next packet
// block, still in the read buffer, before pcapgo consumes them. pcapgo trusts
// block lengths: a zero or short one makes it underflow and read on blindly,
// and a capture length larger than its block makes it swallow the blocks that
// follow. Checking here rejects those with the block's exact offset, and
// moves f.offset to the packet block itself. A block that does not fit in
// the buffer, or the end of the stream, ends the look-ahead; pcapgo then
// reports what it finds.
func (f *fileReader) checkBlocks() error {
	off := 0
	for {
		hdr, err := f.br.Peek(off + 12)
		if err != nil {
			return nil
		}
		hdr = hdr[off:]
		typ := binary.BigEndian.Uint32(hdr[0:4])
		if typ == ngSectionHeader {
			switch {
			case binary.BigEndian.Uint32(hdr[8:12]) == ngByteOrderMagic:
				f.ngBigEndian = true
			case binary.LittleEndian.Uint32(hdr[8:12]) == ngByteOrderMagic:
				f.ngBigEndian = false
			default:
				f.offset = f.pos() + int64(off)
				return fmt.Errorf("pcapng section header with a bad byte-order magic % x", hdr[8:12])
			}
		}
		order := f.order()
		typ = order.Uint32(hdr[0:4])
		length := order.Uint32(hdr[4:8])
		minLen := uint32(12)
		switch typ {
		case ngSectionHeader:
			minLen = 28
		case ngInterface:
			minLen = 20
		case ngSimplePacket:
			minLen = 16
		case ngEnhancedPacket, ngPacketObsolete:
			minLen = 32
		}
		if length < minLen || length%4 != 0 {
			f.offset = f.pos() + int64(off)
			return fmt.Errorf("%w: pcapng block type %#x with length %d", ErrBadLength, typ, length)
		}
		if typ == ngEnhancedPacket || typ == ngPacketObsolete || typ == ngSimplePacket {
			f.offset = f.pos() + int64(off)
			if typ == ngSimplePacket {
				return nil
			}
			b, err := f.br.Peek(off + 24)
			if err != nil {
				return nil
			}
			if caplen := order.Uint32(b[off+20:]); caplen > length-32 {
				return fmt.Errorf("%w: %d captured bytes in a pcapng block of %d", ErrBadLength, caplen, length)
			}
			return nil
		}
		if uint64(off)+uint64(length) > bufSize {
			return nil
		}
		off += int(length)
	}
}

func (f *fileReader) order() binary.ByteOrder {
	if f.ngBigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (f *fileReader) close() error {
	f.done = true
	var err error
	if f.gz != nil {
		err = f.gz.Close()
	}
	if f.closer != nil {
		if cerr := f.closer.Close(); cerr != nil {
			err = cerr
		}
		f.closer = nil
	}
	return err
}

// LinkTypeSupported reports whether the decoder reads packets of link type lt.
func LinkTypeSupported(lt layers.LinkType) bool {
	switch lt {
	case layers.LinkTypeNull, layers.LinkTypeEthernet, linkTypeRaw12, linkTypeRaw14,
		layers.LinkTypeRaw, layers.LinkTypeLoop, layers.LinkTypeLinuxSLL,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLinuxSLL2:
		return true
	}
	return false
}

// linkTypeName names lt as "IEEE802_11 (105)", or by number alone when
// gopacket has no name for it.
func linkTypeName(lt layers.LinkType) string {
	if s := lt.String(); s != "UnknownLinkType" {
		return fmt.Sprintf("%s (%d)", s, uint16(lt))
	}
	return fmt.Sprintf("%d", uint16(lt))
}
