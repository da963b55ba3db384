package reassembly

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// rec is one record to write into a test capture.
type rec struct {
	ns    int64  // Unix nanoseconds
	data  []byte // captured bytes
	wire  int    // original length; 0 means len(data)
	iface int    // pcapng interface
}

func (r rec) ci() gopacket.CaptureInfo {
	wire := r.wire
	if wire == 0 {
		wire = len(r.data)
	}
	return gopacket.CaptureInfo{
		Timestamp:      time.Unix(0, r.ns),
		CaptureLength:  len(r.data),
		Length:         wire,
		InterfaceIndex: r.iface,
	}
}

// pcapBytes writes a little-endian classic pcap with pcapgo.NewWriter
// (microseconds) or pcapgo.NewWriterNanos (nanoseconds).
func pcapBytes(t testing.TB, nanos bool, lt layers.LinkType, recs []rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WritePacket(r.ci(), r.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// bigEndianPcap writes a big-endian classic pcap by hand (pcapgo only
// writes little-endian), as a SPARC or PowerPC tcpdump would.
func bigEndianPcap(nanos bool, lt layers.LinkType, recs []rec) []byte {
	be := binary.BigEndian
	hdr := make([]byte, 24)
	magic, div := uint32(0xA1B2C3D4), int64(1000)
	if nanos {
		magic, div = 0xA1B23C4D, 1
	}
	be.PutUint32(hdr[0:], magic)
	be.PutUint16(hdr[4:], 2)
	be.PutUint16(hdr[6:], 4)
	be.PutUint32(hdr[16:], 65535)
	be.PutUint32(hdr[20:], uint32(lt))
	out := hdr
	for _, r := range recs {
		ci := r.ci()
		h := make([]byte, 16)
		be.PutUint32(h[0:], uint32(r.ns/1e9))
		be.PutUint32(h[4:], uint32(r.ns%1e9/div))
		be.PutUint32(h[8:], uint32(ci.CaptureLength))
		be.PutUint32(h[12:], uint32(ci.Length))
		out = append(out, h...)
		out = append(out, r.data...)
	}
	return out
}

// bigEndianPcapng writes one big-endian pcapng section by hand (pcapgo only
// writes little-endian): a section header, one interface without options
// (so microsecond timestamps) and an enhanced packet block per record.
func bigEndianPcapng(lt layers.LinkType, recs []rec) []byte {
	be := binary.BigEndian
	out := be.AppendUint32(nil, 0x0A0D0D0A)
	out = be.AppendUint32(out, 28)
	out = be.AppendUint32(out, 0x1A2B3C4D)
	out = be.AppendUint16(out, 1)
	out = be.AppendUint16(out, 0)
	out = be.AppendUint64(out, ^uint64(0)) // section length unknown
	out = be.AppendUint32(out, 28)
	out = be.AppendUint32(out, 1)
	out = be.AppendUint32(out, 20)
	out = be.AppendUint16(out, uint16(lt))
	out = be.AppendUint16(out, 0)
	out = be.AppendUint32(out, 65535)
	out = be.AppendUint32(out, 20)
	for _, r := range recs {
		ci := r.ci()
		pad := (4 - len(r.data)%4) % 4
		n := uint32(32 + len(r.data) + pad)
		us := uint64(r.ns / 1000)
		out = be.AppendUint32(out, 6)
		out = be.AppendUint32(out, n)
		out = be.AppendUint32(out, 0)
		out = be.AppendUint32(out, uint32(us>>32))
		out = be.AppendUint32(out, uint32(us))
		out = be.AppendUint32(out, uint32(ci.CaptureLength))
		out = be.AppendUint32(out, uint32(ci.Length))
		out = append(out, r.data...)
		out = append(out, make([]byte, pad)...)
		out = be.AppendUint32(out, n)
	}
	return out
}

// pcapngBytes writes one pcapng section with pcapgo.NewNgWriterInterface and
// AddInterface, one interface per link type given.
func pcapngBytes(t testing.TB, lts []layers.LinkType, recs []rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "if0", LinkType: lts[0], SnapLength: 65535}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, lt := range lts[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{Name: fmt.Sprintf("if%d", i+1), LinkType: lt, SnapLength: 65535}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs {
		if err := w.WritePacket(r.ci(), r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// got is a packet as Next returned it, with its bytes copied.
type got struct {
	File, Frame int
	Time        int64
	Data        []byte
	Length      int
	LinkType    layers.LinkType
}

// readAll reads src to the end, copying each packet.
func readAll(t testing.TB, s *Source) ([]got, error) {
	t.Helper()
	var out []got
	var p Packet
	for {
		err := s.Next(&p)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, got{p.File, p.Frame, p.Time, bytes.Clone(p.Data), p.Length, p.LinkType})
	}
}

// testFrames returns n distinct Ethernet/IPv4/TCP frames.
func testFrames(t testing.TB, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		ip := ipv4TCP(t, "10.0.0.1", "10.0.0.2", &layers.TCP{SrcPort: 1000, DstPort: 80, Seq: uint32(i), ACK: true}, make([]byte, i*7))
		out = append(out, ether(layers.EthernetTypeIPv4, ip))
	}
	return out
}

// sll prepends a Linux cooked (SLL) header, which gopacket cannot serialize.
func sll(et layers.EthernetType, b []byte) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 0) // to us
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(h[14:], uint16(et))
	return append(h, b...)
}

func TestSourceFormats(t *testing.T) {
	frames := testFrames(t, 3)
	base := int64(1_700_000_000_123_456_789)
	var recs []rec
	for i, f := range frames {
		recs = append(recs, rec{ns: base + int64(i)*1_000_001_001, data: f})
	}
	// Microsecond formats keep only microseconds.
	usRecs := make([]rec, len(recs))
	for i, r := range recs {
		r.ns -= r.ns % 1000
		usRecs[i] = r
	}
	// Two interfaces of different link types: frame 2 goes out on SLL.
	ngRecs := append([]rec(nil), recs...)
	ngRecs[1].data = sll(layers.EthernetTypeIPv4, frames[1][14:])
	ngRecs[1].iface = 1
	ng := pcapngBytes(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL}, ngRecs)

	tests := []struct {
		name    string
		file    []byte
		format  string
		want    []rec
		wantLTs []layers.LinkType
	}{
		{"pcap-us", pcapBytes(t, false, layers.LinkTypeEthernet, recs), "pcap", usRecs, nil},
		{"pcap-ns", pcapBytes(t, true, layers.LinkTypeEthernet, recs), "pcap", recs, nil},
		{"pcap-us-big-endian", bigEndianPcap(false, layers.LinkTypeEthernet, recs), "pcap", usRecs, nil},
		{"pcap-ns-big-endian", bigEndianPcap(true, layers.LinkTypeEthernet, recs), "pcap", recs, nil},
		{"pcapng-eth-sll", ng, "pcapng", ngRecs, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL}},
		{"pcapng-big-endian", bigEndianPcapng(layers.LinkTypeEthernet, recs), "pcapng", usRecs, nil},
		// A little-endian section, then a big-endian one.
		{"pcapng-mixed-byte-order", append(pcapngBytes(t, []layers.LinkType{layers.LinkTypeEthernet}, usRecs[:1]),
			bigEndianPcapng(layers.LinkTypeEthernet, usRecs[1:])...), "pcapng", usRecs, nil},
		// Two sections, as from concatenating two pcapng files: frame
		// numbers go on across the section boundary, as in Wireshark.
		{"pcapng-two-sections", append(pcapngBytes(t, []layers.LinkType{layers.LinkTypeEthernet}, recs[:2]),
			pcapngBytes(t, []layers.LinkType{layers.LinkTypeLinuxSLL, layers.LinkTypeEthernet}, []rec{{ns: recs[2].ns, data: recs[2].data, iface: 1}})...),
			"pcapng", recs, []layers.LinkType{layers.LinkTypeEthernet}},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			name, file, format := tt.name, tt.file, tt.format
			if gz {
				name, file, format = name+".gz", gzipBytes(t, file), format+".gz"
			}
			t.Run(name, func(t *testing.T) {
				path := writeFile(t, t.TempDir(), name, file)
				s := openTest(t, path)
				pkts, err := readAll(t, s)
				if err != nil {
					t.Fatal(err)
				}
				if len(pkts) != len(tt.want) {
					t.Fatalf("got %d packets, want %d", len(pkts), len(tt.want))
				}
				d := NewDecoder()
				for i, p := range pkts {
					w := tt.want[i]
					wantLT := layers.LinkTypeEthernet
					if tt.wantLTs != nil {
						wantLT = tt.wantLTs[w.iface]
					}
					if p.File != 0 || p.Frame != i+1 || p.Time != w.ns || !bytes.Equal(p.Data, w.data) || p.Length != len(w.data) || p.LinkType != wantLT {
						t.Errorf("packet %d: got file %d frame %d time %d len %d lt %v, want frame %d time %d len %d lt %v",
							i, p.File, p.Frame, p.Time, p.Length, p.LinkType, i+1, w.ns, len(w.data), wantLT)
					}
					var seg Segment
					pk := Packet{Data: p.Data, Length: p.Length, LinkType: p.LinkType}
					if k := d.Decode(&pk, &seg); k != KindTCP || seg.Seq != uint32(i) || seg.PayloadLen != i*7 {
						t.Errorf("packet %d: decoded %v seq %d payload %d", i, k, seg.Seq, seg.PayloadLen)
					}
				}
				if w := s.Warnings(); len(w) != 0 {
					t.Errorf("warnings: %v", w)
				}
				fi := s.Files()[0]
				if fi.Name != path || fi.Format != format || fi.Packets != len(tt.want) ||
					fi.First != tt.want[0].ns || fi.Last != tt.want[len(tt.want)-1].ns {
					t.Errorf("FileInfo = %+v", fi)
				}
				wantLTs := []layers.LinkType{layers.LinkTypeEthernet}
				if tt.name == "pcapng-eth-sll" {
					wantLTs = tt.wantLTs
				}
				if fmt.Sprint(fi.LinkTypes) != fmt.Sprint(wantLTs) {
					t.Errorf("LinkTypes = %v, want %v", fi.LinkTypes, wantLTs)
				}
			})
		}
	}
}

