package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestSet4 checks that the IPv4 key, built from the header bytes without
// netip.Addr, is the key of the IPv4-mapped addresses: the same bytes, the
// same order, the same end taken for lo, including equal addresses (ports
// decide) and addresses whose order differs from their bytes read
// little-endian.
func TestSet4(t *testing.T) {
	cases := [][2][4]byte{
		{{10, 0, 0, 1}, {10, 0, 0, 2}},
		{{10, 0, 0, 2}, {10, 0, 0, 1}},
		{{10, 0, 0, 1}, {10, 0, 0, 1}},
		{{1, 0, 0, 255}, {2, 0, 0, 0}},
		{{255, 255, 255, 255}, {0, 0, 0, 0}},
		{{0, 0, 0, 0}, {0, 0, 0, 0}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var c [2][4]byte
		for i := range c {
			for j := range c[i] {
				c[i][j] = byte(rng.IntN(4)) // few values: many equal prefixes
			}
		}
		cases = append(cases, c)
	}
	ports := [][2]uint16{{80, 40000}, {40000, 80}, {80, 80}, {0, 65535}, {65535, 0}}
	for _, c := range cases {
		for _, pp := range ports {
			src, dst := netip.AddrFrom4(c[0]).As16(), netip.AddrFrom4(c[1]).As16()
			var want, got segKey
			want.set(&src, &dst, pp[0], pp[1])
			got.set4(append(c[0][:], c[1][:]...), pp[0], pp[1])
			if got != want {
				t.Fatalf("%v:%d -> %v:%d: got %+v, want %+v", c[0], pp[0], c[1], pp[1], got, want)
			}
		}
	}
}

// TestSegmentAddrs checks that Src and Dst give back the addresses set, in
// the family they came in, whichever end the key puts first.
func TestSegmentAddrs(t *testing.T) {
	for _, tt := range []struct{ src, dst string }{
		{"10.0.0.1", "10.0.0.2"}, {"10.0.0.2", "10.0.0.1"}, {"10.0.0.1", "10.0.0.1"},
		{"2001:db8::2", "2001:db8::1"}, {"::ffff:10.0.0.1", "::ffff:10.0.0.2"},
	} {
		src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
		for _, ports := range [][2]uint16{{1, 2}, {2, 1}} {
			s := Segment{SrcPort: ports[0], DstPort: ports[1]}
			s.SetAddrs(src, dst)
			if s.Src() != src || s.Dst() != dst {
				t.Errorf("%s -> %s ports %v: got %s -> %s", src, dst, ports, s.Src(), s.Dst())
			}
		}
	}
}
