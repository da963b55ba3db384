package analyze

import (
	"math/rand"
	"net/netip"
	"runtime"
	"slices"
	"testing"
)

func TestSelectFirst(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	less := func(a, b *int) bool { return *a < *b }
	for _, tt := range []struct{ len, n, values int }{
		{1, 1, 1}, {2, 1, 2}, {10, 3, 100}, {100, 25, 10}, {1000, 250, 1 << 30}, {1000, 999, 3}, {64, 64, 64},
	} {
		s := make([]int, tt.len)
		for i := range s {
			s[i] = rng.Intn(tt.values)
		}
		want := slices.Clone(s)
		slices.Sort(want)
		selectFirst(s, tt.n, less)
		got := slices.Clone(s[:tt.n])
		slices.Sort(got)
		if !slices.Equal(got, want[:tt.n]) {
			t.Errorf("len %d n %d: first %v, want %v", tt.len, tt.n, got, want[:tt.n])
		}
		rest := slices.Clone(s[tt.n:])
		slices.Sort(rest)
		if !slices.Equal(rest, want[tt.n:]) {
			t.Errorf("len %d n %d: the rest changed", tt.len, tt.n)
		}
	}
}

func TestAddrKey(t *testing.T) {
	addrs := []string{"10.0.0.1", "::ffff:10.0.0.1", "::a00:1", "10.0.0.2", "2001:db8::1", "::"}
	seen := map[addrKey]string{}
	for _, s := range addrs {
		k := keyOfAddr(netip.MustParseAddr(s))
		if o, ok := seen[k]; ok {
			t.Errorf("%s and %s share a key", o, s)
		}
		seen[k] = s
		if k != keyOfAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s: key not stable", s)
		}
	}
}

// TestIDTable checks the table against a map through puts and deletes
// that wrap around the slots and shift runs back.
func TestIDTable(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	tab := newIDTable[addrKey]()
	want := map[addrKey]int32{}
	for step := range 20000 {
		// Few distinct keys, so that deletes hit and runs form.
		k := addrKey{hi: uint64(rng.Intn(3)), lo: uint64(rng.Intn(600)), v6: rng.Intn(2) == 0}
		_, in := want[k]
		switch {
		case !in && rng.Intn(3) > 0:
			tab.put(k, int32(step))
			want[k] = int32(step)
		case in && rng.Intn(2) == 0:
			tab.del(k)
			delete(want, k)
		case rng.Intn(2) == 0:
			tab.set(k, int32(-step)) // a new id, or a new key
			want[k] = int32(-step)
		default:
			tab.del(addrKey{hi: 9, lo: uint64(step)}) // not there: no change
		}
		if tab.len() != len(want) {
			t.Fatalf("step %d: %d keys, want %d", step, tab.len(), len(want))
		}
		if step%1000 == 0 || step > 19900 {
			for k, id := range want {
				if got, ok := tab.get(k); !ok || got != id {
					t.Fatalf("step %d: %v -> %d %v, want %d", step, k, got, ok, id)
				}
			}
			if _, ok := tab.get(addrKey{hi: 9}); ok {
				t.Fatalf("step %d: found a key never put", step)
			}
		}
	}
}

// TestFitAllSameFits checks that the pairs fitted on several goroutines
// at the end get the fits (and clock indexes) fitting them one by one
// gives.
func TestFitAllSameFits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rng := rand.New(rand.NewSource(3))
	d := newNATTimestamps()
	var want [][]stampConn
	var wantFits []clockFit
	for i := range 2*natFitAllMin + 10 {
		ip := ipStamps{addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
		p := pairStamps{peer: netip.MustParseAddr("192.0.2.1")}
		off := rng.Uint32()
		for c := range 3 + rng.Intn(20) {
			at := int64(1e18) + int64(c)*int64(rng.Intn(3e9))
			if rng.Intn(3) == 0 {
				off = rng.Uint32() // another clock
			}
			ts := off + uint32(at/1e6)
			p.conns = append(p.conns, stampConn{id: c + 1, firstAt: at, lastAt: at + 1e8, first: ts, last: ts + 100,
				port: uint16(40000 + c), peerPort: 443})
		}
		cs := slices.Clone(p.conns)
		wantFits = append(wantFits, fitPair(cs))
		want = append(want, cs)
		ip.peers = append(ip.peers, p)
		d.slab = append(d.slab, ip)
	}
	all := make([]*ipStamps, len(d.slab))
	for i := range d.slab {
		all[i] = &d.slab[i]
	}
	d.fitAll(all)
	for i, ip := range all {
		p := &ip.peers[0]
		if p.fitted == 0 {
			t.Fatalf("pair %d not fitted", i)
		}
		if got := d.fits[p.fitted-1]; got != wantFits[i] {
			t.Fatalf("pair %d: fit %+v, want %+v", i, got, wantFits[i])
		}
		if !slices.Equal(p.conns, want[i]) {
			t.Fatalf("pair %d: clock indexes differ", i)
		}
	}
}