func TestSourceStdin(t *testing.T) {
	frames := testFrames(t, 2)
	recs := []rec{{ns: 1e9, data: frames[0]}, {ns: 2e9, data: frames[1]}}
	plain := pcapBytes(t, false, layers.LinkTypeEthernet, recs)
	for name, b := range map[string][]byte{"plain": plain, "gzip": gzipBytes(t, plain)} {
		t.Run(name, func(t *testing.T) {
			s, err := Open([]string{"-"}, bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			pkts, err := readAll(t, s)
			if err != nil || len(pkts) != 2 || pkts[1].Frame != 2 || !bytes.Equal(pkts[1].Data, frames[1]) {
				t.Fatalf("got %d packets, err %v", len(pkts), err)
			}
			if n := s.Files()[0].Name; n != "-" {
				t.Errorf("name %q", n)
			}
		})
	}
	t.Run("twice", func(t *testing.T) {
		_, err := Open([]string{"-", "-"}, bytes.NewReader(plain))
		if !IsFatal(err) || !strings.Contains(err.Error(), "more than once") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSourceMerge merges three files with interleaved and equal timestamps;
// one file is empty but for its header.
func TestSourceMerge(t *testing.T) {
	frames := testFrames(t, 8)
	dir := t.TempDir()
	// a: times 1 3 5 7; b: 2 3 4 8 (pcapng, gzipped); c: no packets.
	a := writeFile(t, dir, "a.pcap", pcapBytes(t, true, layers.LinkTypeEthernet, []rec{
		{ns: 1, data: frames[0]}, {ns: 3, data: frames[1]}, {ns: 5, data: frames[2]}, {ns: 7, data: frames[3]},
	}))
	b := writeFile(t, dir, "b.pcapng.gz", gzipBytes(t, pcapngBytes(t, []layers.LinkType{layers.LinkTypeEthernet}, []rec{
		{ns: 2, data: frames[4]}, {ns: 3, data: frames[5]}, {ns: 4, data: frames[6]}, {ns: 8, data: frames[7]},
	})))
	c := writeFile(t, dir, "c.pcap", pcapBytes(t, false, layers.LinkTypeEthernet, nil))
	s := openTest(t, a, c, b)
	pkts, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	// The tie at time 3 goes to a, listed first.
	want := []struct {
		file, frame, data int
		ns                int64
	}{
		{0, 1, 0, 1}, {2, 1, 4, 2}, {0, 2, 1, 3}, {2, 2, 5, 3}, {2, 3, 6, 4}, {0, 3, 2, 5}, {0, 4, 3, 7}, {2, 4, 7, 8},
	}
	if len(pkts) != len(want) {
		t.Fatalf("got %d packets, want %d", len(pkts), len(want))
	}
	for i, w := range want {
		p := pkts[i]
		if p.File != w.file || p.Frame != w.frame || p.Time != w.ns || !bytes.Equal(p.Data, frames[w.data]) {
			t.Errorf("packet %d: file %d frame %d time %d, want file %d frame %d time %d", i, p.File, p.Frame, p.Time, w.file, w.frame, w.ns)
		}
	}
	fi := s.Files()
	if fi[0].Packets != 4 || fi[1].Packets != 0 || fi[1].First != 0 || fi[2].Packets != 4 || fi[2].Format != "pcapng.gz" {
		t.Errorf("Files() = %+v", fi)
	}
	if err := s.Next(new(Packet)); err != io.EOF {
		t.Errorf("Next after the end = %v", err)
	}
}

// TestSourceWarnings checks the problems that end one file but not the run:
// the other file is always read to its end, and packets before the problem
// are kept.
func TestSourceWarnings(t *testing.T) {
	frames := testFrames(t, 3)
	recs := []rec{{ns: 10, data: frames[0]}, {ns: 20, data: frames[1]}, {ns: 30, data: frames[2]}}
	pcap := pcapBytes(t, true, layers.LinkTypeEthernet, recs)
	// Offset of the third record: 24 + Σ(16 + caplen) of the first two.
	off3 := 24 + 16 + len(frames[0]) + 16 + len(frames[1])
	ng := pcapngBytes(t, []layers.LinkType{layers.LinkTypeEthernet}, recs)
	ngOff3 := len(ng) - (32 + (len(frames[2])+3)&^3)

	badCaplen := bytes.Clone(pcap)
	binary.LittleEndian.PutUint32(badCaplen[off3+8:], 1<<30)
	zeroBlock := bytes.Clone(ng)
	binary.LittleEndian.PutUint32(zeroBlock[ngOff3+4:], 0)
	bigCaplen := bytes.Clone(ng)
	binary.LittleEndian.PutUint32(bigCaplen[ngOff3+20:], 4000)
	gzCut := gzipBytes(t, pcap)
	gzCut = gzCut[:len(gzCut)-20]

	tests := []struct {
		name   string
		file   []byte
		keep   int   // packets read from the file
		offset int64 // -1: do not check
		want   error
		text   string
	}{
		{"cut-in-record-data", pcap[:len(pcap)-5], 2, int64(off3), ErrTruncated, "ends inside a record"},
		{"cut-in-record-header", pcap[:off3+7], 2, int64(off3), ErrTruncated, "ends inside a record"},
		{"caplen-too-large", badCaplen, 2, int64(off3), ErrBadLength, "1073741824 captured bytes of a"},
		{"pcapng-cut", ng[:len(ng)-9], 2, int64(ngOff3), ErrTruncated, "ends inside a record"},
		{"pcapng-zero-block-length", zeroBlock, 2, int64(ngOff3), ErrBadLength, "length 0"},
		{"pcapng-caplen-over-block", bigCaplen, 2, int64(ngOff3), ErrBadLength, "4000 captured bytes"},
		{"gzip-cut", gzCut, 2, int64(off3), ErrTruncated, "gzip stream ends early"},
	}
	other := pcapBytes(t, true, layers.LinkTypeEthernet, []rec{{ns: 5, data: frames[0]}, {ns: 25, data: frames[1]}, {ns: 35, data: frames[2]}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bad := writeFile(t, dir, "bad", tt.file)
			good := writeFile(t, dir, "good.pcap", other)
			s := openTest(t, good, bad)
			pkts, err := readAll(t, s)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			n := 0
			for _, p := range pkts {
				if p.File == 1 {
					n++
				}
			}
			if n != tt.keep || len(pkts) != tt.keep+3 {
				t.Errorf("kept %d of the bad file (%d in all), want %d", n, len(pkts), tt.keep)
			}
			ws := s.Warnings()
			if len(ws) != 1 {
				t.Fatalf("warnings = %v", ws)
			}
			var ie *InputError
			if !errors.As(ws[0], &ie) || IsFatal(ws[0]) || !errors.Is(ws[0], tt.want) {
				t.Fatalf("warning %v is not a non-fatal %v", ws[0], tt.want)
			}
			if ie.File != bad || ie.Frame != tt.keep+1 || (tt.offset >= 0 && ie.Offset != tt.offset) {
				t.Errorf("warning at %s frame %d offset %d, want frame %d offset %d", ie.File, ie.Frame, ie.Offset, tt.keep+1, tt.offset)
			}
			msg := ws[0].Error()
			for _, sub := range []string{bad, fmt.Sprintf("frame %d", tt.keep+1), tt.text} {
				if !strings.Contains(msg, sub) {
					t.Errorf("message %q lacks %q", msg, sub)
				}
			}
			if tt.offset >= 0 && !strings.Contains(msg, fmt.Sprintf("offset %d", tt.offset)) {
				t.Errorf("message %q lacks the offset %d", msg, tt.offset)
			}
		})
	}
}

func TestSourceFatal(t *testing.T) {
	frames := testFrames(t, 2)
	dir := t.TempDir()
	good := writeFile(t, dir, "good.pcap", pcapBytes(t, false, layers.LinkTypeEthernet, []rec{{ns: 1, data: frames[0]}}))

	tests := []struct {
		name   string
		file   []byte // nil: the file does not exist
		want   error
		texts  []string
		atNext bool // the error comes from Next, not Open
	}{
		{"missing", nil, fs.ErrNotExist, []string{"no such file"}, false},
		{"garbage", []byte("this is not a capture file at all\n"), ErrNotCapture, []string{"not a pcap or pcapng file"}, false},
		{"empty", []byte{}, ErrNotCapture, []string{"empty"}, false},
		{"short", []byte{0xd4, 0xc3}, ErrNotCapture, []string{"only 2 bytes"}, false},
		{"gzip-garbage", gzipBytes(t, []byte("GIF89a not a capture")), ErrNotCapture, []string{"not a pcap"}, false},
		{"pcap-header-cut", pcapBytes(t, false, layers.LinkTypeEthernet, nil)[:20], io.ErrUnexpectedEOF, []string{"bad pcap file header"}, false},
		{"pcap-802.11", pcapBytes(t, false, layers.LinkTypeIEEE802_11, nil), ErrLinkType, []string{"unsupported link type", "802.11 (105)"}, false},
		{"pcap-unknown-link", pcapBytes(t, false, layers.LinkType(147), nil), ErrLinkType, []string{"link type 147"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(dir, tt.name)
			if tt.file != nil {
				writeFile(t, dir, tt.name, tt.file)
			}
			s, err := Open([]string{good, name}, nil)
			if tt.atNext {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer s.Close()
				_, err = readAll(t, s)
				if err2 := s.Next(new(Packet)); err2 != err {
					t.Errorf("a fatal error is not sticky: %v then %v", err, err2)
				}
			} else if s != nil {
				t.Fatal("Open succeeded")
			}
			if !IsFatal(err) || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want a fatal %v", err, tt.want)
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != name {
				t.Fatalf("err %v does not name %s", err, name)
			}
			for _, sub := range append(tt.texts, name) {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("message %q lacks %q", err, sub)
				}
			}
		})
	}
	if _, err := Open(nil, nil); err == nil {
		t.Error("Open of no files succeeded")
	}
	if IsFatal(io.EOF) || IsFatal(nil) || !IsFatal(errors.New("x")) {
		t.Error("IsFatal of io.EOF, nil or a plain error")
	}
}

// TestSourceZeroCopyAllocs checks that reading allocates nothing per packet
// once the buffers exist.
func TestSourceZeroCopyAllocs(t *testing.T) {
	frames := testFrames(t, 4)
	var recs []rec
	for i := range 4000 {
		recs = append(recs, rec{ns: int64(i) * 1000, data: frames[i%4]})
	}
	for name, b := range map[string][]byte{
		"pcap":   pcapBytes(t, true, layers.LinkTypeEthernet, recs),
		"pcapng": pcapngBytes(t, []layers.LinkType{layers.LinkTypeEthernet}, recs),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// Two files with the same times: the merge alternates.
			s := openTest(t, writeFile(t, dir, "a", b), writeFile(t, dir, "b", b))
			var p Packet
			for range 10 {
				s.Next(&p)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				if err := s.Next(&p); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per packet", allocs)
			}
		})
	}
}

