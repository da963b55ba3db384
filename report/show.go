package report

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// ShowMaxPackets bounds the packets `twscope show` prints of one
// connection: past it the middle is left out, and the ladder says how
// many packets it left out.
const ShowMaxPackets = 400

// ShowWindow asks reassembly.CollectFrames for every packet of r, from
// its first frame to its last (at most max, the middle left out past it).
func ShowWindow(r *reassembly.Record, max int) reassembly.Window {
	if max <= 0 {
		max = ShowMaxPackets
	}
	// Before 1: CollectFrames keeps the packet before the first anchor,
	// which showSegments drops (an earlier incarnation's).
	return reassembly.Window{Client: r.Client, Server: r.Server,
		Frames: []reassembly.Frame{r.FirstFrame, r.LastFrame}, Before: 1, Max: max}
}

// WriteShow renders one connection for `twscope show`: its record (the
// facts of --conns), a Wireshark display filter for its packets, its
// packets as a text ladder with relative sequence numbers as Wireshark
// shows them, and the findings of the report that name it. got is what
// CollectFrames found of ShowWindow(r) (nil, with note saying why, when
// the packets could not be read again).
func WriteShow(w io.Writer, res *analyze.Result, r *reassembly.Record, got *reassembly.Collected, note string, absolute bool) error {
	var b strings.Builder
	c := NewConn(r)
	fmt.Fprintf(&b, "connection %d: %s -> %s (client -> server)\n", r.ID, c.Client, c.Server)
	files := len(res.Captures) > 1
	frame := func(f reassembly.Frame) string {
		if files && f.File < len(res.Captures) {
			return res.Captures[f.File].File + ":" + strconv.Itoa(f.N)
		}
		return strconv.Itoa(f.N)
	}
	kv := func(k, v string) { fmt.Fprintf(&b, "  %-18s %s\n", k+":", v) }
	kv("start", c.Start+" (frame "+frame(r.FirstFrame)+")")
	kv("end", c.End+" (frame "+frame(r.LastFrame)+")")
	kv("duration", seconds(r.End-r.Start))
	kv("packets", fmt.Sprintf("%d (client %d, server %d); payload bytes client %d, server %d",
		r.Packets, r.C.Packets, r.S.Packets, r.C.Bytes, r.S.Bytes))
	if r.Partial {
		kv("partial", "true: the client's SYN is not in the capture")
	}
	kv("closer", c.Closer)
	kv("close", c.Close)
	kv("time_wait_holder", c.TimeWaitHolder)
	kv("final_ack", c.FinalAck)
	if r.RSTBy != reassembly.SideNone {
		kv("rst_by", c.RSTBy)
	}
	kv("fin_retransmits", strconv.Itoa(c.FinRetransmits))
	if r.CloseAt.Seen() {
		kv("close_time", c.CloseTime+" (frame "+frame(r.CloseAt.Frame)+")")
	}
	if c.PrevID != nil {
		gap := "unknown (no SYN)"
		if c.ReuseGapS != nil {
			gap = strconv.FormatFloat(*c.ReuseGapS, 'f', 6, 64) + " s"
		}
		kv("previous", fmt.Sprintf("connection %d on the same four-tuple, closed %s (%s), reuse gap %s",
			*c.PrevID, analyze.FormatTime(r.Prev.CloseTime), r.Prev.Close, gap))
	}
	kv("zeek", c.ZeekState+" "+c.History)
	kv("community_id", c.CommunityID)
	for _, s := range []struct {
		name string
		f    SideFacts
	}{{"client", c.ClientSide}, {"server", c.ServerSide}} {
		isn := "not seen"
		if s.f.ISN != nil {
			isn = strconv.FormatUint(uint64(*s.f.ISN), 10)
		}
		kv(s.name+" isn", fmt.Sprintf("%s, final seq %d, timestamps %s", isn, s.f.FinalSeq, s.f.Timestamps))
	}

	b.WriteString("\nwireshark:\n")
	for _, f := range connFilters(res, r) {
		b.WriteString("  " + f + "\n")
	}

	b.WriteString("\npackets:\n")
	if got == nil || len(got.Segments) == 0 {
		if note == "" {
			note = "the connection's packets were not found when the captures were read again"
		}
		b.WriteString("  " + note + "\n")
	} else {
		writeTextLadder(&b, r, got, frame, absolute)
	}

	b.WriteString("\nfindings:\n")
	n := 0
	for i := range res.Findings {
		f := &res.Findings[i]
		if !slices.Contains(f.Conns, r.ID) {
			continue
		}
		n++
		fmt.Fprintf(&b, "  [%s] %s: %s\n", f.Severity, f.Kind, f.Summary)
		if f.Filter != "" {
			fmt.Fprintf(&b, "    wireshark: %s\n", f.Filter)
		}
		if f.Advice != "" {
			fmt.Fprintf(&b, "    advice: %s\n", f.Advice)
		}
	}
	if n == 0 {
		b.WriteString("  none that names this connection")
		if len(res.FindingsOmitted) > 0 {
			b.WriteString(" among the findings listed (the report lists a bounded number per kind)")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// connFilters are Wireshark display filters for exactly r's packets,
// independent of tcp.stream numbering: its four-tuple in either
// direction and its frame range, one filter per capture file it spans.
func connFilters(res *analyze.Result, r *reassembly.Record) []string {
	tuple := TupleFilter(r.Client, r.Server)
	first, last := r.FirstFrame, r.LastFrame
	if first.File == last.File {
		rng := fmt.Sprintf("frame.number in {%d..%d}", first.N, last.N)
		if first.N == last.N {
			rng = fmt.Sprintf("frame.number == %d", first.N)
		}
		return []string{tuple + " && " + rng}
	}
	name := func(i int) string {
		if i < len(res.Captures) {
			return res.Captures[i].File
		}
		return "file " + strconv.Itoa(i)
	}
	out := []string{name(first.File) + ": " + tuple + fmt.Sprintf(" && frame.number >= %d", first.N)}
	for i := first.File + 1; i < last.File; i++ {
		out = append(out, name(i)+": "+tuple)
	}
	return append(out, name(last.File)+": "+tuple+fmt.Sprintf(" && frame.number <= %d", last.N))
}

// TupleFilter is a Wireshark display filter for the packets of one
// four-tuple, both directions, and no other (ip.addr and tcp.port alone
// would also match the ports the other way round).
func TupleFilter(client, server netip.AddrPort) string {
	ip := "ip"
	if client.Addr().Is6() && !client.Addr().Is4In6() {
		ip = "ipv6"
	}
	dir := func(a, b netip.AddrPort) string {
		return fmt.Sprintf("%s.src==%s && tcp.srcport==%d && %s.dst==%s && tcp.dstport==%d",
			ip, a.Addr().Unmap(), a.Port(), ip, b.Addr().Unmap(), b.Port())
	}
	return "((" + dir(client, server) + ") || (" + dir(server, client) + "))"
}

// writeTextLadder prints the packets one a line: frame, time from the
// first packet, direction, flags, sequence and acknowledgement numbers
// relative to each side's ISN as Wireshark shows them (its first
// sequence number seen when its SYN is not in the capture), payload
// length, TSval and TSecr.
func writeTextLadder(b *strings.Builder, r *reassembly.Record, got *reassembly.Collected, frame func(reassembly.Frame) string, absolute bool) {
	var base [2]uint32
	var known [2]bool
	if r.C.SYN.Seen() {
		base[0], known[0] = r.C.ISN, true
	}
	if r.S.SYN.Seen() {
		base[1], known[1] = r.S.ISN, true
	}
	w := ShowWindow(r, 0)
	segs := got.Segments
	skipped := 0 // packets of an earlier incarnation before this one's first
	for len(segs) > 0 && frameBefore(reassembly.Frame{File: segs[0].File, N: segs[0].Frame}, r.FirstFrame) {
		segs = segs[1:]
		skipped++
	}
	left := map[int]int{} // packets left out before segs[i]
	for _, g := range got.Gaps {
		if at := g.At - skipped; at > 0 {
			left[at] += g.Omitted
		}
	}
	if len(segs) == 0 {
		return
	}
	t0 := segs[0].Time
	if absolute {
		b.WriteString("  sequence numbers absolute\n")
	} else {
		b.WriteString("  sequence numbers relative to each side's ISN (Wireshark's default); --absolute for the raw ones\n")
	}
	rows := [][]string{{"frame", "time", "dir", "flags", "seq", "ack", "len", "tsval", "tsecr"}}
	for i := range segs {
		if n := left[i]; n > 0 {
			rows = append(rows, []string{"...", "", "", fmt.Sprintf("(%d packets left out)", n)})
		}
		seg := &segs[i]
		from, to, dir := 0, 1, "->"
		if !w.FromClient(seg) {
			from, to, dir = 1, 0, "<-"
		}
		if !known[from] {
			base[from], known[from] = seg.Seq, true
		}
		seq, ack := seg.Seq, seg.Ack
		if !absolute {
			seq -= base[from]
			if known[to] {
				ack -= base[to]
			}
		}
		ackS := "-"
		if seg.Flags&reassembly.FlagACK != 0 {
			ackS = strconv.FormatUint(uint64(ack), 10)
		}
		tsval, tsecr := "-", "-"
		switch {
		case !seg.OptionsKnown:
			tsval, tsecr = "?", "?"
		case seg.HasTS:
			tsval, tsecr = strconv.FormatUint(uint64(seg.TSval), 10), strconv.FormatUint(uint64(seg.TSecr), 10)
		}
		rows = append(rows, []string{frame(reassembly.Frame{File: seg.File, N: seg.Frame}),
			strconv.FormatFloat(float64(seg.Time-t0)/1e9, 'f', 6, 64), dir, "[" + flagNames(seg.Flags) + "]",
			strconv.FormatUint(uint64(seq), 10), ackS, strconv.Itoa(seg.PayloadLen), tsval, tsecr})
	}
	right := []bool{true, true, false, false, true, true, true, true, true}
	width := make([]int, len(right))
	for _, row := range rows {
		if len(row) < len(right) {
			continue
		}
		for i, s := range row {
			width[i] = max(width[i], len(s))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		line.WriteString(" ")
		for i, s := range row {
			line.WriteString(" ")
			pad := strings.Repeat(" ", max(0, width[i]-len(s)))
			if right[i] && len(row) == len(right) {
				line.WriteString(pad + s)
			} else {
				line.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	if !got.Complete {
		b.WriteString("  (the connection's last frame was not found when the captures were read again)\n")
	}
}

// seconds writes a duration in seconds with microseconds.
func seconds(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 6, 64) + " s"
}

// frameBefore reports whether frame a comes before b in the capture.
func frameBefore(a, b reassembly.Frame) bool {
	return a.File < b.File || a.File == b.File && a.N < b.N
}
