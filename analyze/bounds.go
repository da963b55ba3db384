package analyze

import (
	"fmt"

	"github.com/twscope/twscope/reassembly"
)

// boundWarnings says when the tracker had to drop state to stay within its
// memory bounds, which makes some findings incomplete.
func boundWarnings(st reassembly.TrackerStats) []string {
	var ws []string
	if st.HalfOpenEvicted > 0 {
		ws = append(ws, fmt.Sprintf("%d half-open connections evicted (SYN flood or scan?): too many handshakes were open at once, the oldest were closed out early", st.HalfOpenEvicted))
	}
	if n := st.TuplesForgotten + st.ClocksForgotten; n > 0 {
		ws = append(ws, fmt.Sprintf("%d four-tuples and %d address timestamp clocks forgotten early to bound memory: reuse and NAT findings may miss some cases", st.TuplesForgotten, st.ClocksForgotten))
	}
	return ws
}