// openTest opens captures for a test, closed when the test ends.
func openTest(t testing.TB, names ...string) *Source {
	t.Helper()
	s, err := Open(names, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// FuzzSource feeds damaged captures to Source and Decoder: they must end,
// without panicking, in io.EOF or an error.
func FuzzSource(f *testing.F) {
	frames := testFrames(f, 3)
	recs := []rec{{ns: 1, data: frames[0]}, {ns: 2, data: frames[1][:54], wire: len(frames[1])}, {ns: 3, data: frames[2]}}
	pcap := pcapBytes(f, true, layers.LinkTypeEthernet, recs)
	f.Add(pcap)
	f.Add(bigEndianPcap(false, layers.LinkTypeEthernet, recs))
	f.Add(pcapngBytes(f, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL}, recs))
	f.Add(bigEndianPcapng(layers.LinkTypeEthernet, recs))
	f.Add(gzipBytes(f, pcap))
	// The hostile shapes of issue 12, small: a record over 256 KiB (its
	// bytes cut off), captured over original length, an unreadable
	// interface, interface descriptions and name resolution blocks.
	a := frames[0]
	f.Add(append(append(pcapHeader(0x7fffffff, layers.LinkTypeEthernet), pcapRecord(1, 1<<20, 1<<20, a)...), pcapRecord(2, len(a), len(a), a)...))
	f.Add(append(pcapHeader(65535, layers.LinkTypeEthernet), pcapRecord(1, len(a), 20, a)...))
	f.Add(bytes.Join([][]byte{ngSHB(), ngIDB(layers.LinkTypeEthernet, 0), ngIDB(layers.LinkTypeIEEE802_11, 0), ngNRB(40),
		ngEPB(1, 1, len(a), a), ngEPB(0, 2, 20, a), ngIDB(layers.LinkTypeEthernet, 0), ngEPB(2, 3, len(a), a)}, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Open([]string{"-"}, bytes.NewReader(b))
		if err != nil {
			return
		}
		defer s.Close()
		d := NewDecoder()
		var p Packet
		var seg Segment
		last := 0
		for n := 0; ; n++ {
			// A record takes 16 bytes at least, and deflate inflates
			// at most 1032 times: more packets means the reader loops.
			if n > 1032*len(b)/16+1 {
				t.Fatalf("%d packets from %d bytes", n, len(b))
			}
			err := s.Next(&p)
			if err != nil {
				// Every problem is an InputError naming the input; the
				// non-fatal ones end the file with a warning.
				var ie *InputError
				if err != io.EOF && (!errors.As(err, &ie) || ie.File != "-" || !IsFatal(err)) {
					t.Fatalf("Next: %v", err)
				}
				// Warnings name frames in the order met (skipped
				// records take frame numbers too), or no frame at all.
				prev := 0
				for _, w := range s.Warnings() {
					if !errors.As(w, &ie) || ie.File != "-" || ie.Frame < 0 || IsFatal(w) {
						t.Fatalf("warning %v after %d packets", w, n)
					}
					if ie.Frame > 0 {
						if ie.Frame < prev {
							t.Fatalf("warning %v after one about frame %d", w, prev)
						}
						prev = ie.Frame
					}
				}
				if fi := s.Files()[0]; fi.Packets != n {
					t.Fatalf("Files() says %d packets, %d read", fi.Packets, n)
				}
				return
			}
			if p.Frame <= last || len(p.Data) > maxCaptureLen || p.Length < len(p.Data) {
				t.Fatalf("packet %d: frame %d after %d, %d bytes of %d", n+1, p.Frame, last, len(p.Data), p.Length)
			}
			last = p.Frame
			d.Decode(&p, &seg)
		}
	})
}
