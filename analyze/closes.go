package analyze

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/twscope/twscope/reassembly"
)

// closeSummary counts closes by kind, closer and TIME_WAIT holder, overall
// and per server endpoint: the first question of every TIME_WAIT page.
type closeSummary struct {
	total CloseSummary
	// rows finds a server endpoint's row in rowList: one probe of a table
	// without pointers per record, no string built.
	rows    idTable[endpointKey]
	rowList []endpointRow
	// Counts by value index, turned into the maps at finish: an array
	// increment per record instead of a string-keyed map update.
	kinds                [reassembly.NumCloseKinds]int
	closers, holders, by [reassembly.NumSides]int
	acks                 [reassembly.NumFinalAcks]int
	// other sums, exactly, the endpoints folded out of the table (a port
	// scan's); nil until one is. folded remembers their keys, so that an
	// endpoint folded once is never a row again and every row's counts are
	// exact from its first connection on.
	other       *Endpoint
	otherCounts endpointCounts
	folded      foldedKeys
	seq         int // rows in order of their first connection
}

// endpointRow is one server endpoint's row: its report and its counts by
// value index.
type endpointRow struct {
	e *Endpoint
	c endpointCounts
}

// endpointKey is a server endpoint as an idTable key.
type endpointKey struct {
	addr addrKey
	port uint16
}

func keyOfEndpoint(k netip.AddrPort) endpointKey { return endpointKey{keyOfAddr(k.Addr()), k.Port()} }

func (k endpointKey) hash(seed uint64) uint64 {
	a := k.addr
	a.hi ^= uint64(k.port)
	return a.hash(seed)
}

// MaxEndpoints bounds the server endpoints listed one by one. A scan of
// every port of many hosts makes one endpoint per port: the table holds up
// to twice as many rows, and when full keeps the MaxEndpoints with the
// most connections (the first seen among equals) and folds the rest into
// one "other" row (Result.EndpointsOther), so memory stays flat whatever
// the capture while the busy endpoints keep exact rows, even those first
// seen late.
const MaxEndpoints = 4096

// endpointCounts are one endpoint's counts by value index.
type endpointCounts struct {
	closer, holders, by [reassembly.NumSides]int
	close               [reassembly.NumCloseKinds]int
	acks                [reassembly.NumFinalAcks]int
	seq                 int
}

func (c *endpointCounts) add(o *endpointCounts) {
	for i := range c.closer {
		c.closer[i] += o.closer[i]
		c.holders[i] += o.holders[i]
		c.by[i] += o.by[i]
	}
	for i := range c.close {
		c.close[i] += o.close[i]
	}
	for i := range c.acks {
		c.acks[i] += o.acks[i]
	}
}

// otherRow is the row of the folded endpoints.
func (s *closeSummary) otherRow() (*Endpoint, *endpointCounts) {
	if s.other == nil {
		s.other = newEndpoint(netip.AddrPort{})
		s.other.Server = "other"
	}
	return s.other, &s.otherCounts
}

// compact keeps the keep rows with the most connections and folds the
// others into the other row.
func (s *closeSummary) compact(keep int) {
	if len(s.rowList) <= keep {
		return
	}
	rows := s.rowList
	slices.SortFunc(rows, func(a, b endpointRow) int {
		if a.e.Connections != b.e.Connections {
			return b.e.Connections - a.e.Connections
		}
		return a.c.seq - b.c.seq
	})
	o, oc := s.otherRow()
	for j := keep; j < len(rows); j++ {
		r := &rows[j]
		o.Connections += r.e.Connections
		for i := range o.FirstClose {
			o.FirstClose[i] += r.e.FirstClose[i]
		}
		oc.add(&r.c)
		s.folded.add(r.e.Addr)
	}
	clear(rows[keep:])
	s.rowList = rows[:keep]
	s.rows = newIDTable[endpointKey]()
	for i := range s.rowList {
		s.rows.put(keyOfEndpoint(s.rowList[i].e.Addr), int32(i))
	}
}

func newCloseSummary() *closeSummary {
	return &closeSummary{total: newCounts(), rows: newIDTable[endpointKey]()}
}

func newCounts() CloseSummary {
	return CloseSummary{
		ByKind: map[string]int{}, ByCloser: map[string]int{}, TimeWaitHolders: map[string]int{},
		FinalAck: map[string]int{}, RSTBy: map[string]int{},
	}
}

