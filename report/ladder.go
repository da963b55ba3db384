package report

import (
	"fmt"
	"image/color"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// Ladder diagrams need what records do not keep: each packet's time,
// direction, flags, sequence and acknowledgement numbers. They are drawn
// for one example connection per finding kind (the first finding of the
// kind: the most severe, then the earliest), from a bounded window around
// the frames that prove the finding: LadderWindows asks for them, cmd has
// reassembly.CollectFrames read them, and LaddersOf draws what it found.

// Bounds of one ladder.
const (
	ladderHead   = 5  // packets kept from the incarnation's SYN on, when it came before
	ladderBefore = 6  // packets of the connection kept right before the first proving frame
	ladderAfter  = 3  // packets kept after the last one
	ladderMax    = 28 // packets drawn at most from the first proving frame on; the middle of a longer run is left out
)

// LadderPacket is one packet of a ladder diagram.
type LadderPacket struct {
	Frame      reassembly.Frame
	Time       int64 // Unix ns
	FromClient bool
	Flags      uint8
	Seq, Ack   uint32
	// Rel are Seq and Ack relative to the conversation's, as Wireshark
	// shows them by default; the absolute ones stay in Seq and Ack.
	Rel reassembly.RelSeq
	Len int
	// HasTS is true when the packet carries TCP timestamps.
	HasTS        bool
	TSval, TSecr uint32
	Marked       bool   // one of the frames that prove the finding
	Note         string // what the finding says the packet is, if anything
}

// Ladder is the example connection of one finding kind.
type Ladder struct {
	Kind           string
	Severity       analyze.Severity
	Summary        string
	Client, Server netip.AddrPort
	Packets        []LadderPacket
	// Gaps are where packets of the conversation were left out.
	Gaps     []reassembly.Gap
	Complete bool // every proving frame was found in the capture
	FromSYN  bool // Packets start at the incarnation's SYN (or SYN+ACK)
}

// omitted counts the packets left out.
func (l Ladder) omitted() int {
	n := 0
	for _, g := range l.Gaps {
		n += g.Omitted
	}
	return n
}

// showTS reports whether the ladder labels packets with their
// timestamps: for the NAT finding, whose evidence they are.
func (l Ladder) showTS() bool { return l.Kind == analyze.KindNATTSRegression }

// Caption says what the ladder shows, in the words of its kind.
func (l Ladder) Caption() string {
	var s string
	switch l.Kind {
	case analyze.KindNATTSRegression:
		s = fmt.Sprintf("A connection from %s to %s with each packet's TSval and TSecr, the example of %s: its SYN carries a TSval "+
			"behind the latest one seen from the same address, which a per-IP timestamp check (tcp_tw_recycle) refuses. %s",
			l.Client, l.Server, l.Kind, strings.TrimSuffix(l.Summary, "."))
	case analyze.KindTupleReuse, analyze.KindSeqOverlap, analyze.KindOldDuplicate:
		s = fmt.Sprintf("Two incarnations of the four-tuple %s ↔ %s, the example of %s: the old one's close and the new one's SYN. %s",
			l.Client, l.Server, l.Kind, strings.TrimSuffix(l.Summary, "."))
	case analyze.KindSeqWrap:
		s = fmt.Sprintf("The connection %s ↔ %s, the example of %s: %s", l.Client, l.Server, l.Kind, strings.TrimSuffix(l.Summary, "."))
	default:
		s = fmt.Sprintf("The close of %s ↔ %s as the capture shows it, the example of %s: %s",
			l.Client, l.Server, l.Kind, strings.TrimSuffix(l.Summary, "."))
	}
	s += ". Highlighted packets are the frames the finding names; time is from the first packet drawn; " +
		"seq and ack are relative, as Wireshark shows them (the ISNs are in the lane headers, the absolute numbers in the packet table)."
	if !l.FromSYN {
		s += " The connection's SYN is not in the capture."
	}
	if n := l.omitted(); n > 0 {
		s += fmt.Sprintf(" %d packets are left out where marked.", n)
	}
	return s
}

// ladderNotes names the packets a finding's evidence names.
func ladderNotes(f *analyze.Finding) map[int]string {
	notes := map[int]string{}
	note := func(frame *int, what string) {
		if frame != nil && *frame > 0 {
			notes[*frame] = what
		}
	}
	switch ev := f.Evidence.(type) {
	case *analyze.FinalAckEvidence:
		note(ev.ActiveFINFrame, "active closer's FIN")
		note(ev.PassiveFINFrame, "passive closer's FIN")
		note(ev.FinalAckFrame, "final ACK, then lost")
		note(ev.ResentFINFrame, "FIN sent again")
		note(ev.AnswerFrame, "answer to it")
	case *analyze.OldDuplicateEvidence:
		note(&ev.Frame, "old duplicate")
	}
	return notes
}

// kindNote names a proving packet the evidence does not name, by what
// the finding kind says of its frames.
func kindNote(kind string, pk LadderPacket) string {
	syn := pk.Flags&reassembly.FlagSYN != 0
	switch kind {
	case analyze.KindPortPressure:
		return "final ACK: client enters TIME_WAIT"
	case analyze.KindNATTSRegression:
		return "SYN with its TSval behind"
	case analyze.KindTupleReuse, analyze.KindSeqOverlap, analyze.KindOldDuplicate:
		switch {
		case syn && pk.Flags&reassembly.FlagACK != 0:
			return "new incarnation's SYN+ACK"
		case syn:
			return "new incarnation's SYN"
		}
		return "old incarnation's close"
	case analyze.KindCloseWait:
		if pk.Flags&reassembly.FlagFIN != 0 {
			return "FIN: the peer never sends its own"
		}
		return "ACK of the FIN: CLOSE_WAIT"
	case analyze.KindSeqWrap:
		if syn {
			return "start of the sequence space"
		}
		return "last packet"
	}
	return ""
}

// ladderFindings picks the example finding of each kind, in the report's
// order (most severe kinds first).
func ladderFindings(res *analyze.Result) []*analyze.Finding {
	seen := map[string]bool{}
	var out []*analyze.Finding
	for i := range res.Findings {
		f := &res.Findings[i]
		if seen[f.Kind] || len(f.Refs) == 0 || !f.Client.IsValid() || !f.Server.IsValid() {
			continue
		}
		seen[f.Kind] = true
		out = append(out, f)
	}
	return out
}

// LadderWindows are the packets the ladders need, for
// reassembly.CollectFrames: one window of each example connection around
// the frames that prove its finding.
func LadderWindows(res *analyze.Result) []reassembly.Window {
	fs := ladderFindings(res)
	ws := make([]reassembly.Window, len(fs))
	for i, f := range fs {
		ws[i] = reassembly.Window{Client: f.Client, Server: f.Server, Frames: f.Refs,
			Head: ladderHead, Before: ladderBefore, After: ladderAfter, Max: ladderMax}
	}
	return ws
}

// LaddersOf makes the ladders of res from what reassembly.CollectFrames
// found of LadderWindows(res), in that order: one per example connection
// of which the proving frames were found.
func LaddersOf(res *analyze.Result, got []reassembly.Collected) []Ladder {
	fs := ladderFindings(res)
	out := make([]Ladder, 0, len(fs))
	for i, f := range fs {
		if i >= len(got) || len(got[i].Segments) == 0 {
			continue
		}
		c := got[i]
		l := Ladder{Kind: f.Kind, Severity: f.Severity, Summary: f.Summary, Client: f.Client, Server: f.Server,
			Gaps: c.Gaps, Complete: c.Complete, FromSYN: c.FromSYN}
		refs := map[reassembly.Frame]bool{}
		for _, r := range f.Refs {
			refs[r] = true
		}
		notes := ladderNotes(f)
		for j, seg := range c.Segments {
			fr := reassembly.Frame{File: seg.File, N: seg.Frame}
			pk := LadderPacket{Frame: fr, Time: seg.Time,
				FromClient: netip.AddrPortFrom(seg.Src(), seg.SrcPort) == f.Client && netip.AddrPortFrom(seg.Dst(), seg.DstPort) == f.Server,
				Flags:      seg.Flags, Seq: seg.Seq, Ack: seg.Ack, Len: seg.PayloadLen, Marked: refs[fr],
				HasTS: seg.OptionsKnown && seg.HasTS, TSval: seg.TSval, TSecr: seg.TSecr}
			if j < len(c.Rel) {
				pk.Rel = c.Rel[j]
			}
			if pk.Marked {
				pk.Note = notes[fr.N]
				if pk.Note == "" {
					pk.Note = kindNote(f.Kind, pk)
				}
			}
			l.Packets = append(l.Packets, pk)
		}
		out = append(out, l)
	}
	return out
}

// flagNames writes TCP flags as Wireshark lists them.
func flagNames(f uint8) string {
	var parts []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{
		{reassembly.FlagSYN, "SYN"}, {reassembly.FlagFIN, "FIN"}, {reassembly.FlagRST, "RST"},
		{reassembly.FlagPSH, "PSH"}, {reassembly.FlagACK, "ACK"}, {reassembly.FlagURG, "URG"},
		{reassembly.FlagECE, "ECE"}, {reassembly.FlagCWR, "CWR"},
	} {
		if f&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Ladder geometry, in points.
const (
	ladderTop = 68 // title and lane headers
	ladderRow = 23
	ladderBot = 14
)

func ladderHeight(l Ladder) vg.Length {
	rows := len(l.Packets) + len(l.Gaps)
	return vg.Length(ladderTop + ladderRow*rows + ladderBot)
}

// PlotLadder draws the ladder: the client's and the server's lanes, one
// arrow a packet with its time, frame, flags, seq, ack and length, the
// proving frames in red. nil when there are no packets.
func PlotLadder(l Ladder) *plot.Plot {
	if len(l.Packets) == 0 {
		return nil
	}
	p := newPlot(fmt.Sprintf("Ladder: %s (%s), example connection", l.Kind, l.Severity), "", "")
	p.HideAxes()
	p.Add(&ladderPlotter{l: l})
	return p
}

type ladderPlotter struct{ l Ladder }

func (lp *ladderPlotter) Plot(c draw.Canvas, _ *plot.Plot) {
	l := lp.l
	w := c.Max.X - c.Min.X
	xTime := c.Min.X + vg.Points(2)
	xC := c.Min.X + w*0.22
	xS := c.Min.X + w*0.74
	top := c.Max.Y - vg.Points(6)

	head := textStyle(10, colDark)
	head.XAlign = draw.XCenter
	c.FillText(head, vg.Point{X: xC, Y: top}, "client "+l.Client.String())
	c.FillText(head, vg.Point{X: xS, Y: top}, "server "+l.Server.String())
	sub := textStyle(8, colDark)
	c.FillText(sub, vg.Point{X: xTime, Y: top}, "time, frame")
	isnStyle := textStyle(7.5, colDark)
	isnStyle.XAlign = draw.XCenter
	for _, side := range []struct {
		x   vg.Length
		isn string
	}{{xC, l.isn(true)}, {xS, l.isn(false)}} {
		if side.isn != "" {
			c.FillText(isnStyle, vg.Point{X: side.x, Y: top - vg.Points(11)}, side.isn)
		}
	}

	rows := len(l.Packets) + len(l.Gaps)
	y0 := top - vg.Points(32)
	yEnd := y0 - vg.Length(rows)*ladderRow
	lane := draw.LineStyle{Color: colDark, Width: vg.Points(1.2)}
	c.StrokeLine2(lane, xC, y0+vg.Points(8), xC, yEnd)
	c.StrokeLine2(lane, xS, y0+vg.Points(8), xS, yEnd)

	t0 := l.Packets[0].Time
	span := l.Packets[len(l.Packets)-1].Time - t0
	y := y0
	for i, pk := range l.Packets {
		for _, g := range l.Gaps {
			if g.At != i {
				continue
			}
			gap := textStyle(8.5, colDark)
			gap.XAlign = draw.XCenter
			gap.YAlign = draw.YCenter
			what := fmt.Sprintf("... %d packets not shown ...", g.Omitted)
			if i == 0 {
				what = fmt.Sprintf("... %d earlier packets of the connection not shown ...", g.Omitted)
			}
			c.FillText(gap, vg.Point{X: (xC + xS) / 2, Y: y - ladderRow/2}, what)
			y -= ladderRow
		}
		col, width := color.Color(colDark), vg.Points(1)
		if pk.Marked {
			col, width = colRed, vg.Points(2)
		}
		from, to := xC, xS
		if !pk.FromClient {
			from, to = xS, xC
		}
		yFrom, yTo := y-vg.Points(4), y-ladderRow+vg.Points(8)
		sty := draw.LineStyle{Color: col, Width: width}
		c.StrokeLine2(sty, from, yFrom, to, yTo)
		arrowHead(&c, col, from, yFrom, to, yTo)

		ts := textStyle(8, colDark)
		ts.YAlign = draw.YCenter
		c.FillText(ts, vg.Point{X: xTime, Y: y - vg.Points(4)}, fmt.Sprintf("+%s  #%d", relTime(pk.Time-t0, span), pk.Frame.N))

		lbl := textStyle(8.5, col)
		lbl.XAlign = draw.XCenter
		lbl.YAlign = draw.YBottom
		text := pk.label(l.showTS())
		if l.showTS() {
			lbl.Font.Size = vg.Points(7.5)
		}
		c.FillText(lbl, vg.Point{X: (xC + xS) / 2, Y: yFrom + vg.Points(1)}, text)
		if pk.Note != "" {
			note := textStyle(8, colRed)
			note.YAlign = draw.YCenter
			c.FillText(note, vg.Point{X: xS + vg.Points(6), Y: y - vg.Points(8)}, pk.Note)
		}
		y -= ladderRow
	}
}

func (lp *ladderPlotter) DataRange() (xmin, xmax, ymin, ymax float64) { return 0, 1, 0, 1 }

// arrowHead draws a small filled arrow head at (x1, y1) pointing away
// from (x0, y0).
func arrowHead(c *draw.Canvas, col color.Color, x0, y0, x1, y1 vg.Length) {
	dx, dy := float64(x1-x0), float64(y1-y0)
	n := math.Hypot(dx, dy)
	if n == 0 {
		return
	}
	dx, dy = dx/n, dy/n
	const size, half = 7.0, 3.0
	bx, by := float64(x1)-size*dx, float64(y1)-size*dy
	c.FillPolygon(col, []vg.Point{
		{X: x1, Y: y1},
		{X: vg.Length(bx - half*dy), Y: vg.Length(by + half*dx)},
		{X: vg.Length(bx + half*dy), Y: vg.Length(by - half*dx)},
	})
}

// relTime writes a time offset at a precision that suits the span.
func relTime(d, span int64) string {
	if span < 2e9 {
		return fmt.Sprintf("%.3f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3f s", float64(d)/1e9)
}

// label is the packet's line on the ladder: flags, relative seq and ack,
// length, and with ts its timestamps.
func (pk LadderPacket) label(ts bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] seq=%d", flagNames(pk.Flags), pk.Rel.Seq)
	if pk.Flags&reassembly.FlagACK != 0 && pk.Rel.AckKnown {
		fmt.Fprintf(&b, " ack=%d", pk.Rel.Ack)
	}
	fmt.Fprintf(&b, " len=%d", pk.Len)
	if ts && pk.HasTS {
		fmt.Fprintf(&b, " TSval=%d TSecr=%d", pk.TSval, pk.TSecr)
	}
	return b.String()
}

// isn is the side's initial sequence numbers as the ladder's SYNs (or
// SYN+ACKs) show them, one per incarnation drawn, for the lane header;
// without one, the absolute number relative seq 0 stands for.
func (l Ladder) isn(client bool) string {
	var isns []string
	for _, pk := range l.Packets {
		if pk.FromClient == client && pk.Flags&reassembly.FlagSYN != 0 {
			v := strconv.FormatUint(uint64(pk.Seq), 10)
			if len(isns) == 0 || isns[len(isns)-1] != v {
				isns = append(isns, v)
			}
		}
	}
	if len(isns) > 0 {
		return "ISN " + strings.Join(isns, " → ") + " (absolute)"
	}
	for _, pk := range l.Packets {
		if pk.FromClient == client {
			return fmt.Sprintf("relative seq 0 = %d (absolute)", pk.Seq-pk.Rel.Seq)
		}
	}
	return ""
}
