package reassembly

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestDecodeFastPath checks that the Ethernet/IPv4/TCP fast path decodes
// every packet exactly as the gopacket parsers do: the packets of a
// generated capture, of the test captures, and copies of them with header
// bytes and lengths changed at random.
func TestDecodeFastPath(t *testing.T) {
	var pkts []Packet
	add := func(src *Source) {
		var p Packet
		for src.Next(&p) == nil {
			p.Data = append([]byte(nil), p.Data...)
			pkts = append(pkts, p)
		}
		src.Close()
	}
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 3, Packets: 5000}); err != nil {
		t.Fatal(err)
	}
	src, err := Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	add(src)
	files, _ := filepath.Glob("../testdata/*.pcap*")
	if dir := os.Getenv("TWSCOPE_CORPUS"); dir != "" { // more captures, when given
		filepath.WalkDir(dir, func(f string, _ os.DirEntry, _ error) error {
			if m, _ := filepath.Match("*.pcap*", filepath.Base(f)); m {
				files = append(files, f)
			}
			return nil
		})
	}
	for _, f := range files {
		if src, err := Open([]string{f}, os.Stdin); err == nil {
			add(src)
		}
	}
	fast, slow := NewDecoder(), NewDecoder()
	slow.noFast = true
	rng := rand.New(rand.NewSource(1))
	check := func(p *Packet) {
		var a, b Segment
		ka, kb := fast.Decode(p, &a), slow.Decode(p, &b)
		if ka != kb || (ka == KindTCP && a != b) {
			t.Fatalf("frame %d (% x):\nfast %v %+v\nslow %v %+v", p.Frame, p.Data, ka, a, kb, b)
		}
	}
	for i := range pkts {
		p := pkts[i]
		check(&p)
		for range 20 {
			q := p
			q.Data = append([]byte(nil), p.Data...)
			for range 1 + rng.Intn(3) {
				if len(q.Data) == 0 {
					break
				}
				j := rng.Intn(min(len(q.Data), 14+20+8))
				switch rng.Intn(4) {
				case 0:
					q.Data[j] = byte(rng.Intn(256))
				case 1:
					q.Data[j] ^= 1 << rng.Intn(8)
				case 2:
					q.Data = q.Data[:rng.Intn(len(q.Data)+1)]
				default:
					q.Data = append(q.Data, make([]byte, rng.Intn(8))...)
				}
			}
			check(&q)
		}
	}
	t.Logf("%d packets", len(pkts))
	if len(pkts) < 5000 {
		t.Fatalf("only %d packets", len(pkts))
	}
}
