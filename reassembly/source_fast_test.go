package reassembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// readAllTrace reads a capture to its end and describes every packet,
// error and warning on the way.
func readAllTrace(data []byte, fast bool) string {
	defer func(old bool) { pcapFast = old }(pcapFast)
	pcapFast = fast
	var b bytes.Buffer
	src, err := Open([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		return "open: " + err.Error()
	}
	defer src.Close()
	var p Packet
	for i := 0; i < 1<<20; i++ {
		err := src.Next(&p)
		if err == nil {
			// Not Position: how far ahead the buffer reads may differ.
			fmt.Fprintf(&b, "%d %d %d %d %d %x|", p.File, p.Frame, p.Time, p.Length, p.LinkType, p.Data)
		} else {
			fmt.Fprintf(&b, "err %v|", err)
			if IsFatal(err) || err.Error() == "EOF" {
				break
			}
		}
	}
	for _, w := range src.Warnings() {
		fmt.Fprintf(&b, "warn %v|", w)
	}
	fmt.Fprintf(&b, "%+v", src.Files())
	return b.String()
}

// TestPcapFastPath checks that reading pcap records straight from the
// buffer gives what pcapgo gives: the same packets, times, positions,
// errors and warnings, on sound captures in every byte order and
// resolution and on ones with record headers damaged at random.
func TestPcapFastPath(t *testing.T) {
	var gen bytes.Buffer
	if _, err := synth.Generate(&gen, synth.GenConfig{Seed: 4, Packets: 3000}); err != nil {
		t.Fatal(err)
	}
	caps := [][]byte{gen.Bytes(), swapped(t, gen.Bytes(), false), swapped(t, gen.Bytes(), true)}
	files, _ := filepath.Glob("../testdata/*.pcap")
	if dir := os.Getenv("TWSCOPE_CORPUS"); dir != "" { // more captures, when given
		more, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap"))
		files = append(files, more...)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			caps = append(caps, b)
		}
	}
	rng := rand.New(rand.NewSource(2))
	check := func(name string, b []byte) {
		if fast, slow := readAllTrace(b, true), readAllTrace(b, false); fast != slow {
			i := 0
			for i < min(len(fast), len(slow)) && fast[i] == slow[i] {
				i++
			}
			i = max(i-300, 0)
			t.Fatalf("%s: fast and pcapgo differ:\n%.600s\n%.600s", name, fast[i:], slow[i:])
		}
	}
	for i, c := range caps {
		check(fmt.Sprint("capture ", i), c)
		for j := range 30 {
			m := append([]byte(nil), c...)
			for range 1 + rng.Intn(3) {
				switch k := rng.Intn(len(m)-24) + 24; rng.Intn(3) {
				case 0:
					m[k] = byte(rng.Intn(256))
				case 1:
					m = m[:k]
				default:
					binary.LittleEndian.PutUint32(m[k&^3:], uint32(rng.Intn(1<<17)))
				}
			}
			check(fmt.Sprint("capture ", i, " damaged ", j), m)
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
