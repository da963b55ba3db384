package reassembly

// tupleMemory remembers, per four-tuple, the Summary of its last
// finished incarnation, for the next one to judge reuse by.
type tupleMemory struct {
	table tupleTable
	slab  tupleSlab
	all   []tupleEntry // prune's, kept for the next prune
	// live is the flow table: the four-tuples of the live incarnations
	// are marked in the filter too (opening), so that remember need not.
	live *hashSlots
}

// tupleSlab holds the remembered summaries in one slice, with their keys
// and hashes, and tupleTable finds them: an open-addressing hash table of
// (tag, index) slots with linear probing and backward-shift deletion, like
// the flow table. The hash is the flow table's, computed once per segment
// by the reading goroutine, so remembering and looking up a four-tuple
// costs no hashing of the 36-byte key, and the churn of short connections
// leaves no tombstones behind (a Go map keeps the room of what it deleted).
type tupleSlab struct {
	s     []Summary
	keys  []flowKey
	meta  []tupleMeta // 0 hash: the entry is free
	holes []int32     // free indexes of s
	// filter has a bit set for the hash of every remembered four-tuple
	// and of every live one (and some forgotten ones, until rebuilt):
	// most new connections are on a four-tuple never seen, and the bit
	// says so without a lookup in the large table.
	filter []uint64
	// limit is the most entries the slab ever holds (the tracker's bound
	// plus one): it grows by doubling up to it, not by append's quarter,
	// so that filling it leaves little garbage for the collector.
	limit int
	// bits is the filter's size, log2 (filterBits; less in a partition
	// of the sharded tracker, which holds a share of the four-tuples).
	bits uint8
}

// tupleMeta is what forgetOlder, prune and rebuildFilter read of a
// remembered four-tuple: they scan 24 bytes an entry instead of the whole
// summary, and a summary remembered or forgotten writes one line of them.
type tupleMeta struct {
	hash uint64 // 0: the entry is free
	end  int64  // the summary's End
	// attempt: a failed connection attempt (a SYN no SYN+ACK answered).
	attempt bool
}

// tupleTable holds, by four-tuple hash, indexes into tupleSlab.
type tupleTable = hashSlots

// filterBits is the size of the filter: 512 KiB, which stays in cache.
const filterBits = 22

func (b *tupleSlab) mark(h uint64) {
	if b.filter == nil {
		b.filter = make([]uint64, 1<<b.bits/64)
	}
	i := h >> (64 - b.bits)
	b.filter[i/64] |= 1 << (i % 64)
}

func (b *tupleSlab) marked(h uint64) bool {
	if b.filter == nil {
		return false
	}
	i := h >> (64 - b.bits)
	return b.filter[i/64]&(1<<(i%64)) != 0
}

// filterWord is the word of the filter that holds h's bit.
func (b *tupleSlab) filterWord(h uint64) uint64 {
	if b.filter == nil {
		return 0
	}
	return b.filter[h>>(64-b.bits)/64]
}

// rebuildFilter clears the bits of forgotten four-tuples.
func (m *tupleMemory) rebuildFilter() {
	b := &m.slab
	if b.filter == nil {
		return
	}
	clear(b.filter)
	for i := range b.meta {
		if h := b.meta[i].hash; h != 0 {
			b.mark(h)
		}
	}
	if m.live == nil {
		return
	}
	// A slot's tag is the upper half of the hash, all the filter reads
	// (bits < 32).
	for _, sl := range m.live.slots {
		if sl.tag != 0 {
			b.mark(uint64(sl.tag) << 32)
		}
	}
}

// opening marks the four-tuple of hash h in the filter as its incarnation
// opens, for remember: the filter's word is in the cache now, read by
// lookup, and would not be when the incarnation finishes.
func (m *tupleMemory) opening(h uint64) { m.slab.mark(h) }

// len is the number of four-tuples remembered.
func (m *tupleMemory) len() int { return m.table.n }

// lookup finds the summary index of a four-tuple whose hash is h.
func (m *tupleMemory) lookup(k *flowKey, h uint64) (int32, bool) {
	if !m.slab.marked(h) {
		return 0, false
	}
	return m.table.find(h, func(v int32) bool { return m.slab.keys[v].equal(k) })
}

// remember stores the summary of the four-tuple k, whose hash is h, as its
// incarnation finishes. Its filter bit is set already (opening).
func (m *tupleMemory) remember(k *flowKey, h uint64, s *Summary) {
	// The four-tuple is not remembered: open took its summary out, and
	// only one incarnation of a four-tuple is live at a time.
	m.table.add(h, m.slab.add(s, k, h), 3, 4, 1024)
}

// forget forgets the summary at index i of the slab and returns it.
func (m *tupleMemory) forget(i int32) Summary {
	m.table.remove(m.slab.meta[i].hash, i)
	return m.slab.free(i)
}

