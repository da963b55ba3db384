package reassembly

import (
	"encoding/binary"
	"math/bits"
)

// connTable is the flow table: live incarnations by four-tuple. The
// conns live in pages that never move, so a slot holds a 32-bit index
// instead of a pointer and a *conn stays valid while the table lasts.
// Each conn's duplicate ring lives apart, in pages of its own by the same
// index: a conn is cleared whole when reused, its ring only by its count.
type connTable struct {
	hashSlots
	pages []*[connPage]conn
	rings []*[connPage]dupRing
	made  int32 // conns made so far, in pages
}

// connPageBits sets the conns in a page: 256 (about 160 KB, and 68 KB of
// rings).
const (
	connPageBits = 8
	connPage     = 1 << connPageBits
)

// at is the conn of index i.
func (t *connTable) at(i int32) *conn { return &t.pages[uint32(i)/connPage][uint32(i)%connPage] }

// dups is the duplicate ring of the conn of index i.
func (t *connTable) dups(i int32) *dupRing {
	return &t.rings[uint32(i)/connPage][uint32(i)%connPage]
}

// newConn makes a conn, adding a page when the last is full.
func (t *connTable) newConn() *conn {
	i := t.made
	if int(i>>connPageBits) == len(t.pages) {
		t.pages = append(t.pages, new([connPage]conn))
		t.rings = append(t.rings, new([connPage]dupRing))
	}
	t.made++
	c := t.at(i)
	c.ref = i
	return c
}

// hashSlots is an open-addressing hash table with linear probing and
// backward-shift deletion, holding in each slot a 32-bit tag of the
// entry's hash and its 32-bit index: a lookup costs one cache line of the
// table, holding eight slots, and a key comparison only on a tag match;
// the table holds no pointers for the collector to scan; and the
// insert/delete churn of short connections leaves no tombstones behind (Go
// maps slow down under it). Callers look entries up themselves, comparing
// their own keys.
type hashSlots struct {
	slots []hashSlot
	n     int
}

type hashSlot struct {
	tag uint32 // tagOf the entry's hash; 0: empty
	v   int32
}

// tagOf is the tag of hash h in a slot: its upper half, never 0.
func tagOf(h uint64) uint32 { return uint32(h>>32) | 1 }

// find returns the value under hash h for which is holds, or -1. The flow
// table's lookup (getHashed), once a segment, keeps its own loop.
func (t *hashSlots) find(h uint64, is func(v int32) bool) (int32, bool) {
	if t.n == 0 {
		return -1, false
	}
	tag := tagOf(h)
	mask := len(t.slots) - 1
	for i := home(tag, mask); t.slots[i].tag != 0; i = (i + 1) & mask {
		if s := t.slots[i]; s.tag == tag && is(s.v) {
			return s.v, true
		}
	}
	return -1, false
}

// add puts v under hash h, first growing the table (to minSize slots at
// least) when it would be fuller than num/den.
func (t *hashSlots) add(h uint64, v int32, num, den, minSize int) {
	if den*(t.n+1) > num*len(t.slots) {
		old := t.slots
		t.slots = make([]hashSlot, max(minSize, 2*len(old)))
		for _, s := range old {
			if s.tag != 0 {
				t.insert(s)
			}
		}
	}
	t.insert(hashSlot{tagOf(h), v})
	t.n++
}

func (t *hashSlots) insert(s hashSlot) {
	mask := len(t.slots) - 1
	i := home(s.tag, mask)
	for t.slots[i].tag != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// remove deletes the entry of hash h and value v, if there is one,
// shifting back the entries after it that probed past it.
func (t *hashSlots) remove(h uint64, v int32) {
	if t.n == 0 {
		return
	}
	tag := tagOf(h)
	mask := len(t.slots) - 1
	i := home(tag, mask)
	for {
		s := &t.slots[i]
		if s.tag == 0 {
			return
		}
		if s.tag == tag && s.v == v {
			break
		}
		i = (i + 1) & mask
	}
	t.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		s := t.slots[j]
		if s.tag == 0 {
			break
		}
		// s may move to the hole at i when its home slot is not in (i, j].
		if hm := home(s.tag, mask); (j-hm)&mask >= (j-i)&mask {
			t.slots[i] = s
			i = j
		}
	}
	t.slots[i] = hashSlot{}
}

// home is the slot where an entry of tag tag belongs in a table of mask+1
// slots. The tag's lowest bit is always set (0 marks an empty slot), so
// it is shifted out: with it, only every other slot would be a home.
func home(tag uint32, mask int) int { return int(tag>>1) & mask }

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
	tag := tagOf(h)
	mask := len(t.slots) - 1
	for i := home(tag, mask); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.tag == 0 {
			return nil
		}
		if s.tag == tag {
			if c := t.at(s.v); c.key.equal(k) {
				return c
			}
		}
	}
}

// equal reports whether k and o are the same four-tuple. It compares
// fields rather than the struct, which Go compares with a call to a
// general memory comparison (36 bytes), and the ports first: they
// differ most often.
func (k *flowKey) equal(o *flowKey) bool {
	return k.loPort == o.loPort && k.hiPort == o.hiPort && k.loAddr == o.loAddr && k.hiAddr == o.hiAddr
}

// putHashed adds c under c.key, whose hash is h; the key must not be in
// the table. The table stays at most half full.
func (t *connTable) putHashed(c *conn, h uint64) {
	c.hash = h
	t.add(h, c.ref, 1, 2, 64)
}

// del removes c.
func (t *connTable) del(c *conn) { t.remove(c.hash, c.ref) }

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
