package reassembly

import (
	"encoding/binary"
	"math/bits"
)

// connTable is the flow table: live incarnations by four-tuple.
type connTable struct{ hashSlots[*conn] }

// hashSlots is an open-addressing hash table with linear probing and
// backward-shift deletion, holding each entry's hash next to its value, so
// that a lookup costs one cache line of the table and a key comparison
// only on a full hash match, and the insert/delete churn of short
// connections leaves no tombstones behind (Go maps slow down under it).
// Callers look entries up themselves, comparing their own keys.
type hashSlots[V comparable] struct {
	slots []hashSlot[V]
	n     int
}

type hashSlot[V comparable] struct {
	h uint64 // 0: empty
	v V
}

// add puts v under hash h, first growing the table (to minSize slots at
// least) when it would be fuller than num/den.
func (t *hashSlots[V]) add(h uint64, v V, num, den, minSize int) {
	if den*(t.n+1) > num*len(t.slots) {
		old := t.slots
		t.slots = make([]hashSlot[V], max(minSize, 2*len(old)))
		for _, s := range old {
			if s.h != 0 {
				t.insert(s)
			}
		}
	}
	t.insert(hashSlot[V]{h, v})
	t.n++
}

func (t *hashSlots[V]) insert(s hashSlot[V]) {
	mask := len(t.slots) - 1
	i := home(s.h, mask)
	for t.slots[i].h != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// remove deletes the entry of hash h and value v, if there is one,
// shifting back the entries after it that probed past it.
func (t *hashSlots[V]) remove(h uint64, v V) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := home(h, mask)
	for {
		s := &t.slots[i]
		if s.h == 0 {
			return
		}
		if s.h == h && s.v == v {
			break
		}
		i = (i + 1) & mask
	}
	t.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := t.slots[j]
		if s.h == 0 {
			break
		}
		// s may move to the hole at i when its home slot is not in (i, j].
		if hm := home(s.h, mask); (j-hm)&mask >= (j-i)&mask {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = hashSlot[V]{}
}

// home is the slot where an entry of hash h belongs in a table of mask+1
// slots. The hash's lowest bit is always set (0 marks an empty slot), so
// it is shifted out: with it, only every other slot would be a home.
func home(h uint64, mask int) int { return int(h>>1) & mask }

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// getHashed finds the connection of key k, whose hash (hashKey with
// flowSeed) is h.
func (t *connTable) getHashed(k *flowKey, h uint64) *conn {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := home(h, mask); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.h == 0 {
			return nil
		}
		if s.h == h && s.v.key == *k {
			return s.v
		}
	}
}

// putHashed adds c under c.key, whose hash is h; the key must not be in
// the table. The table stays at most half full.
func (t *connTable) putHashed(c *conn, h uint64) {
	c.hash = h
	t.add(h, c, 1, 2, 64)
}

// del removes c.
func (t *connTable) del(c *conn) { t.remove(c.hash, c) }

// compare16 is bytes.Compare for two addresses, as two big-endian words.
func compare16(a, b *[16]byte) int {
	x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if x == y {
		x, y = binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
