package reassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// Hostile captures are written here byte by byte, little-endian, because
// pcapgo's writers refuse what they hold: records longer than 256 KiB,
// captured lengths over the original length, unknown link types, millions
// of interface descriptions. A big record's bytes come from a reader that
// makes them up as they are read, so that no test holds them.

var le = binary.LittleEndian

// pcapHeader is a microsecond pcap file header.
func pcapHeader(snap uint32, lt layers.LinkType) []byte {
	b := make([]byte, 24)
	le.PutUint32(b[0:], 0xa1b2c3d4)
	le.PutUint16(b[4:], 2)
	le.PutUint16(b[6:], 4)
	le.PutUint32(b[16:], snap)
	le.PutUint32(b[20:], uint32(lt))
	return b
}

// pcapRecord is a record header claiming caplen and wire bytes, followed by
// data (which may be shorter, when the caller streams the rest).
func pcapRecord(sec uint32, caplen, wire int, data []byte) []byte {
	b := make([]byte, 16, 16+len(data))
	le.PutUint32(b[0:], sec)
	le.PutUint32(b[8:], uint32(caplen))
	le.PutUint32(b[12:], uint32(wire))
	return append(b, data...)
}

func ngBlock(typ uint32, body []byte) []byte {
	n := 12 + (len(body)+3)&^3
	b := make([]byte, n)
	le.PutUint32(b[0:], typ)
	le.PutUint32(b[4:], uint32(n))
	copy(b[8:], body)
	le.PutUint32(b[n-4:], uint32(n))
	return b
}

func ngSHB() []byte {
	body := make([]byte, 16)
	le.PutUint32(body[0:], ngByteOrderMagic)
	le.PutUint16(body[4:], 1)
	le.PutUint64(body[8:], ^uint64(0))
	return ngBlock(ngSectionHeader, body)
}

func ngIDB(lt layers.LinkType, snap uint32) []byte {
	body := make([]byte, 8)
	le.PutUint16(body[0:], uint16(lt))
	le.PutUint32(body[4:], snap)
	return ngBlock(ngInterface, body)
}

// ngEPB is an enhanced packet block at sec seconds (microsecond units).
func ngEPB(iface int, sec uint64, wire int, data []byte) []byte {
	body := make([]byte, 20, 20+len(data))
	le.PutUint32(body[0:], uint32(iface))
	ts := sec * 1e6
	le.PutUint32(body[4:], uint32(ts>>32))
	le.PutUint32(body[8:], uint32(ts))
	le.PutUint32(body[12:], uint32(len(data)))
	le.PutUint32(body[16:], uint32(wire))
	return ngBlock(ngEnhancedPacket, append(body, data...))
}

// ngNRB is a name resolution block holding one IPv4 record of a long name.
func ngNRB(name int) []byte {
	body := make([]byte, 8+name+1)
	le.PutUint16(body[0:], 1)
	le.PutUint16(body[2:], uint16(4+name+1))
	for i := range name {
		body[8+i] = 'a'
	}
	return ngBlock(4, append(body, 0, 0, 0, 0)) // and opt_endofrecord
}

