package analyze

import (
	"net/netip"
	"sort"

	"github.com/twscope/twscope/reassembly"
)

// closeSummary counts closes by kind, closer and TIME_WAIT holder, overall
// and per server endpoint: the first question of every TIME_WAIT page.
type closeSummary struct {
	total     CloseSummary
	endpoints map[netip.AddrPort]*Endpoint // by server: no string built per record
	// Counts by value index, turned into the maps at finish: an array
	// increment per record instead of a string-keyed map update.
	kinds                      [5]int
	closers, holders, acks, by [4]int
	eps                        map[*Endpoint]*endpointCounts
}

// endpointCounts are one endpoint's counts by value index; first is
// FirstClose: rst, simultaneous, then by closer (client, server, none).
type endpointCounts struct {
	closer, holders, acks, by [4]int
	close                     [5]int
	first                     [5]int
}

func newCloseSummary() *closeSummary {
	return &closeSummary{total: newCounts(), endpoints: make(map[netip.AddrPort]*Endpoint)}
}

func newCounts() CloseSummary {
	return CloseSummary{
		ByKind: map[string]int{}, ByCloser: map[string]int{}, TimeWaitHolders: map[string]int{},
		FinalAck: map[string]int{}, RSTBy: map[string]int{},
	}
}

func (s *closeSummary) observe(r *reassembly.Record) {
	s.kinds[r.Close%5]++
	s.closers[r.Closer&3]++
	s.holders[r.TimeWaitHolder&3]++
	s.acks[r.FinalAck&3]++
	s.by[r.RSTBy&3]++
	key := r.Server
	e := s.endpoints[key]
	if e == nil {
		e = &Endpoint{Server: key.String(), Closer: map[string]int{}, Close: map[string]int{}, TimeWaitHolders: map[string]int{},
			FinalAck: map[string]int{}, RSTBy: map[string]int{}, FirstClose: map[string]int{}, Addr: key}
		s.endpoints[key] = e
		if s.eps == nil {
			s.eps = map[*Endpoint]*endpointCounts{}
		}
		s.eps[e] = &endpointCounts{}
	}
	c := s.eps[e]
	e.Connections++
	c.closer[r.Closer&3]++
	c.close[r.Close%5]++
	c.holders[r.TimeWaitHolder&3]++
	c.acks[r.FinalAck&3]++
	c.by[r.RSTBy&3]++
	switch {
	case r.Close == reassembly.CloseRST:
		c.first[0]++
	case r.Closer == reassembly.SideBoth:
		c.first[1]++
	case r.Closer == reassembly.SideClient:
		c.first[2]++
	case r.Closer == reassembly.SideServer:
		c.first[3]++
	default:
		c.first[4]++
	}
}

// addCounts adds the nonzero counts to m under their value's name.
func addCounts[T ~uint8](m map[string]int, counts []int, name func(T) string) {
	for i, n := range counts {
		if n > 0 {
			m[name(T(i))] += n
		}
	}
}

// fill turns the counts by index into the result's maps.
func (s *closeSummary) fill() {
	addCounts(s.total.ByKind, s.kinds[:], reassembly.CloseKind.String)
	addCounts(s.total.ByCloser, s.closers[:], reassembly.Side.String)
	addCounts(s.total.TimeWaitHolders, s.holders[:], reassembly.Side.String)
	addCounts(s.total.FinalAck, s.acks[:], reassembly.FinalAck.String)
	addCounts(s.total.RSTBy, s.by[1:], func(x reassembly.Side) string { return (x + 1).String() })
	s.kinds, s.closers, s.holders, s.acks, s.by = [5]int{}, [4]int{}, [4]int{}, [4]int{}, [4]int{}
	for e, c := range s.eps {
		addCounts(e.Closer, c.closer[:], reassembly.Side.String)
		addCounts(e.Close, c.close[:], reassembly.CloseKind.String)
		addCounts(e.TimeWaitHolders, c.holders[:], reassembly.Side.String)
		addCounts(e.FinalAck, c.acks[:], reassembly.FinalAck.String)
		addCounts(e.RSTBy, c.by[1:], func(x reassembly.Side) string { return (x + 1).String() })
		for i, name := range [...]string{"rst", "simultaneous", "client", "server", "none"} {
			if c.first[i] > 0 {
				e.FirstClose[name] += c.first[i]
			}
		}
		*c = endpointCounts{}
	}
}

func (s *closeSummary) finish(res *Result) {
	s.fill()
	res.Closes = s.total
	res.Endpoints = make([]Endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		res.Endpoints = append(res.Endpoints, *e)
	}
	sort.Slice(res.Endpoints, func(i, j int) bool {
		a, b := res.Endpoints[i], res.Endpoints[j]
		if a.Connections != b.Connections {
			return a.Connections > b.Connections
		}
		return a.Server < b.Server
	})
}
