package analyze

import (
	"net/netip"
	"slices"

	"github.com/twscope/twscope/reassembly"
)

// findingPlaces remembers the server endpoint of every connection, to say
// at which endpoints each finding's connections are (Finding.Servers):
// golden files count findings by endpoint. A finding may name connections
// its detector saw long before it was built (a NAT finding names those
// that sent the timestamps a SYN is behind), so every connection is
// remembered: 4 bytes a connection, which is why it is on only when
// Options.PlaceFindings asks for it.
type findingPlaces struct {
	index   map[netip.AddrPort]int32 // endpoint, plus one, by server
	servers []netip.AddrPort
	// byID is the endpoint (index into servers, plus one) of each
	// connection id; ids run from 1.
	byID []int32
}

func newFindingPlaces() *findingPlaces {
	return &findingPlaces{index: map[netip.AddrPort]int32{}}
}

func (d *findingPlaces) observe(r *reassembly.Record) {
	if r.ID <= 0 || r.ID >= 1<<31 {
		return
	}
	i := d.index[r.Server]
	if i == 0 {
		d.servers = append(d.servers, r.Server)
		i = int32(len(d.servers))
		d.index[r.Server] = i
	}
	if r.ID >= len(d.byID) {
		d.byID = slices.Grow(d.byID, r.ID+1-len(d.byID))[:r.ID+1]
	}
	d.byID[r.ID] = i
}

// finish places the findings of the detectors before it in the list.
func (d *findingPlaces) finish(res *Result) {
	for i := range res.Findings {
		f := &res.Findings[i]
		f.Servers = nil
		for _, id := range f.Conns {
			if id <= 0 || id >= len(d.byID) || d.byID[id] == 0 {
				// A connection not seen: the finding is at no endpoint.
				f.Servers = nil
				break
			}
			f.Servers = append(f.Servers, d.servers[d.byID[id]-1])
		}
		slices.SortFunc(f.Servers, netip.AddrPort.Compare)
		f.Servers = slices.Compact(f.Servers)
	}
}
