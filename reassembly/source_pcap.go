package reassembly

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

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

	pcap *pcapgo.Reader // the pcap file header; nil for pcapng

	// For readPcap: the pcap file's byte order (a bool, not a
	// binary.ByteOrder: no interface call per field), what its timestamps'
	// fraction is multiplied by to give nanoseconds, and its snaplen.
	pcapBig    bool
	pcapFactor uint32
	pcapSnap   uint32

	ngBigEndian   bool      // byte order of the current pcapng section
	ifaces        []ngIface // the interfaces of the current section, at most maxInterfaces
	ifacesDropped int       // interface descriptions of the section past maxInterfaces

	frames  int         // records read or skipped: the last frame number given out
	big     []byte      // holds a record longer than the read buffer
	notes   [nNotes]int // damaged records read on, per kind
	pending []error     // warnings about them not yet handed to the Source

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
		f.pcapBig = magic[0] == 0xA1 // the magic number written big-endian
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
		if err := f.checkSection(); err != nil {
			return nil, fatal(0, err)
		}
	default:
		return nil, fatal(0, fmt.Errorf("%w (magic % x)", ErrNotCapture, magic))
	}
	if f.gz != nil {
		f.info.Format += ".gz"
	}
	return f, nil
}

// checkSection checks the section header at the start of a pcapng file,
// which readNg reads as its first block.
func (f *fileReader) checkSection() error {
	b, err := f.br.Peek(16)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("bad pcapng section header: %w", f.streamErr(err))
	}
	o := binary.ByteOrder(binary.LittleEndian)
	switch {
	case binary.BigEndian.Uint32(b[8:12]) == ngByteOrderMagic:
		o = binary.BigEndian
	case binary.LittleEndian.Uint32(b[8:12]) != ngByteOrderMagic:
		return fmt.Errorf("pcapng section header with a bad byte-order magic % x", b[8:12])
	}
	if n := o.Uint32(b[4:8]); n < 28 || n%4 != 0 {
		return fmt.Errorf("%w: pcapng block type %#x with length %d", ErrBadLength, ngSectionHeader, n)
	}
	// The whole block must be there (as far as the buffer reaches).
	if _, err := f.br.Peek(min(int(o.Uint32(b[4:8])), bufSize)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("bad pcapng section header: %w", f.streamErr(err))
	}
	if major, minor := o.Uint16(b[12:14]), o.Uint16(b[14:16]); major != 1 || minor != 0 {
		return fmt.Errorf("bad pcapng section header: version %d.%d", major, minor)
	}
	return nil
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

// maxInterfaces bounds the interface descriptions kept per pcapng section.
// Real captures have a handful; the obsolete packet block numbers them in
// 16 bits. Past it the descriptions are counted, not kept, and the packets
// of those interfaces are skipped.
const maxInterfaces = 1 << 16

// ngIface is what one pcapng interface description says that its packets
// need: the link type and how to turn timestamps into nanoseconds, as
// pcapgo computes them.
type ngIface struct {
	linkType  layers.LinkType
	snapLen   uint32
	mask      uint64 // timestamp units per second
	scaleUp   uint64
	scaleDown uint64
	offset    uint64 // if_tsoffset, seconds
	bad       error  // why its packets cannot be read; nil if they can
}

// noteKind is a damaged record that the reader skips, or reads another way,
// and then reads on. The first of each kind in a file is a warning naming
// its frame; the rest are counted in one more warning when the file ends.
type noteKind uint8

const (
	noteOversize   noteKind = iota // a record over maxCaptureLen: skipped
	noteCapOverLen                 // captured length over the original length: read as captured
	noteIface                      // a packet of an interface the decoder cannot read: skipped
	noteIfaceBound                 // an interface description past maxInterfaces: dropped
	nNotes
)

var noteWhat = [nNotes]string{
	noteOversize:   "records over 262144 bytes skipped",
	noteCapOverLen: "records with a captured length over the original length read as captured",
	noteIface:      "packets of unreadable interfaces skipped",
	noteIfaceBound: "interface descriptions past 65536 in a section dropped",
}

// note counts one damaged record and warns about the first of its kind.
func (f *fileReader) note(k noteKind, frame int, err error) {
	f.notes[k]++
	if f.notes[k] == 1 {
		f.pending = append(f.pending, f.warn(frame, err))
	}
}

// noteTotals are the closing warnings of a finished file: how many records
// of each kind there were when there was more than one.
func (f *fileReader) noteTotals() []error {
	var out []error
	for k, n := range f.notes {
		if n > 1 {
			out = append(out, &InputError{File: f.name, Offset: -1, Err: fmt.Errorf("%d %s in all", n, noteWhat[k])})
		}
	}
	return out
}