// zeros is n zero bytes, made up as they are read.
func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestSourceReadsOn checks the damaged records that the reader skips or
// reads another way and then reads on: the packets around them are all
// read, with their Wireshark frame numbers; the first of each kind is a
// warning naming the file and frame, and more of a kind are counted.
func TestSourceReadsOn(t *testing.T) {
	frames := testFrames(t, 3)
	a, b, c := frames[0], frames[1], frames[2]
	big := int64(1 << 20) // over 256 KiB
	cat := func(rs ...io.Reader) io.Reader { return io.MultiReader(rs...) }
	by := func(bs ...[]byte) io.Reader { return bytes.NewReader(bytes.Join(bs, nil)) }
	tests := []struct {
		name    string
		file    io.Reader
		frames  []int    // frame numbers read
		lengths []int    // their lengths (nil: not checked)
		warns   []string // a text each warning holds, in order
	}{
		{"pcap-oversize-record-huge-snaplen",
			cat(by(pcapHeader(0x7fffffff, layers.LinkTypeEthernet), pcapRecord(1, len(a), len(a), a), pcapRecord(2, int(big), int(big), nil)),
				zeros(big), by(pcapRecord(3, len(c), len(c), c))),
			[]int{1, 3}, nil, []string{"frame 2 at offset 94: impossible record length: a record of 1048576 bytes, over 262144: skipped"}},
		{"pcap-oversize-records-counted",
			cat(by(pcapHeader(0, layers.LinkTypeEthernet), pcapRecord(1, int(big), int(big), nil)), zeros(big),
				by(pcapRecord(2, int(big)+1, int(big)+1, nil)), zeros(big+1), by(pcapRecord(3, len(c), len(c), c))),
			[]int{3}, nil, []string{"frame 1 ", "2 records over 262144 bytes skipped in all"}},
		{"pcap-oversize-lengths-disagree",
			cat(by(pcapHeader(0x7fffffff, layers.LinkTypeEthernet), pcapRecord(1, len(a), len(a), a), pcapRecord(2, int(big), 60, nil)), zeros(big)),
			[]int{1}, nil, []string{"frame 2 at offset 94: impossible record length: 1048576 captured bytes of a 60-byte packet"}},
		{"pcap-caplen-over-wire",
			by(pcapHeader(65535, layers.LinkTypeEthernet), pcapRecord(1, len(a), len(a), a), pcapRecord(2, len(b), 40, b),
				pcapRecord(3, len(c), 40, c)),
			[]int{1, 2, 3}, []int{len(a), len(b), len(c)},
			[]string{fmt.Sprintf("frame 2 at offset 94: impossible record length: %d captured bytes of a 40-byte packet: read as captured", len(b)),
				"2 records with a captured length over the original length read as captured in all"}},
		{"pcapng-oversize-record",
			cat(by(ngSHB(), ngIDB(layers.LinkTypeEthernet, 0), ngEPB(0, 1, len(a), a)), by(ngEPB(0, 2, int(big), make([]byte, big))),
				by(ngEPB(0, 3, len(c), c))),
			[]int{1, 3}, nil, []string{"frame 2 at offset 136: impossible record length: a record of 1048576 bytes, over 262144: skipped"}},
		{"pcapng-caplen-over-wire",
			by(ngSHB(), ngIDB(layers.LinkTypeEthernet, 0), ngEPB(0, 1, 20, a), ngEPB(0, 3, len(c), c)),
			[]int{1, 2}, []int{len(a), len(c)}, []string{"frame 1 at offset 48: impossible record length: 54 captured bytes of a 20-byte packet: read as captured"}},
		{"pcapng-unknown-link-type-interface",
			by(ngSHB(), ngIDB(layers.LinkTypeEthernet, 0), ngIDB(layers.LinkTypeIEEE802_11, 0), ngIDB(layers.LinkType(999), 0),
				ngEPB(0, 1, len(a), a), ngEPB(1, 2, len(b), b), ngEPB(2, 3, len(b), b), ngEPB(0, 4, len(c), c)),
			[]int{1, 4}, nil,
			[]string{"frame 2 at offset 176: interface 1: unsupported link type 802.11 (105): its packets are skipped",
				"2 packets of unreadable interfaces skipped in all"}},
		{"pcapng-name-resolution-blocks",
			by(ngSHB(), ngNRB(60000), ngIDB(layers.LinkTypeEthernet, 0), ngNRB(100), ngEPB(0, 1, len(a), a), ngNRB(2000), ngEPB(0, 2, len(b), b)),
			[]int{1, 2}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open([]string{"-"}, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			pkts, err := readAll(t, s)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			var fs, ls []int
			for _, p := range pkts {
				fs, ls = append(fs, p.Frame), append(ls, p.Length)
			}
			if fmt.Sprint(fs) != fmt.Sprint(tt.frames) {
				t.Errorf("frames %v, want %v", fs, tt.frames)
			}
			if tt.lengths != nil && fmt.Sprint(ls) != fmt.Sprint(tt.lengths) {
				t.Errorf("lengths %v, want %v", ls, tt.lengths)
			}
			ws := s.Warnings()
			if len(ws) != len(tt.warns) {
				t.Fatalf("warnings %v, want %d", ws, len(tt.warns))
			}
			for i, w := range ws {
				if IsFatal(w) || !strings.HasPrefix(w.Error(), "<stdin>: ") || !strings.Contains(w.Error(), tt.warns[i]) {
					t.Errorf("warning %q, want a non-fatal one about <stdin> holding %q", w, tt.warns[i])
				}
			}
			if fi := s.Files()[0]; fi.Packets != len(tt.frames) {
				t.Errorf("Files() says %d packets, want %d", fi.Packets, len(tt.frames))
			}
		})
	}
}

