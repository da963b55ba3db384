package report

import (
	"fmt"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// The names of the enumerations in the one order reports list them
// (reassembly.Sides, CloseKinds, FinalAcks; analyze.Severities), as the
// JSON writes them.
var (
	sideNames      = names(reassembly.Sides[:])
	senderNames    = sideNames[:3] // the sides that can send: client, server, both
	closeKindNames = names(reassembly.CloseKinds[:])
	finalAckNames  = names(reassembly.FinalAcks[:])
	severityNames  = names(analyze.Severities[:])
	// closeLabel is each close kind for people.
	closeLabel = [reassembly.NumCloseKinds]string{
		reassembly.CloseFIN:          "FIN both ways",
		reassembly.CloseSimultaneous: "simultaneous (FINs crossed)",
		reassembly.CloseRST:          "reset (RST)",
		reassembly.CloseHalf:         "half-closed (one FIN)",
		reassembly.CloseOpen:         "still open at the end",
	}
	closeKindLabels = labels(reassembly.CloseKinds[:], closeLabel[:]) // parallel to closeKindNames
)

// labels are the labels (indexed by value) of vs, in vs's order.
func labels[T ~uint8](vs []T, byValue []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = byValue[v]
	}
	return out
}

func names[T fmt.Stringer](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}
