package analyze

import (
	"math/rand"
	"net/netip"
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