// read reads the next packet into the pending slot. It returns io.EOF at a
// clean end of file, otherwise an *InputError, fatal or not.
func (f *fileReader) read() error {
	if f.pcap != nil {
		return f.readPcap()
	}
	return f.readNg()
}

// accept makes data the pending packet.
func (f *fileReader) accept(frame int, t int64, data []byte, length int, lt layers.LinkType) {
	f.frame = frame
	f.time = t
	f.data = data
	f.length = max(length, len(data))
	f.linkType = lt
	in := &f.info
	if in.Packets == 0 {
		in.First = t
	}
	in.Packets++
	in.Last = t
}

// endErr explains why the stream stopped inside a record of n bytes or
// before one (n 0); io.EOF at a clean end.
func (f *fileReader) endErr(frame, n int, err error) error {
	if n == 0 && err == io.EOF && f.cr.err == nil {
		return io.EOF
	}
	return f.warn(frame, f.readErr(err))
}

// readPcap reads the next record of a pcap file. A record that is whole in
// the read buffer is handed out from it without a copy, valid until the
// file is read again; a longer one is copied into f.big. A record longer
// than maxCaptureLen is skipped unread, whatever the snaplen says.
func (f *fileReader) readPcap() error {
	for {
		frame := f.frames + 1
		f.offset = f.pos()
		// Everything buffered, so that a record in it needs no second
		// Peek; Peek fills the buffer only when the header is not in it.
		hdr, err := f.br.Peek(max(16, f.br.Buffered()))
		if err != nil {
			return f.endErr(frame, len(hdr), err)
		}
		sec, frac, caplen, length := pcapRecordHeader(hdr, f.pcapBig)
		t := int64(sec)*1e9 + int64(frac*f.pcapFactor)
		switch {
		case f.pcapSnap > 0 && caplen > f.pcapSnap && caplen <= maxCaptureLen:
			// A corrupt length field, whose "packet" would swallow the
			// records after it.
			return f.warn(frame, fmt.Errorf("%w: %d captured bytes, over the snap length %d", ErrBadLength, caplen, f.pcapSnap))
		case caplen > maxCaptureLen && caplen > length:
			return f.warn(frame, fmt.Errorf("%w: %d captured bytes of a %d-byte packet", ErrBadLength, caplen, length))
		case caplen > maxCaptureLen:
			// The lengths agree: the next record starts after it.
			f.frames = frame
			f.note(noteOversize, frame, fmt.Errorf("%w: a record of %d bytes, over %d: skipped", ErrBadLength, caplen, maxCaptureLen))
			if n, err := f.br.Discard(16 + int(caplen)); err != nil {
				return f.endErr(frame, n+1, err)
			}
			continue
		case caplen > length:
			// tcpdump and tshark read the captured bytes.
			f.note(noteCapOverLen, frame, fmt.Errorf("%w: %d captured bytes of a %d-byte packet: read as captured", ErrBadLength, caplen, length))
		}
		var data []byte
		if end := 16 + int(caplen); end <= len(hdr) {
			f.br.Discard(end)
			data = hdr[16:end:end] // nobody appends into the buffer
		} else if data, err = f.record(16, int(caplen), 0); err != nil {
			return f.endErr(frame, 1, err)
		}
		f.frames = frame
		f.accept(frame, t, data, int(length), f.pcap.LinkType())
		return nil
	}
}

// pcapRecordHeader reads the four fields of a pcap record header.
func pcapRecordHeader(h []byte, big bool) (sec, frac, caplen, length uint32) {
	h = h[:16]
	if big {
		return binary.BigEndian.Uint32(h[0:4]), binary.BigEndian.Uint32(h[4:8]),
			binary.BigEndian.Uint32(h[8:12]), binary.BigEndian.Uint32(h[12:16])
	}
	return binary.LittleEndian.Uint32(h[0:4]), binary.LittleEndian.Uint32(h[4:8]),
		binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16])
}

// record consumes a record of head bytes, n bytes of data and tail bytes
// more and returns the data: in the read buffer when the record fits there,
// otherwise copied into f.big (n is at most maxCaptureLen).
func (f *fileReader) record(head, n, tail int) ([]byte, error) {
	if total := head + n + tail; total <= bufSize {
		rec, err := f.br.Peek(total)
		if err != nil {
			return nil, err
		}
		f.br.Discard(total)
		return rec[head : head+n : head+n], nil // nobody appends into the buffer
	}
	if _, err := f.br.Discard(head); err != nil {
		return nil, err
	}
	if cap(f.big) < n {
		f.big = make([]byte, n, maxCaptureLen)
	}
	data := f.big[:n]
	if _, err := io.ReadFull(f.br, data); err != nil {
		return nil, err
	}
	if _, err := f.br.Discard(tail); err != nil {
		return nil, err
	}
	return data, nil
}

