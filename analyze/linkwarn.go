package analyze

import (
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/twscope/twscope/reassembly"
)

// nonIPShare is the share of a capture's packets carried by non-IP
// EtherTypes from which linkWarnings speaks: an encapsulation the decoder
// does not know hides whatever TCP it carries, and so does a capture of the
// wrong link.
const nonIPShare = 0.10

// linkWarnings says when the capture holds no TCP at all, or when a large
// share of its packets is not IP, with the EtherTypes and their counts.
func linkWarnings(n reassembly.Counts) []string {
	var out []string
	if non := n.NonIP.Total(); non > 0 && float64(non) >= nonIPShare*float64(n.Packets) {
		var types []string
		for _, e := range n.NonIP.ByType[:n.NonIP.Types] {
			types = append(types, fmt.Sprintf("%s %d", etherTypeName(e.EtherType), e.Frames))
		}
		if n.NonIP.Other > 0 {
			types = append(types, fmt.Sprintf("other EtherTypes %d", n.NonIP.Other))
		}
		out = append(out, fmt.Sprintf("%d of %d packets (%.0f%%) carry no IP the decoder reads, by EtherType: %s",
			non, n.Packets, 100*float64(non)/float64(n.Packets), strings.Join(types, ", ")))
	}
	if n.TCP == 0 && n.Packets > 0 {
		out = append(out, fmt.Sprintf("no TCP in %d packets: nothing to analyze", n.Packets))
	}
	return out
}

// etherTypeName is "0x0806 (ARP)", or the number alone when gopacket has no
// name for it.
func etherTypeName(et layers.EthernetType) string {
	if s := et.String(); s != "UnknownEthernetType" {
		return fmt.Sprintf("0x%04x (%s)", uint16(et), s)
	}
	return fmt.Sprintf("0x%04x", uint16(et))
}

// oneSided counts the connections whose packets all came from one side,
// leaving out connection attempts (SYNs alone, or a SYN then a RST, are one
// side by nature). When they are as many as those seen both ways, the
// capture most likely sees one direction of the traffic: a one-way tap,
// asymmetric routing, a filter on one address.
type oneSided struct {
	oneWay, twoWay int
}

func (o *oneSided) observe(r *reassembly.Record) {
	switch {
	case r.C.Packets > 0 && r.S.Packets > 0:
		o.twoWay++
	case r.C.Packets > r.C.SYNCount+r.C.RSTCount || r.S.Packets > r.S.SYNCount+r.S.RSTCount:
		o.oneWay++
	}
}

func (o *oneSided) finish(res *Result) {
	if o.oneWay > 0 && o.oneWay >= o.twoWay {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d of %d connections carry packets from one side only: the capture likely sees one direction of the traffic (a one-way tap, asymmetric routing), and their close facts rest on that side alone",
			o.oneWay, o.oneWay+o.twoWay))
	}
}
