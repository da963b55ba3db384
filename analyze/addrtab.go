package analyze

import (
	"encoding/binary"
	"net/netip"
)

// addrKey is an address as a map key without a pointer (netip.Addr holds
// one for its zone and family), so that the garbage collector need not
// scan the per-address tables: the 16 bytes and whether it is IPv6
// (IPv4-mapped addresses stay apart from IPv4 ones, as netip.Addr keeps
// them). Captured addresses carry no zone.
type addrKey struct {
	hi, lo uint64
	v6     bool
}

func keyOfAddr(a netip.Addr) addrKey {
	b := a.As16()
	return addrKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), a.Is6()}
}

// selectFirst reorders s so that its first n elements are the n least by
// less, in no particular order (quickselect; less must be a total order
// for the set to be the same whatever the input order).
func selectFirst[T any](s []T, n int, less func(a, b *T) bool) {
	lo, hi := 0, len(s)
	for hi-lo > 1 && n > lo && n < hi {
		// Median of three as the pivot, moved to lo.
		m := lo + (hi-lo)/2
		if less(&s[m], &s[lo]) {
			s[m], s[lo] = s[lo], s[m]
		}
		if less(&s[hi-1], &s[lo]) {
			s[hi-1], s[lo] = s[lo], s[hi-1]
		}
		if less(&s[hi-1], &s[m]) {
			s[hi-1], s[m] = s[m], s[hi-1]
		}
		s[lo], s[m] = s[m], s[lo]
		p := lo // s[lo] is the pivot; s[lo+1 : p+1] are less than it
		for i := lo + 1; i < hi; i++ {
			if less(&s[i], &s[lo]) {
				p++
				s[i], s[p] = s[p], s[i]
			}
		}
		s[lo], s[p] = s[p], s[lo]
		switch {
		case n <= p:
			hi = p
		default:
			lo = p + 1
		}
	}
}