// simpleTime is the time pcapgo gives a simple packet block, which has
// none: the zero time.Time.
var simpleTime = time.Time{}.UnixNano()

// readNg reads pcapng blocks up to and including the next packet block.
// It keeps only what packets need (up to maxInterfaces interface
// descriptions per section) and skips every other block unread. Block
// lengths are checked before anything is read: a zero or short one, or a
// captured length larger than its block, ends the file at the block's exact
// offset.
func (f *fileReader) readNg() error {
	for {
		frame := f.frames + 1
		f.offset = f.pos()
		hdr, err := f.br.Peek(12)
		if err != nil {
			if len(hdr) >= 8 && binary.BigEndian.Uint32(hdr[0:4]) != ngSectionHeader {
				// The smallest block is 12 bytes: let the length check speak.
				hdr = append(hdr[:8:8], 0, 0, 0, 0)
			} else {
				return f.endErr(frame, len(hdr), err)
			}
		}
		if binary.BigEndian.Uint32(hdr[0:4]) == ngSectionHeader {
			switch {
			case binary.BigEndian.Uint32(hdr[8:12]) == ngByteOrderMagic:
				f.ngBigEndian = true
			case binary.LittleEndian.Uint32(hdr[8:12]) == ngByteOrderMagic:
				f.ngBigEndian = false
			default:
				return f.warn(frame, fmt.Errorf("pcapng section header with a bad byte-order magic % x", hdr[8:12]))
			}
		}
		o := f.order()
		typ, length := o.Uint32(hdr[0:4]), o.Uint32(hdr[4:8])
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
			return f.warn(frame, fmt.Errorf("%w: pcapng block type %#x with length %d", ErrBadLength, typ, length))
		}
		switch typ {
		case ngSectionHeader:
			b, err := f.br.Peek(16)
			if err != nil {
				return f.endErr(frame, 1, err)
			}
			if major, minor := o.Uint16(b[12:14]), o.Uint16(b[14:16]); major != 1 || minor != 0 {
				return f.warn(frame, fmt.Errorf("pcapng section of version %d.%d", major, minor))
			}
			f.ifaces = f.ifaces[:0]
			f.ifacesDropped = 0
		case ngInterface:
			if err := f.readInterface(frame, length); err != nil {
				return f.endErr(frame, 1, err)
			}
			continue
		case ngEnhancedPacket, ngPacketObsolete, ngSimplePacket:
			if err := f.readNgPacket(frame, typ, length); err != errSkipped {
				return err
			}
			continue
		}
		if n, err := f.br.Discard(int(length)); err != nil {
			return f.endErr(frame, n+1, err)
		}
	}
}

// errSkipped: readNgPacket skipped the packet, and reading goes on.
var errSkipped = errors.New("packet skipped")

