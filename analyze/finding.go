package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/twscope/twscope/reassembly"
)

// Finding kinds (contract.md).
const (
	KindLostFinalAck    = "lost_final_ack"
	KindFinalAckRST     = "final_ack_rst"
	KindTupleReuse      = "tuple_reuse"
	KindNATTSRegression = "nat_ts_regression"
	KindSeqOverlap      = "seq_overlap"
	KindOldDuplicate    = "old_duplicate"
	KindSeqWrap         = "seq_wrap"
	KindCloseWait       = "close_wait"
	KindPortPressure    = "port_pressure"
)

// Kinds lists every finding kind in the order rules list them.
var Kinds = [...]string{
	KindLostFinalAck, KindFinalAckRST, KindTupleReuse, KindNATTSRegression,
	KindSeqOverlap, KindOldDuplicate, KindSeqWrap, KindCloseWait, KindPortPressure,
}

// newFinding starts a finding of kind at time at (Unix ns) about the
// given connections.
func newFinding(kind string, severity Severity, at int64, conns ...int) Finding {
	return Finding{
		Kind: kind, Severity: severity, at: at, Time: FormatTime(at),
		Conns: append([]int{}, conns...), Frames: []int{},
	}
}

// addFrames adds the frames that prove the finding, skipping unseen ones,
// and points the display filter at them.
func (f *Finding) addFrames(frames ...reassembly.Frame) {
	for _, fr := range frames {
		if fr.Seen() {
			f.Frames = append(f.Frames, fr.N)
		}
	}
	sort.Ints(f.Frames)
	f.Frames = dedupe(f.Frames)
	f.Filter = FramesFilter(f.Frames)
}

// about names the example connection of the finding and the frames of it
// that prove the finding (Client, Server, Refs).
func (f *Finding) about(client, server netip.AddrPort, frames ...reassembly.Frame) {
	f.Client, f.Server = client, server
	f.Refs = f.Refs[:0]
	for _, fr := range frames {
		if fr.Seen() {
			f.Refs = append(f.Refs, fr)
		}
	}
	sort.Slice(f.Refs, func(i, j int) bool {
		a, b := f.Refs[i], f.Refs[j]
		return a.File < b.File || a.File == b.File && a.N < b.N
	})
	f.Refs = slices.Compact(f.Refs)
}

func dedupe(xs []int) []int {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// FramesFilter is a Wireshark display filter showing exactly these frames.
func FramesFilter(frames []int) string {
	if len(frames) == 0 {
		return ""
	}
	parts := make([]string, len(frames))
	for i, n := range frames {
		parts[i] = fmt.Sprint(n)
	}
	return "frame.number in {" + strings.Join(parts, " ") + "}"
}

// ConversationFilter is a Wireshark display filter for every packet of a
// four-tuple, all incarnations included.
func ConversationFilter(a, b netip.AddrPort) string {
	ip := "ip"
	if a.Addr().Is6() && !a.Addr().Is4In6() {
		ip = "ipv6"
	}
	return fmt.Sprintf("%s.addr==%s && tcp.port==%d && %s.addr==%s && tcp.port==%d",
		ip, a.Addr(), a.Port(), ip, b.Addr(), b.Port())
}

// HostFilter is a Wireshark display filter for one address's TCP traffic.
func HostFilter(addr netip.Addr) string {
	if addr.Is6() && !addr.Is4In6() {
		return "tcp && ipv6.addr==" + addr.String()
	}
	return "tcp && ip.addr==" + addr.String()
}
