package reassembly

// clockTable holds the address-pair clocks by value in one slice, their
// keys in another beside it by the same index, found through an
// open-addressing table of tag and index (hashSlots, as the flow table):
// 90 to 100 bytes a clock, where a Go map of key to index took 115 to
// 140, and nothing for the collector to scan. Indexes of forgotten clocks
// are reused, so a new clock allocates nothing once the slices have grown.
type clockTable struct {
	hashSlots
	keys []clockKey // by index, as s
	s    []ipClock
	free []int32
}

func (m *clockTable) len() int { return m.n }

// hash is the hash of k in the table, seeded as the flow table's so that
// a crafted capture cannot aim at its collisions; nothing depends on the
// table's order.
func (k *clockKey) hash() uint64 { return hashAddrs(&k.src, &k.dst, flowSeed) }

// get returns the index of k's clock, made when new if create (else -1
// when there is none).
func (m *clockTable) get(k clockKey, create bool) int32 {
	h := k.hash()
	if i, ok := m.find(h, func(v int32) bool { return m.keys[v] == k }); ok || !create {
		return i
	}
	var i int32
	if n := len(m.free); n > 0 {
		i, m.free = m.free[n-1], m.free[:n-1]
		m.keys[i], m.s[i] = k, ipClock{}
	} else {
		i = int32(len(m.s))
		m.keys, m.s = append(m.keys, k), append(m.s, ipClock{})
	}
	// At most three quarters full, not half as the flow table: a clock is
	// looked up about once per side of a conn, not per segment, and eight
	// slots share a cache line.
	m.add(h, i, 3, 4, 64)
	return i
}

// forget deletes the clock of index i.
func (m *clockTable) forget(i int32) {
	m.remove(m.keys[i].hash(), i)
	m.free = append(m.free, i)
}

// forgetOlder forgets the clocks that neither sent nor were remembered in
// the last age before now, and returns how many.
func (m *clockTable) forgetOlder(now, age int64) int {
	// Marked first, removed after: a removal shifts slots back under the
	// scan.
	n := len(m.free)
	for _, s := range m.slots {
		if s.tag == 0 {
			continue
		}
		if c := &m.s[s.v]; now-c.latestAt > age && now-c.recycleAt > age {
			m.free = append(m.free, s.v)
		}
	}
	for _, i := range m.free[n:] {
		m.remove(m.keys[i].hash(), i)
	}
	return len(m.free) - n
}

// pruneOldest forgets the clocks last used longest ago until keep remain,
// ties broken by key so that the outcome never depends on the table's
// order, and returns how many it forgot.
func (m *clockTable) pruneOldest(keep int) int {
	type entry struct {
		at int64
		i  int32
	}
	all := make([]entry, 0, m.n)
	for _, s := range m.slots {
		if s.tag != 0 {
			all = append(all, entry{max(m.s[s.v].latestAt, m.s[s.v].recycleAt), s.v})
		}
	}
	n := len(all) - keep
	// Only which n are oldest matters, not their order.
	selectSmallest(all, n, func(a, b *entry) bool {
		if a.at != b.at {
			return a.at < b.at
		}
		return compareClockKeys(m.keys[a.i], m.keys[b.i]) < 0
	})
	for _, e := range all[:max(n, 0)] {
		m.forget(e.i)
	}
	return n
}
