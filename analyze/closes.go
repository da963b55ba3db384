package analyze

import (
	"sort"

	"github.com/twscope/twscope/reassembly"
)

// closeSummary counts closes by kind, closer and TIME_WAIT holder, overall
// and per server endpoint: the first question of every TIME_WAIT page.
type closeSummary struct {
	total     CloseSummary
	endpoints map[string]*Endpoint
}

func newCloseSummary() *closeSummary {
	return &closeSummary{total: newCounts(), endpoints: make(map[string]*Endpoint)}
}

func newCounts() CloseSummary {
	return CloseSummary{
		ByKind: map[string]int{}, ByCloser: map[string]int{}, TimeWaitHolders: map[string]int{},
		FinalAck: map[string]int{}, RSTBy: map[string]int{},
	}
}

func (s *closeSummary) observe(r *reassembly.Record) {
	s.total.ByKind[r.Close.String()]++
	s.total.ByCloser[r.Closer.String()]++
	s.total.TimeWaitHolders[r.TimeWaitHolder.String()]++
	s.total.FinalAck[r.FinalAck.String()]++
	if r.RSTBy != reassembly.SideNone {
		s.total.RSTBy[r.RSTBy.String()]++
	}
	key := r.Server.String()
	e := s.endpoints[key]
	if e == nil {
		e = &Endpoint{Server: key, Closer: map[string]int{}, Close: map[string]int{}, TimeWaitHolders: map[string]int{}}
		s.endpoints[key] = e
	}
	e.Connections++
	e.Closer[r.Closer.String()]++
	e.Close[r.Close.String()]++
	e.TimeWaitHolders[r.TimeWaitHolder.String()]++
}

func (s *closeSummary) finish(res *Result) {
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