// manyInterfaces is a pcapng with a packet, n interface descriptions more
// and a packet on the first and on the last interface.
func manyInterfaces(n int, a []byte) io.Reader {
	idb := ngIDB(layers.LinkTypeEthernet, 0)
	head := bytes.Join([][]byte{ngSHB(), idb, ngEPB(0, 1, len(a), a)}, nil)
	tail := bytes.Join([][]byte{ngEPB(0, 2, len(a), a), ngEPB(n, 3, len(a), a), ngEPB(0, 4, len(a), a)}, nil)
	return io.MultiReader(bytes.NewReader(head), repeat(idb, n), bytes.NewReader(tail))
}

// repeat is b n times, made up as it is read.
func repeat(b []byte, n int) io.Reader {
	rs := make([]io.Reader, 0, 2)
	const chunk = 4096
	block := bytes.Repeat(b, chunk)
	for n > 0 {
		k := min(n, chunk)
		rs = append(rs, bytes.NewReader(block[:k*len(b)]))
		n -= k
		if len(rs) == cap(rs) {
			break
		}
	}
	if n == 0 {
		return io.MultiReader(rs...)
	}
	return io.MultiReader(append(rs, repeat(b, n))...)
}

// TestSourceInterfaceBound checks that interface descriptions past
// maxInterfaces in a section are counted, not kept, and that the packets of
// the interfaces kept are still read while those of the others are skipped.
func TestSourceInterfaceBound(t *testing.T) {
	a := testFrames(t, 1)[0]
	n := maxInterfaces + 10
	s, err := Open([]string{"-"}, manyInterfaces(n, a))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pkts, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var fs []int
	for _, p := range pkts {
		fs = append(fs, p.Frame)
	}
	if fmt.Sprint(fs) != "[1 2 4]" {
		t.Errorf("frames %v, want [1 2 4]", fs)
	}
	if f := s.files[0]; len(f.ifaces) != maxInterfaces || f.ifacesDropped != n+1-maxInterfaces {
		t.Errorf("%d interfaces kept, %d dropped", len(f.ifaces), f.ifacesDropped)
	}
	want := []string{
		"<stdin>: offset ", "interface description 65536: past 65536 in one section, dropped",
		"<stdin>: frame 3 at offset", "packet of interface 65546, past the 65536 interfaces kept: skipped",
		"<stdin>: 11 interface descriptions past 65536 in a section dropped in all", "",
	}
	ws := s.Warnings()
	if len(ws) != 3 {
		t.Fatalf("warnings %v", ws)
	}
	for i, w := range ws {
		if !strings.HasPrefix(w.Error(), want[2*i]) || !strings.Contains(w.Error(), want[2*i+1]) {
			t.Errorf("warning %q, want %q ... %q", w, want[2*i], want[2*i+1])
		}
	}
}

// BenchmarkHostileReaders reads the hostile shapes of issue 12 at full
// size: one 512 MiB record, and 2 million interface descriptions. The
// allocation per run (B/op) is the memory they cost: a few hundred KiB
// (the read buffers and the interfaces kept), not the record or the
// descriptions.
func BenchmarkHostileReaders(b *testing.B) {
	a := testFrames(b, 1)[0]
	const huge = 512 << 20
	shapes := []struct {
		name string
		file func() io.Reader
	}{
		{"pcap-512MiB-record", func() io.Reader {
			return io.MultiReader(bytes.NewReader(append(pcapHeader(0x7fffffff, layers.LinkTypeEthernet), pcapRecord(1, huge, huge, nil)...)),
				zeros(huge), bytes.NewReader(pcapRecord(2, len(a), len(a), a)))
		}},
		{"pcapng-2M-interfaces", func() io.Reader { return manyInterfaces(2_000_000, a) }},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				s, err := Open([]string{"-"}, sh.file())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := readAll(b, s); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}
