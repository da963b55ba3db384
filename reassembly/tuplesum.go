package reassembly

import "net/netip"

// tupleSum is a Summary as the tracker remembers it per four-tuple: the
// addresses come back from the key, frames and flags are packed, so each
// of the many remembered four-tuples costs half as much (and the table's
// entries are smaller to move and compare).
type tupleSum struct {
	ID              int
	CloseTime       int64
	End             int64
	CloseN          int // CloseFrame.N
	CloseFile       int32
	ISN, Final      [2]uint32
	TSFirst, TSLast [2]uint32
	SYNSeen, HasTS  [2]bool
	Partial         bool
	Close           CloseKind
	Closer, RSTBy   Side
	TimeWaitHolder  Side
	clientIsLo      bool // the client is the key's lo end
	v4              bool // the addresses are IPv4
}

func packTuple(s *Summary, clientIsLo bool) tupleSum {
	return tupleSum{
		ID: s.ID, CloseTime: s.CloseTime, End: s.End, CloseN: s.CloseFrame.N, CloseFile: int32(s.CloseFrame.File),
		ISN: s.ISN, Final: s.Final, TSFirst: s.TSFirst, TSLast: s.TSLast, SYNSeen: s.SYNSeen, HasTS: s.HasTS,
		Partial: s.Partial, Close: s.Close, Closer: s.Closer, RSTBy: s.RSTBy, TimeWaitHolder: s.TimeWaitHolder,
		clientIsLo: clientIsLo, v4: s.Client.Addr().Is4(),
	}
}

func (p *tupleSum) unpack(k *flowKey) Summary {
	lo, hi := netip.AddrFrom16(k.loAddr), netip.AddrFrom16(k.hiAddr)
	if p.v4 {
		lo, hi = lo.Unmap(), hi.Unmap()
	}
	a, b := netip.AddrPortFrom(lo, k.loPort), netip.AddrPortFrom(hi, k.hiPort)
	if !p.clientIsLo {
		a, b = b, a
	}
	return Summary{
		ID: p.ID, Client: a, Server: b, Partial: p.Partial, Close: p.Close, Closer: p.Closer, RSTBy: p.RSTBy,
		TimeWaitHolder: p.TimeWaitHolder, CloseTime: p.CloseTime, CloseFrame: Frame{int(p.CloseFile), p.CloseN},
		End: p.End, ISN: p.ISN, Final: p.Final, SYNSeen: p.SYNSeen, HasTS: p.HasTS, TSFirst: p.TSFirst, TSLast: p.TSLast,
	}
}

// tupleSlab holds the remembered summaries in one slice, so that the
// tuple table maps a key to a small index: the table's entries stay small
// and the summaries are not spread over the table's growth.
type tupleSlab struct {
	s     []tupleSum
	holes []int32 // free indexes of s
	// filter has a bit set for the hash of every remembered four-tuple
	// (and some forgotten ones, until rebuilt): most new connections are
	// on a four-tuple never seen, and the bit says so without a lookup in
	// the large table.
	filter []uint64
	prunes int
}

// rebuildEvery is how many prunes pass between two rebuilds of the table.
const rebuildEvery = 8

// filterBits is the size of the filter: 512 KiB, which stays in cache.
const filterBits = 22

func (b *tupleSlab) mark(h uint64) {
	if b.filter == nil {
		b.filter = make([]uint64, 1<<filterBits/64)
	}
	i := h >> (64 - filterBits)
	b.filter[i/64] |= 1 << (i % 64)
}

func (b *tupleSlab) marked(h uint64) bool {
	if b.filter == nil {
		return false
	}
	i := h >> (64 - filterBits)
	return b.filter[i/64]&(1<<(i%64)) != 0
}

// rebuildFilter clears the bits of forgotten four-tuples.
func (b *tupleSlab) rebuildFilter(m map[flowKey]int32) {
	if b.filter == nil {
		return
	}
	clear(b.filter)
	for k := range m {
		b.mark(hashKey(&k, flowSeed))
	}
}

// tupleLookup finds the summary index of a four-tuple whose hash is h.
func (t *Tracker) tupleLookup(k *flowKey, h uint64) (int32, bool) {
	if !t.tupleSlab.marked(h) {
		return 0, false
	}
	i, ok := t.tuples[*k]
	return i, ok
}

// tupleRemember stores the summary of c's four-tuple as c finishes.
func (t *Tracker) tupleRemember(c *conn, s tupleSum) {
	if i, ok := t.tupleLookup(&c.key, c.hash); ok { // cannot happen: open took it out
		t.tupleSlab.s[i] = s
		return
	}
	t.tuples[c.key] = t.tupleSlab.add(s)
	t.tupleSlab.mark(c.hash)
}

func (b *tupleSlab) add(s tupleSum) int32 {
	if n := len(b.holes); n > 0 {
		i := b.holes[n-1]
		b.holes = b.holes[:n-1]
		b.s[i] = s
		return i
	}
	b.s = append(b.s, s)
	return int32(len(b.s) - 1)
}

// free releases index i and returns what it held.
func (b *tupleSlab) free(i int32) tupleSum {
	s := b.s[i]
	b.s[i] = tupleSum{}
	b.holes = append(b.holes, i)
	return s
}

// pruneTuples is pruneOldest for the four-tuple summaries: it forgets all
// but keep of them, those first by tupleAge then key, and frees their
// slab entries and filter bits in the same pass.
func (t *Tracker) pruneTuples(keep int) int {
	type entry struct {
		at  int64
		key flowKey
		i   int32
	}
	all := make([]entry, 0, len(t.tuples))
	for k, i := range t.tuples {
		all = append(all, entry{tupleAge(k, t.tupleSlab.s[i]), k, i})
	}
	n := len(all) - keep
	if n <= 0 {
		return 0
	}
	selectSmallest(all, n, func(a, b *entry) bool {
		if a.at != b.at {
			return a.at < b.at
		}
		return compareKeys(&a.key, &b.key) < 0
	})
	for _, e := range all[:n] {
		t.tupleSlab.free(e.i)
	}
	// A Go map keeps the room of what was deleted, and with this churn it
	// would grow with the capture: every rebuildEvery prunes, build a
	// fresh one instead of deleting.
	if t.tupleSlab.prunes++; t.tupleSlab.prunes%rebuildEvery == 0 {
		t.tuples = make(map[flowKey]int32, keep)
		for _, e := range all[n:] {
			t.tuples[e.key] = e.i
		}
	} else {
		for _, e := range all[:n] {
			delete(t.tuples, e.key)
		}
	}
	if t.tupleSlab.filter != nil {
		clear(t.tupleSlab.filter)
		for _, e := range all[n:] {
			t.tupleSlab.mark(hashKey(&e.key, flowSeed))
		}
	}
	return n
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
