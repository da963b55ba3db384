package analyze

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/twscope/twscope/reassembly"
)

// Bounded tables. The per-address and per-pair tables of the timeWait
// detector (and the per-endpoint one of closeSummary) keep the first keys
// in record order, exactly, up to their bound; every key first seen past
// it is summed, exactly, in one "other" row. A normal capture, whose
// clients and servers number in the thousands, never reaches a bound, and
// its report is what it always was; a scan or a capture of a million
// addresses keeps the same memory as a normal one. The heavy hitters of
// such a capture (its servers, its busiest clients) are seen early, in
// the first seconds' records, and keep their rows.
const (
	// MaxHosts bounds the addresses listed in Result.Hosts; the rest are
	// summed in Result.HostsOther.
	MaxHosts = 16384
	// MaxPairs bounds the client IP and server endpoint pairs judged for
	// port pressure; the rest are summed in Result.PairsOther.
	MaxPairs = 65536
)

// The bounds in force (variables for the tests).
var maxHosts, maxPairs = MaxHosts, MaxPairs

// foldedHost is the row of the addresses past MaxHosts. It takes the next
// index once the table is full, so that the streamed occupancy counts its
// sockets together.
func (d *timeWait) foldedHost() int32 {
	if d.otherHost < 0 {
		d.otherHost = int32(len(d.hostList))
		d.hostList = append(d.hostList, hostAcc{index: d.otherHost})
	}
	return d.otherHost
}

// numHosts counts the host rows, the folded one included.
func (d *timeWait) numHosts() int { return len(d.hostList) }

// group is the port pressure group of client c toward r's server endpoint
// (s its host), nil when either address or the pair is past its bound.
func (d *timeWait) group(c, s int32, r *reassembly.Record, start int64) *pressureGroup {
	if c == d.otherHost || s == d.otherHost {
		return nil
	}
	k := groupKey{c, s, r.Server.Port()}
	if i, ok := d.groups.get(k); ok {
		return &d.groupList[i]
	}
	if len(d.groupList) >= maxPairs {
		return nil
	}
	i := int32(len(d.groupList))
	d.groupList = append(d.groupList, pressureGroup{groupKey: k, index: i, firstSYN: start, lastSYN: start,
		loPort: r.Client.Port(), hiPort: r.Client.Port()})
	d.groups.put(k, i)
	return &d.groupList[i]
}

// reportFolded fills the "other" rows of the bounded tables.
func (d *timeWait) reportFolded(res *Result) {
	if d.otherHost >= 0 {
		h := &d.hostList[d.otherHost]
		a := &d.stream.hosts[h.index]
		o := &Host{IP: "other", Connections: h.conns, TimeWaitHeld: h.held, PeakTimeWait: a.peak,
			ClosesInitiated: h.closes, RSTsSent: h.rsts}
		if a.peak > 0 {
			o.PeakAt = timePtr(a.at)
		}
		res.HostsOther = o
	}
	if d.pairsOther != (PairsFold{}) {
		p := d.pairsOther
		res.PairsOther = &p
	}
}

// foldWarnings says which tables were folded, for every output that
// shows warnings (text, HTML, JSON).
func foldWarnings(res *Result) []string {
	var ws []string
	if e := res.EndpointsOther; e != nil {
		ws = append(ws, fmt.Sprintf("server endpoints folded: past the %d with the most connections, %d connections to further endpoints are summed in endpoints_other", MaxEndpoints, e.Connections))
	}
	if h := res.HostsOther; h != nil {
		ws = append(ws, fmt.Sprintf("hosts folded: past the first %d addresses, %d connections of further addresses are summed in hosts_other", maxHosts, h.Connections))
	}
	if p := res.PairsOther; p != nil {
		ws = append(ws, fmt.Sprintf("client-server pairs folded: past the first %d, %d connections of further pairs are summed in pairs_other and not judged for port pressure", maxPairs, p.Connections))
	}
	return ws
}

// foldedKeys remembers the server endpoints folded out of a table, as a
// Bloom filter of fixed size: a key folded once is always found (its
// connections go on to the other row, so no row ever misses the start of
// its counts); a key never folded is found by mistake with a probability
// that grows as the filter fills, and then counts in the other row too.
// The hash is fixed, so the same capture folds the same keys.
type foldedKeys struct {
	bits []uint64
}

const foldedBits = 1 << 23 // 1 MiB: about 1% false hits after 800,000 folded keys

func (f *foldedKeys) add(k netip.AddrPort) {
	if f.bits == nil {
		f.bits = make([]uint64, foldedBits/64)
	}
	h1, h2 := keyHash(k)
	for i := uint64(0); i < 4; i++ {
		b := (h1 + i*h2) % foldedBits
		f.bits[b/64] |= 1 << (b % 64)
	}
}

func (f *foldedKeys) has(k netip.AddrPort) bool {
	if f.bits == nil {
		return false
	}
	h1, h2 := keyHash(k)
	for i := uint64(0); i < 4; i++ {
		b := (h1 + i*h2) % foldedBits
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// keyHash is two independent 64-bit hashes of an address and port
// (splitmix64 finalizers over its bytes).
func keyHash(k netip.AddrPort) (uint64, uint64) {
	a := k.Addr().As16()
	hi := binary.BigEndian.Uint64(a[:8])
	lo := binary.BigEndian.Uint64(a[8:]) ^ uint64(k.Port())<<1
	h1 := mix64(hi ^ mix64(lo))
	h2 := mix64(lo^mix64(hi+0x9e3779b97f4a7c15)) | 1
	return h1, h2
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
