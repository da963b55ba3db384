package communityid

import (
	"net/netip"
	"testing"
)

// The expected IDs are the spec's own examples (corelight/community-id-spec,
// the baseline of its tcp, udp, sctp and ipv6 traces, also used by its
// reference implementations' tests). Each flow is given in both directions:
// the ID must not depend on which side is the source.
func TestV1SpecExamples(t *testing.T) {
	tests := []struct {
		name     string
		seed     uint16
		proto    uint8
		src, dst string
		want     string
	}{
		{"tcp", 0, ProtoTCP, "128.232.110.120:34855", "66.35.250.204:80", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{"tcp seed 1", 1, ProtoTCP, "128.232.110.120:34855", "66.35.250.204:80", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
		{"udp", 0, ProtoUDP, "192.168.1.52:54585", "8.8.8.8:53", "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{"sctp, equal ports", 0, ProtoSCTP, "192.168.170.8:7", "192.168.170.56:7", "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
		{"tcp ipv6", 0, ProtoTCP, "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943", "[2607:f8b0:400c:c03::1a]:25", "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	}
	for _, tt := range tests {
		src, dst := netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst)
		if got := V1(tt.seed, tt.proto, src, dst); got != tt.want {
			t.Errorf("%s: V1(%s -> %s) = %s, want %s", tt.name, src, dst, got, tt.want)
		}
		if got := V1(tt.seed, tt.proto, dst, src); got != tt.want {
			t.Errorf("%s: V1(%s -> %s) = %s, want %s (reversed)", tt.name, dst, src, got, tt.want)
		}
	}
}

// TestV1Order checks the ordering rule on the same address: the lower port
// is hashed first, so swapping the ports of one side changes the ID only
// by that rule (both directions give one ID, different ports another).
func TestV1Order(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.1:1000")
	b := netip.MustParseAddrPort("10.0.0.1:2000")
	if V1(0, ProtoTCP, a, b) != V1(0, ProtoTCP, b, a) {
		t.Error("same address: the ID depends on the direction")
	}
	c := netip.MustParseAddrPort("10.0.0.1:2001")
	if V1(0, ProtoTCP, a, b) == V1(0, ProtoTCP, a, c) {
		t.Error("different ports give the same ID")
	}
	// An IPv4-mapped IPv6 address is the IPv4 flow.
	m := netip.AddrPortFrom(netip.MustParseAddr("::ffff:128.232.110.120"), 34855)
	if got := TCP(m, netip.MustParseAddrPort("66.35.250.204:80")); got != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" {
		t.Errorf("mapped address: %s", got)
	}
}

func BenchmarkTCP(b *testing.B) {
	c, s := netip.MustParseAddrPort("128.232.110.120:34855"), netip.MustParseAddrPort("66.35.250.204:80")
	b.ReportAllocs()
	for b.Loop() {
		_ = TCP(c, s)
	}
}
