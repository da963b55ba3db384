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
	KindSuspectSegment  = "suspect_segment"
)

// Kinds lists every finding kind in the order rules list them.
var Kinds = [...]string{
	KindLostFinalAck, KindFinalAckRST, KindTupleReuse, KindNATTSRegression,
	KindSeqOverlap, KindOldDuplicate, KindSeqWrap, KindCloseWait, KindPortPressure,
	KindSuspectSegment,
}

// newFinding starts a finding of kind at time at (Unix ns) about the
// given connections.
func newFinding(kind string, severity Severity, at int64, conns ...int) Finding {
	return Finding{
		Kind: kind, Severity: severity, Time: Time(at),
		Conns: append([]int{}, conns...), Frames: []int{},
	}
}

// The bounds of the lists inside one finding.
const (
	MaxListedConns  = maxListed
	MaxListedFrames = 2 * maxListed
)

// bound sets the totals of the finding's lists and cuts the lists to
// their bounds (the filter then selects the frames kept). Detectors that
// count more than they keep set the totals themselves.
func (f *Finding) bound() {
	f.ConnsTotal = max(f.ConnsTotal, len(f.Conns))
	f.FramesTotal = max(f.FramesTotal, len(f.Frames))
	if len(f.Conns) > MaxListedConns {
		f.Conns = f.Conns[:MaxListedConns]
	}
	if len(f.Frames) > MaxListedFrames {
		f.Frames, f.frameFiles = f.Frames[:MaxListedFrames], f.frameFiles[:MaxListedFrames]
		f.Filter = FramesFilter(f.fileFrames(f.frameFiles[0]))
	}
}

// addFrames adds the frames that prove the finding, skipping unseen ones,
// ordered by file and frame number, and points the display filter at
// those of the first frame's file.
func (f *Finding) addFrames(frames ...reassembly.Frame) {
	refs := make([]reassembly.Frame, 0, len(f.Frames)+len(frames))
	for i, n := range f.Frames {
		refs = append(refs, reassembly.Frame{File: f.frameFiles[i], N: n})
	}
	for _, fr := range frames {
		if fr.Seen() {
			refs = append(refs, fr)
		}
	}
	sortFrames(refs)
	refs = slices.Compact(refs)
	f.Frames, f.frameFiles = f.Frames[:0], f.frameFiles[:0]
	for _, fr := range refs {
		f.Frames = append(f.Frames, fr.N)
		f.frameFiles = append(f.frameFiles, fr.File)
	}
	f.Filter = ""
	if len(refs) > 0 {
		f.Filter = FramesFilter(f.fileFrames(refs[0].File))
	}
}

func sortFrames(fs []reassembly.Frame) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		return a.File < b.File || a.File == b.File && a.N < b.N
	})
}

// fileFrames are the finding's frames in capture file file.
func (f *Finding) fileFrames(file int) []int {
	var out []int
	for i, n := range f.Frames {
		if f.frameFiles[i] == file {
			out = append(out, n)
		}
	}
	return out
}

// nameFiles fills FrameFiles and Filters when the run read several
// capture files, named as in captures.
func (f *Finding) nameFiles(captures []Capture) {
	if len(captures) < 2 || len(f.Frames) == 0 {
		return
	}
	f.FrameFiles = append([]int{}, f.frameFiles...)
	f.Filters = map[string]string{}
	for _, file := range f.frameFiles {
		if file < len(captures) {
			name := captures[file].File
			if _, done := f.Filters[name]; !done {
				f.Filters[name] = FramesFilter(f.fileFrames(file))
			}
		}
	}
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
	sortFrames(f.Refs)
	f.Refs = slices.Compact(f.Refs)
}

// FramesFilter is a Wireshark display filter showing exactly these frames
// (sorted, of one file), as Wireshark 4 reads a set: elements separated by
// commas, and a run of three or more consecutive frames as a..b.
func FramesFilter(frames []int) string {
	if len(frames) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("frame.number in {")
	for i := 0; i < len(frames); {
		j := i
		for j+1 < len(frames) && frames[j+1] == frames[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case j-i >= 2:
			fmt.Fprintf(&b, "%d..%d", frames[i], frames[j])
		case j > i:
			fmt.Fprintf(&b, "%d,%d", frames[i], frames[j])
		default:
			fmt.Fprintf(&b, "%d", frames[i])
		}
		i = j + 1
	}
	b.WriteByte('}')
	return b.String()
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