func (b *tupleSlab) add(s *Summary, k *flowKey, h uint64) int32 {
	if n := len(b.holes); n > 0 {
		i := b.holes[n-1]
		b.holes = b.holes[:n-1]
		b.s[i], b.keys[i], b.meta[i] = *s, *k, tupleMeta{h, s.End, attempt(s)}
		return i
	}
	if n := len(b.s); n == cap(b.s) && n < b.limit {
		c := min(max(2*n, 1024), b.limit)
		b.s = growTo(b.s, c)
		b.keys = growTo(b.keys, c)
		b.meta = growTo(b.meta, c)
	}
	b.s = append(b.s, *s)
	b.keys = append(b.keys, *k)
	b.meta = append(b.meta, tupleMeta{h, s.End, attempt(s)})
	return int32(len(b.s) - 1)
}

// growTo returns s with room for exactly c elements. slices.Grow would
// round up by append's growth, a quarter or more past what was asked:
// 12,800 entries for a partition's bound of 10,241, some 5 MB over the
// sixteen partitions on a capture that fills them.
func growTo[E any](s []E, c int) []E {
	g := make([]E, len(s), c)
	copy(g, s)
	return g
}

// attempt reports whether s is a failed connection attempt: its SYN, and
// no SYN+ACK.
func attempt(s *Summary) bool { return s.SYNSeen[0] && !s.SYNSeen[1] }

// free releases index i and returns what it held.
func (b *tupleSlab) free(i int32) Summary {
	s := b.s[i]
	b.s[i], b.keys[i], b.meta[i] = Summary{}, flowKey{}, tupleMeta{}
	b.holes = append(b.holes, i)
	return s
}

// forgetOlder forgets the four-tuples whose last incarnation ended more
// than age before now.
func (m *tupleMemory) forgetOlder(now, age int64) {
	b := &m.slab
	for i := range b.meta {
		if e := &b.meta[i]; e.hash != 0 && now-e.end > age {
			m.forget(int32(i))
		}
	}
	m.rebuildFilter()
}

// tupleEntry is a remembered four-tuple as prune orders them.
type tupleEntry struct {
	at    int64
	i     int32
	class int8 // 0: no longer needed, 1: a failed connection attempt, 2: the rest
}

// prune forgets all but keep of the remembered four-tuples: first those
// whose last incarnation ended more than need before now (what the
// consumer needs, Config.TupleNeed), then failed connection attempts (a SYN that no
// SYN+ACK answered: a flood, a scan), then the oldest; ties are broken by
// key, so the outcome never depends on the table's order. It returns how
// many it forgot that were still needed.
func (m *tupleMemory) prune(keep int, now, need int64) int {
	b := &m.slab
	all := m.all[:0]
	for i := range b.meta {
		t := &b.meta[i]
		if t.hash == 0 {
			continue
		}
		e := tupleEntry{class: 2, at: t.end, i: int32(i)}
		switch {
		case now-t.end > need:
			e.class = 0
		case t.attempt:
			e.class = 1
		}
		all = append(all, e)
	}
	m.all = all
	n := len(all) - keep
	if n <= 0 {
		return 0
	}
	keys := b.keys
	selectSmallest(all, n, func(x, y *tupleEntry) bool {
		if x.class != y.class {
			return x.class < y.class
		}
		if x.at != y.at {
			return x.at < y.at
		}
		return compareKeys(&keys[x.i], &keys[y.i]) < 0
	})
	early := 0
	for _, e := range all[:n] {
		m.forget(e.i)
		if e.class != 0 {
			early++
		}
	}
	m.rebuildFilter()
	return early
}

// selectSmallest reorders all so that its first n elements are the n
// smallest by less (quickselect: linear on average), in no given order.
func selectSmallest[E any](all []E, n int, less func(a, b *E) bool) {
	lo, hi := 0, len(all)-1
	for n > 0 && lo < hi {
		m := lo + (hi-lo)/2
		if less(&all[m], &all[lo]) {
			all[m], all[lo] = all[lo], all[m]
		}
		if less(&all[hi], &all[lo]) {
			all[hi], all[lo] = all[lo], all[hi]
		}
		if less(&all[m], &all[hi]) {
			all[m], all[hi] = all[hi], all[m]
		}
		p := all[hi] // median of three as pivot
		i := lo
		for j := lo; j < hi; j++ {
			if less(&all[j], &p) {
				all[i], all[j] = all[j], all[i]
				i++
			}
		}
		all[i], all[hi] = all[hi], all[i]
		switch {
		case i == n || i == n-1:
			lo = hi
		case i < n:
			lo = i + 1
		default:
			hi = i - 1
		}
	}
}