// readNgPacket reads an enhanced, obsolete or simple packet block of
// length bytes at the read position.
func (f *fileReader) readNgPacket(frame int, typ, length uint32) error {
	o := f.order()
	head := 28
	if typ == ngSimplePacket {
		head = 12
	}
	b, err := f.br.Peek(head)
	if err != nil {
		return f.endErr(frame, 1, err)
	}
	var (
		id           int
		ts           uint64
		caplen, wire uint32
	)
	switch typ {
	case ngSimplePacket:
		// The captured length is the original length, cut to the snap
		// length and to the block.
		wire = o.Uint32(b[8:12])
		caplen = min(wire, length-16)
		if len(f.ifaces) > 0 && f.ifaces[0].snapLen != 0 {
			caplen = min(caplen, f.ifaces[0].snapLen)
		}
	case ngPacketObsolete:
		id = int(o.Uint16(b[8:10]))
	default:
		id = int(o.Uint32(b[8:12]))
	}
	if typ != ngSimplePacket {
		ts = uint64(o.Uint32(b[12:16]))<<32 | uint64(o.Uint32(b[16:20]))
		caplen, wire = o.Uint32(b[20:24]), o.Uint32(b[24:28])
		if caplen > length-32 {
			return f.warn(frame, fmt.Errorf("%w: %d captured bytes in a pcapng block of %d", ErrBadLength, caplen, length))
		}
	}
	if id >= len(f.ifaces)+f.ifacesDropped {
		return f.warn(frame, fmt.Errorf("packet of interface %d, of %d described in its section", id, len(f.ifaces)+f.ifacesDropped))
	}
	f.frames = frame
	skip := func(k noteKind, err error) error {
		f.note(k, frame, err)
		if n, err := f.br.Discard(int(length)); err != nil {
			return f.endErr(frame, n+1, err)
		}
		return errSkipped
	}
	if id >= len(f.ifaces) {
		return skip(noteIface, fmt.Errorf("packet of interface %d, past the %d interfaces kept: skipped", id, maxInterfaces))
	}
	iface := &f.ifaces[id]
	switch {
	case iface.bad != nil:
		return skip(noteIface, fmt.Errorf("interface %d: %w: its packets are skipped", id, iface.bad))
	case caplen > maxCaptureLen:
		return skip(noteOversize, fmt.Errorf("%w: a record of %d bytes, over %d: skipped", ErrBadLength, caplen, maxCaptureLen))
	case caplen > wire && typ != ngSimplePacket:
		f.note(noteCapOverLen, frame, fmt.Errorf("%w: %d captured bytes of a %d-byte packet: read as captured", ErrBadLength, caplen, wire))
	}
	data, err := f.record(head, int(caplen), int(length)-head-int(caplen))
	if err != nil {
		f.frames = frame - 1
		return f.endErr(frame, 1, err)
	}
	t := simpleTime
	if typ != ngSimplePacket {
		t = time.Unix(int64(ts/iface.mask+iface.offset), int64(ts%iface.mask*iface.scaleUp/iface.scaleDown)).UnixNano()
	}
	f.accept(frame, t, data, int(wire), iface.linkType)
	if !containsLinkType(f.info.LinkTypes, iface.linkType) {
		f.info.LinkTypes = append(f.info.LinkTypes, iface.linkType)
	}
	return nil
}

// readInterface reads an interface description block of length bytes at
// the read position, its options one at a time so that none is buffered
// whole: only the link type, snap length and time options matter.
func (f *fileReader) readInterface(frame int, length uint32) error {
	o := f.order()
	b, err := f.br.Peek(16)
	if err != nil {
		return err
	}
	in := ngIface{linkType: layers.LinkType(o.Uint16(b[8:10])), snapLen: o.Uint32(b[12:16])}
	if _, err := f.br.Discard(16); err != nil {
		return err
	}
	resol := uint8(6)
	rest := int(length) - 16 - 4 // the options, before the trailing length
	for rest >= 4 {
		b, err := f.br.Peek(4)
		if err != nil {
			return err
		}
		code, n := o.Uint16(b[0:2]), int(o.Uint16(b[2:4]))
		padded := (n + 3) &^ 3
		if code == 0 || 4+padded > rest {
			break // opt_endofopt, or an option past the block: the rest is ignored
		}
		if code == 9 && n >= 1 || code == 14 && n >= 8 { // if_tsresol, if_tsoffset
			v, err := f.br.Peek(4 + n)
			if err != nil {
				return err
			}
			if code == 9 {
				resol = v[4]
			} else {
				in.offset = o.Uint64(v[4:12])
			}
		}
		if _, err := f.br.Discard(4 + padded); err != nil {
			return err
		}
		rest -= 4 + padded
	}
	if _, err := f.br.Discard(rest + 4); err != nil {
		return err
	}
	if len(f.ifaces) >= maxInterfaces {
		f.ifacesDropped++
		f.note(noteIfaceBound, 0, fmt.Errorf("pcapng interface description %d: past %d in one section, dropped", maxInterfaces+f.ifacesDropped-1, maxInterfaces))
		return nil
	}
	if resol == 0 {
		resol = 6
	}
	exp := resol & 0x7f
	switch {
	case !LinkTypeSupported(in.linkType):
		in.bad = fmt.Errorf("%w %s", ErrLinkType, linkTypeName(in.linkType))
	case exp > 63:
		in.bad = fmt.Errorf("timestamp resolution %#x is too fine", resol)
	}
	in.mask = 1
	switch {
	case in.bad != nil: // its packets are skipped: no times to convert
	case resol&0x80 != 0:
		in.mask = 1 << exp
	default:
		for range exp {
			in.mask *= 10
		}
	}
	in.scaleUp, in.scaleDown = 1, 1
	if in.mask < 1e9 {
		in.scaleUp = 1e9 / in.mask
	} else {
		in.scaleDown = in.mask / 1e9
	}
	f.ifaces = append(f.ifaces, in)
	return nil
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