func (s *closeSummary) observe(r *reassembly.Record) {
	s.kinds[r.Close]++
	s.closers[r.Closer]++
	s.holders[r.TimeWaitHolder]++
	s.acks[r.FinalAck]++
	s.by[r.RSTBy]++
	k := keyOfEndpoint(r.Server)
	var e *Endpoint
	var c *endpointCounts
	if i, ok := s.rows.get(k); ok {
		row := &s.rowList[i]
		e, c = row.e, &row.c
	} else if s.other != nil && s.folded.has(r.Server) {
		e, c = s.otherRow()
	} else {
		if len(s.rowList) >= 2*MaxEndpoints {
			s.compact(MaxEndpoints)
		}
		s.rows.put(k, int32(len(s.rowList)))
		s.rowList = append(s.rowList, endpointRow{e: newEndpoint(r.Server), c: endpointCounts{seq: s.seq}})
		s.seq++
		row := &s.rowList[len(s.rowList)-1]
		e, c = row.e, &row.c
	}
	e.Connections++
	c.closer[r.Closer]++
	c.close[r.Close]++
	c.holders[r.TimeWaitHolder]++
	c.acks[r.FinalAck]++
	c.by[r.RSTBy]++
	e.FirstClose[firstCloseOf(r)]++
}

func newEndpoint(key netip.AddrPort) *Endpoint {
	return &Endpoint{Server: key.String(), Closer: map[string]int{}, Close: map[string]int{}, TimeWaitHolders: map[string]int{},
		FinalAck: map[string]int{}, RSTBy: map[string]int{}, Addr: key}
}

// firstCloseOf is how r's close began: a RST before both FINs, else who
// sent the first FIN.
func firstCloseOf(r *reassembly.Record) FirstClose {
	switch {
	case r.Close == reassembly.CloseRST:
		return FirstCloseRST
	case r.Closer == reassembly.SideBoth:
		return FirstCloseSimultaneous
	case r.Closer == reassembly.SideClient:
		return FirstCloseClient
	case r.Closer == reassembly.SideServer:
		return FirstCloseServer
	}
	return FirstCloseNone
}

// addCounts adds the nonzero counts to m under their value's name.
func addCounts[T ~uint8](m map[string]int, counts []int, name func(T) string) {
	for i, n := range counts {
		if n > 0 {
			m[name(T(i))] += n
		}
	}
}

// rstByName names the RST senders counted from index 1 (client): nobody
// sent a RST is not counted.
func rstByName(x reassembly.Side) string { return (x + 1).String() }

// fill turns the counts by index into the result's maps.
func (s *closeSummary) fill() {
	addCounts(s.total.ByKind, s.kinds[:], reassembly.CloseKind.String)
	addCounts(s.total.ByCloser, s.closers[:], reassembly.Side.String)
	addCounts(s.total.TimeWaitHolders, s.holders[:], reassembly.Side.String)
	addCounts(s.total.FinalAck, s.acks[:], reassembly.FinalAck.String)
	addCounts(s.total.RSTBy, s.by[1:], rstByName)
	s.kinds, s.acks = [reassembly.NumCloseKinds]int{}, [reassembly.NumFinalAcks]int{}
	s.closers, s.holders, s.by = [reassembly.NumSides]int{}, [reassembly.NumSides]int{}, [reassembly.NumSides]int{}
	fillRow := func(e *Endpoint, c *endpointCounts) {
		addCounts(e.Closer, c.closer[:], reassembly.Side.String)
		addCounts(e.Close, c.close[:], reassembly.CloseKind.String)
		addCounts(e.TimeWaitHolders, c.holders[:], reassembly.Side.String)
		addCounts(e.FinalAck, c.acks[:], reassembly.FinalAck.String)
		addCounts(e.RSTBy, c.by[1:], rstByName)
		*c = endpointCounts{seq: c.seq}
	}
	for i := range s.rowList {
		fillRow(s.rowList[i].e, &s.rowList[i].c)
	}
	if s.other != nil {
		fillRow(s.other, &s.otherCounts)
	}
}

func (s *closeSummary) finish(res *Result) {
	s.compact(MaxEndpoints)
	s.fill()
	res.Closes = s.total
	if s.other != nil {
		res.EndpointsOther = s.other
	}
	res.Endpoints = make([]Endpoint, 0, len(s.rowList))
	for _, r := range s.rowList {
		res.Endpoints = append(res.Endpoints, *r.e)
	}
	sortEndpoints(res.Endpoints)
}

// sortEndpoints orders endpoints the report's way: the busiest first, then
// by address, so that the same capture gives the same bytes.
func sortEndpoints(eps []Endpoint) {
	sort.Slice(eps, func(i, j int) bool {
		a, b := eps[i], eps[j]
		if a.Connections != b.Connections {
			return a.Connections > b.Connections
		}
		return a.Server < b.Server
	})
}

// hostBefore is the report's order of hosts: those holding the most
// TIME_WAIT first, then the busiest, then by address.
func hostBefore(heldA, connsA int, addrA netip.Addr, heldB, connsB int, addrB netip.Addr) bool {
	if heldA != heldB {
		return heldA > heldB
	}
	if connsA != connsB {
		return connsA > connsB
	}
	return addrA.Less(addrB)
}
