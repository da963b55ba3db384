//go:build libpcap

package reassembly

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// FilterAvailable says whether this build can compile BPF filters.
const FilterAvailable = true

// NewFilter compiles a tcpdump (BPF) filter expression with libpcap. The
// program is compiled once per link type, as captures may mix them.
func NewFilter(expr string) (func(*Packet) bool, error) {
	if _, err := pcap.NewBPF(layers.LinkTypeEthernet, 65535, expr); err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	progs := map[layers.LinkType]*pcap.BPF{}
	var ci gopacket.CaptureInfo
	return func(p *Packet) bool {
		prog, ok := progs[p.LinkType]
		if !ok {
			prog, _ = pcap.NewBPF(p.LinkType, 262144, expr)
			progs[p.LinkType] = prog
		}
		if prog == nil {
			return false
		}
		ci.CaptureLength, ci.Length = len(p.Data), p.Length
		return prog.Matches(ci, p.Data)
	}, nil
}
