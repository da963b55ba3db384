package analyze

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly"
)

// TestNATSampleBudget: however many client addresses send timestamps, the
// clock samples held stay within natMaxSamples, every pair keeps at least
// natMinShare, and each pair's count of timestamped connections stays
// exact (kept plus skipped); the samples dropped are said in a warning.
// Records are built by hand: 8,000 addresses x 20 timestamped
// connections to one server is 160,000 samples, past the budget, and
// fewer addresses than natMaxIPs, so none is judged early.
func TestNATSampleBudget(t *testing.T) {
	const ips, conns = 8000, 20
	d := newNATTimestamps()
	server := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 443)
	id := 0
	for round := range conns {
		for i := range ips {
			id++
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			at := int64(1e18) + int64(round)*1e9 + int64(i)*1e3
			r := &reassembly.Record{ID: id, Client: netip.AddrPortFrom(a, uint16(40000+round)), Server: server, Start: at, End: at + 1e8}
			r.C.HasTS, r.C.TSFirst, r.C.TSLast, r.C.TSFirstTime, r.C.TSLastTime = true, uint32(id), uint32(id)+100, at, at+1e8
			d.observe(r)
			if d.samples > natMaxSamples {
				t.Fatalf("record %d: %d samples held, budget %d", id, d.samples, natMaxSamples)
			}
		}
	}
	if d.ips.len() != ips || d.early != 0 {
		t.Fatalf("%d addresses held, %d judged early; want %d, 0", d.ips.len(), d.early, ips)
	}
	held := 0
	for i := range d.slab {
		ip := &d.slab[i]
		for _, p := range ip.peers {
			if got := len(p.conns) + p.skipped; got != conns {
				t.Fatalf("%s: %d timestamped connections counted, want %d", ip.addr, got, conns)
			}
			if len(p.conns) < natMinShare {
				t.Fatalf("%s: %d samples kept, want at least %d", ip.addr, len(p.conns), natMinShare)
			}
			held += len(p.conns)
		}
	}
	if held != d.samples || d.dropped != ips*conns-held {
		t.Fatalf("held %d, counted %d, dropped %d of %d", held, d.samples, d.dropped, ips*conns)
	}
	res := &Result{}
	d.finish(res)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "clock samples past the") {
		t.Fatalf("warnings %q, want one about the dropped samples", res.Warnings)
	}
}
