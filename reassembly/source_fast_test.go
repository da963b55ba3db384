package reassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/twscope/twscope/reassembly/synth"
)

// readTrace describes every packet of a capture as Source reads it, up to
// the first warning or error, and whether it got to the end cleanly.
func readTrace(data []byte) (string, bool) {
	var b strings.Builder
	src, err := Open([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		return "", false
	}
	defer src.Close()
	var p Packet
	for i := 0; i < 1<<20; i++ {
		err := src.Next(&p)
		if err != nil || len(src.Warnings()) > 0 {
			return b.String(), err == io.EOF && len(src.Warnings()) == 0
		}
		fmt.Fprintf(&b, "%d %d %d %d %x|", p.Frame, p.Time, p.Length, p.LinkType, p.Data)
	}
	return b.String(), false
}

// pcapgoTrace is readTrace with pcapgo's readers, the reference.
func pcapgoTrace(data []byte) (string, bool) {
	var b strings.Builder
	type reader interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r reader
	var lt func(gopacket.CaptureInfo) layers.LinkType
	if pr, err := pcapgo.NewReader(bytes.NewReader(data)); err == nil {
		r = pr
		lt = func(gopacket.CaptureInfo) layers.LinkType { return pr.LinkType() }
	} else if nr, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true}); err == nil {
		r = nr
		lt = func(ci gopacket.CaptureInfo) layers.LinkType { return ci.AncillaryData[0].(layers.LinkType) }
	} else {
		return "", false
	}
	for i := 1; i < 1<<20; i++ {
		d, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			return b.String(), err == io.EOF
		}
		if len(d) > maxCaptureLen || !LinkTypeSupported(lt(ci)) {
			return b.String(), false
		}
		fmt.Fprintf(&b, "%d %d %d %d %x|", i, ci.Timestamp.UnixNano(), max(ci.Length, len(d)), lt(ci), d)
	}
	return b.String(), false
}

// TestReaderMatchesPcapgo checks that our pcap and pcapng readers give
// what pcapgo gives: the same packets, times and lengths, on sound captures
// in every byte order and resolution, and up to the first problem on ones
// with record headers damaged at random (where the two may part: ours skips
// what pcapgo stops at).
func TestReaderMatchesPcapgo(t *testing.T) {
	var gen bytes.Buffer
	if _, err := synth.Generate(&gen, synth.GenConfig{Seed: 4, Packets: 3000}); err != nil {
		t.Fatal(err)
	}
	caps := [][]byte{gen.Bytes(), swapped(t, gen.Bytes(), false), swapped(t, gen.Bytes(), true)}
	files, _ := filepath.Glob("../testdata/*.pcap*")
	more, _ := filepath.Glob("testdata/*.pcap*")
	files = append(files, more...)
	if dir := os.Getenv("TWSCOPE_CORPUS"); dir != "" { // more captures, when given
		more, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap*"))
		files = append(files, more...)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && !strings.HasSuffix(f, ".gz") {
			caps = append(caps, b)
		}
	}
	if len(caps) < 5 {
		t.Fatalf("only %d captures", len(caps))
	}
	rng := rand.New(rand.NewSource(2))
	check := func(name string, b []byte, sound bool) {
		ours, ok1 := readTrace(b)
		ref, ok2 := pcapgoTrace(b)
		if sound && (!ok1 || !ok2) {
			t.Fatalf("%s: not read to its end (ours %v, pcapgo %v)", name, ok1, ok2)
		}
		if !ok1 || !ok2 {
			n := min(len(ours), len(ref))
			n = strings.LastIndexByte(ours[:n], '|') + 1
			ours, ref = ours[:n], ref[:n]
		}
		if ours != ref {
			i := 0
			for i < min(len(ours), len(ref)) && ours[i] == ref[i] {
				i++
			}
			i = max(i-300, 0)
			t.Fatalf("%s: ours and pcapgo differ:\n%.600s\n%.600s", name, ours[i:], ref[i:])
		}
	}
	for i, c := range caps {
		check(fmt.Sprint("capture ", i), c, true)
		for j := range 30 {
			m := append([]byte(nil), c...)
			for range 1 + rng.Intn(3) {
				if len(m) <= 25 {
					break
				}
				switch k := rng.Intn(len(m)-24) + 24; rng.Intn(3) {
				case 0:
					m[k] = byte(rng.Intn(256))
				case 1:
					m = m[:k]
				default:
					if k&^3+4 <= len(m) {
						binary.LittleEndian.PutUint32(m[k&^3:], uint32(rng.Intn(1<<17)))
					}
				}
			}
			check(fmt.Sprint("capture ", i, " damaged ", j), m, false)
		}
	}
}

// swapped rewrites a little-endian microsecond pcap as big-endian, or as
// nanosecond resolution.
func swapped(t *testing.T, b []byte, nano bool) []byte {
	t.Helper()
	le, be := binary.LittleEndian, binary.BigEndian
	out := append([]byte(nil), b...)
	if nano {
		le.PutUint32(out[0:], 0xa1b23c4d)
	} else {
		be.PutUint32(out[0:], 0xa1b2c3d4)
		for _, o := range []int{4, 6} {
			be.PutUint16(out[o:], le.Uint16(b[o:]))
		}
		for _, o := range []int{8, 12, 16, 20} {
			be.PutUint32(out[o:], le.Uint32(b[o:]))
		}
	}
	for off := 24; off+16 <= len(b); {
		n := int(le.Uint32(b[off+8:]))
		if nano {
			le.PutUint32(out[off+4:], le.Uint32(b[off+4:])*1000+7)
		} else {
			for k := 0; k < 16; k += 4 {
				be.PutUint32(out[off+k:], le.Uint32(b[off+k:]))
			}
		}
		off += 16 + n
	}
	return out
}
