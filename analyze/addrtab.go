package analyze

import (
	"encoding/binary"
	"math/rand/v2"
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

// idTable maps keys to small ids (the index of a row in a slice): open
// addressing with linear probing in one slice of keys and ids, without
// pointers, so that a lookup is a probe or two in one array and the
// garbage collector never scans it. The hash is seeded per table, so
// that a crafted capture cannot aim its addresses at one chain.
type idTable[K idKey] struct {
	slots []idSlot[K]
	n     int
	seed  uint64
}

// idKey is a key of an idTable: comparable, with a hash of its own,
// seeded.
type idKey interface {
	comparable
	hash(seed uint64) uint64
}

type idSlot[K idKey] struct {
	key K
	id  int32 // the id + 1; 0: empty
}

func newIDTable[K idKey]() idTable[K] {
	return idTable[K]{seed: rand.Uint64() | 1}
}

func (k addrKey) hash(seed uint64) uint64 {
	h := mix64(k.hi ^ seed)
	h = mix64(h ^ k.lo)
	if k.v6 {
		h = ^h
	}
	return h
}

func (k groupKey) hash(seed uint64) uint64 {
	return mix64(uint64(uint32(k.client))<<32 | uint64(uint32(k.server)) ^ seed ^ uint64(k.port)<<48)
}

// connKey is a record's id as an idTable key.
type connKey int32

func (k connKey) hash(seed uint64) uint64 { return mix64(uint64(uint32(k)) ^ seed) }

func (t *idTable[K]) len() int { return t.n }

// get returns k's id.
func (t *idTable[K]) get(k K) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := k.hash(t.seed) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.id == 0 {
			return 0, false
		}
		if s.key == k {
			return s.id - 1, true
		}
	}
}

// set sets k's id, whether k is in the table or not.
func (t *idTable[K]) set(k K, id int32) {
	if t.n > 0 {
		mask := uint64(len(t.slots) - 1)
		for i := k.hash(t.seed) & mask; t.slots[i].id != 0; i = (i + 1) & mask {
			if t.slots[i].key == k {
				t.slots[i].id = id + 1
				return
			}
		}
	}
	t.put(k, id)
}

// put sets k's id; k must not be in the table.
func (t *idTable[K]) put(k K, id int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	i := k.hash(t.seed) & mask
	for t.slots[i].id != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = idSlot[K]{k, id + 1}
	t.n++
}

func (t *idTable[K]) grow() {
	old := t.slots
	t.slots = make([]idSlot[K], max(16, 2*len(old)))
	t.n = 0
	for _, s := range old {
		if s.id != 0 {
			t.put(s.key, s.id-1)
		}
	}
}

// del removes k, shifting back the keys after it in its run so that no
// probe stops short of them (no tombstones).
func (t *idTable[K]) del(k K) {
	if t.n == 0 {
		return
	}
	mask := uint64(len(t.slots) - 1)
	i := k.hash(t.seed) & mask
	for t.slots[i].key != k || t.slots[i].id == 0 {
		if t.slots[i].id == 0 {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j].id != 0; j = (j + 1) & mask {
		// The key at j moves to the hole at i unless its home lies
		// cyclically after i, up to j.
		home := t.slots[j].key.hash(t.seed) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = idSlot[K]{}
	t.n--
}
