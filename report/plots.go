package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// The plots of the HTML report and of --plots. Each Plot* function returns
// nil when it has nothing to draw; Figures puts them in the report's order
// with their sizes, names and captions.

// Bounds that keep the plots readable and the report small on large
// captures; what is left out is said in the caption.
const (
	plotHosts     = 6  // hosts in the TIME_WAIT plot
	plotEndpoints = 12 // server endpoints in the who-closes-first plot
	plotNATIPs    = 4  // NAT plots
	plotSeqRows   = 12 // rows of the sequence space plot
	plotPairs     = 4  // port pressure plots
)

// Sizes, in points (1/72 in): at 96 dpi a plot is 720 px wide.
const (
	plotWidth  = 540
	plotHeight = 300
	natHeight  = 330
)

var (
	colBlue   = rgb(0x4e79a7)
	colOrange = rgb(0xf28e2b)
	colRed    = rgb(0xd62728)
	colTeal   = rgb(0x76b7b2)
	colGreen  = rgb(0x59a14f)
	colYellow = rgb(0xedc948)
	colPurple = rgb(0xb07aa1)
	colPink   = rgb(0xff9da7)
	colBrown  = rgb(0x9c755f)
	colGrey   = rgb(0xbab0ac)
	colDark   = rgb(0x333333)
	// palette colours series in turn: hosts, clocks.
	palette = []color.Color{colBlue, colOrange, colGreen, colPurple, colBrown, colTeal, colPink, colYellow, colGrey, rgb(0x1f77b4)}
)

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}

// plotFont is the one typeface of every plot, embedded in the binary by
// gonum/plot (Liberation Sans) and, in the HTML report, once in its CSS.
var plotFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a plot with the report's fonts and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(plotFont, 13)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(plotFont, 10.5)
		a.Tick.Label.Font = font.From(plotFont, 9)
		a.Tick.Marker = intTicks{}
	}
	p.Legend.TextStyle.Font = font.From(plotFont, 9.5)
	p.Legend.Padding = legendPadding
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	return p
}

// legendPadding separates legend entries, so that thumbnails taller than
// the text (an arrow, a ring) do not touch the next entry.
const legendPadding = vg.Length(3)

// textStyle is a text style of the report's font.
func textStyle(size float64, c color.Color) draw.TextStyle {
	return draw.TextStyle{Color: c, Font: font.From(plotFont, vg.Length(size)), Handler: plot.DefaultTextHandler}
}

// intTicks are about six labelled ticks at steps of 1, 2 or 5 times a
// power of ten, with minor ticks between, labelled without exponents:
// TSvals and sequence numbers are read digit by digit.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step))))
	var ts []plot.Tick
	minor := step / 5
	if step/mag == 2 {
		minor = step / 4
	}
	for v := math.Ceil(lo/minor) * minor; v <= hi+minor*1e-9; v += minor {
		t := plot.Tick{Value: v}
		if k := v / step; math.Abs(k-math.Round(k)) < 1e-6 {
			t.Value = math.Round(k) * step
			if t.Value == 0 {
				t.Value = 0 // not -0
			}
			t.Label = strconv.FormatFloat(t.Value, 'f', prec, 64)
		}
		ts = append(ts, t)
	}
	return ts
}

// evidenceOf is f's evidence when it is of type E (the struct of its kind).
func evidenceOf[E analyze.Evidence](f *analyze.Finding) (E, bool) {
	e, ok := f.Evidence.(E)
	return e, ok
}

// timeWaitPlotted are the series the TIME_WAIT plot draws: the hosts
// with the highest peaks (at most plotHosts) whose peak is at least
// plotPeakShare of the highest, so that thousands of clients holding a
// few sockets each do not crowd out the server holding thousands; and
// the busiest server and the busiest client whatever their peak, since
// which side holds TIME_WAIT is the question.
func timeWaitPlotted(res *analyze.Result) []analyze.TimeWaitSeries {
	all := res.TimeWait
	if len(all) == 0 {
		return nil
	}
	role := map[string]string{}
	for _, h := range res.Verdict.Hosts {
		role[h.IP] = h.Role
	}
	top := all[0].Peak // series come highest peak first
	var out []analyze.TimeWaitSeries
	roles := map[string]bool{}
	for _, s := range all {
		if len(out) == plotHosts {
			break
		}
		if s.Peak*plotPeakShare >= top || !roles[role[s.IP]] {
			out = append(out, s)
			roles[role[s.IP]] = true
		}
	}
	return out
}

// plotPeakShare: a host is drawn when its peak is at least 1/plotPeakShare
// of the highest (the busiest of each side is drawn anyway).
const plotPeakShare = 20

// twBuckets is the tcp_max_tw_buckets the verdict judged by.
func twBuckets(res *analyze.Result) float64 {
	if res.Verdict.TWBuckets > 0 {
		return float64(res.Verdict.TWBuckets)
	}
	return analyze.DefaultTWBuckets
}

// PlotTimeWait draws the TIME_WAIT sockets each of the busiest hosts held
// over the capture, its peak, and tcp_max_tw_buckets. The sockets still
// held when the capture ends are drawn on, dashed, to where their
// TIME_WAIT ends.
func PlotTimeWait(res *analyze.Result) *plot.Plot {
	series := timeWaitPlotted(res)
	if len(series) == 0 {
		return nil
	}
	role := map[string]string{}
	for _, h := range res.Verdict.Hosts {
		role[h.IP] = h.Role
	}
	p := newPlot("Sockets in TIME_WAIT per host", "time since the capture started (s)", "sockets in TIME_WAIT")
	peak, tMax, capEnd, tEnd := 0, 0.0, 0.0, 0.0
	for _, s := range series {
		capEnd = max(capEnd, s.CaptureEnd)
		for _, pt := range s.Points {
			tEnd = max(tEnd, pt.T)
		}
	}
	// When the TIME_WAITs outlast a short capture by far, the plot keeps
	// to the capture and marks the sockets still held as continuing.
	xLimit := tEnd
	if capEnd > 0 && tEnd > 4*capEnd {
		xLimit = capEnd * 1.3
	}
	var peakT float64
	entries := 0
	for i, s := range series {
		var in, after plotter.XYs
		for _, pt := range s.Points {
			xy := plotter.XY{X: pt.T, Y: float64(pt.N)}
			if pt.T > xLimit {
				if len(after) > 0 {
					after = append(after, plotter.XY{X: xLimit, Y: after[len(after)-1].Y})
				}
				break
			}
			tMax = max(tMax, pt.T)
			if pt.T <= s.CaptureEnd || s.CaptureEnd == 0 {
				in = append(in, xy)
				continue
			}
			if len(after) == 0 && len(in) > 0 {
				// Continue from the count held at the capture's end.
				after = append(after, plotter.XY{X: s.CaptureEnd, Y: in[len(in)-1].Y})
				in = append(in, plotter.XY{X: s.CaptureEnd, Y: in[len(in)-1].Y})
			}
			after = append(after, xy)
		}
		if len(after) == 0 && len(in) > 0 && tEnd > xLimit && in[len(in)-1].Y > 0 {
			// Every point after the capture is past the plot's edge.
			y := in[len(in)-1].Y
			in = append(in, plotter.XY{X: capEnd, Y: y})
			after = plotter.XYs{{X: capEnd, Y: y}, {X: xLimit, Y: y}}
		}
		if len(after) > 0 {
			tMax = max(tMax, after[len(after)-1].X)
		}
		col := palette[i%len(palette)]
		var first *plotter.Line
		for k, pts := range []plotter.XYs{in, after} {
			if len(pts) == 0 {
				continue
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				continue
			}
			l.StepStyle = plotter.PostStep
			l.Color = col
			l.Width = vg.Points(1.6)
			if k == 1 {
				l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
				l.Width = vg.Points(1.2)
			}
			p.Add(l)
			if first == nil {
				first = l
			}
		}
		if first == nil {
			continue
		}
		label := fmt.Sprintf("%s (peak %d)", s.IP, s.Peak)
		if r := role[s.IP]; r != "" {
			label = fmt.Sprintf("%s, %s (peak %d)", s.IP, r, s.Peak)
		}
		p.Legend.Add(label, first)
		entries++
		if s.Peak > peak {
			peak = s.Peak
			for _, pt := range s.Points {
				if pt.N == peak {
					peakT = pt.T
					break
				}
			}
		}
	}
	// The highest peak, marked where it is first reached.
	for _, s := range series {
		if s.Peak != peak {
			continue
		}
		sc, _ := plotter.NewScatter(plotter.XYs{{X: peakT, Y: float64(peak)}})
		sc.GlyphStyle = draw.GlyphStyle{Color: colRed, Radius: vg.Points(4), Shape: draw.RingGlyph{}}
		p.Add(sc)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: peakT, Y: float64(peak)}},
			Labels: []string{fmt.Sprintf("peak %d (%s, +%.3g s)", peak, s.IP, peakT)}})
		if err == nil {
			lb.TextStyle[0] = textStyle(9, colRed)
			lb.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(3)}
			if peakT > tMax*0.6 {
				lb.TextStyle[0].XAlign = draw.XRight
				lb.Offset.X = vg.Points(-6)
			}
			p.Add(lb)
		}
		break
	}
	if capEnd > 0 && tMax > capEnd {
		l, _ := plotter.NewLine(plotter.XYs{{X: capEnd, Y: 0}, {X: capEnd, Y: float64(peak) * 1.05}})
		l.Color, l.Width, l.Dashes = colDark, vg.Points(0.8), []vg.Length{vg.Points(1), vg.Points(2)}
		p.Add(l)
		what := "capture ends; dashed: sockets still held, to the end of their TIME_WAIT"
		if xLimit < tEnd {
			what = fmt.Sprintf("capture ends; dashed: sockets still held (the last leaves TIME_WAIT at +%.3g s)", tEnd)
		}
		p.Legend.Add(what, l)
		entries++
	}
	buckets := twBuckets(res)
	p.Y.Min = 0
	top := float64(peak) * 1.1
	entries++
	if float64(peak)*4 >= buckets {
		// The limit is within reach: draw it.
		top = buckets * 1.1
		l, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: buckets}, {X: tMax, Y: buckets}})
		l.Color, l.Dashes, l.Width = colRed, []vg.Length{vg.Points(5), vg.Points(3)}, vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("tcp_max_tw_buckets %s (assumed unless --tw-buckets)", thousands(int(buckets))), l)
	} else {
		// Far above: say where it is instead of squashing the data.
		p.Legend.Add(fmt.Sprintf("tcp_max_tw_buckets %s: %s the peak, off the scale",
			thousands(int(buckets)), times(buckets/float64(max(peak, 1)))), upArrow(colRed))
	}
	p.Y.Max = top
	p.X.Min = 0
	p.X.Max = max(tMax*1.02, 1e-3)
	// The legend goes to the side away from the peak's label.
	p.Legend.Left = peakT > tMax*0.5
	p.Add(plotter.NewGrid())
	reserveTop(p, plotHeight, entries)
	return p
}

// reserveTop raises the top of the Y axis so that a legend of the given
// entries at the top of a plot h high does not cover the data.
func reserveTop(p *plot.Plot, h vg.Length, entries int) {
	legend := vg.Length(entries)*(vg.Points(11)+legendPadding) + vg.Points(14)
	data := h - vg.Points(70) // title, X axis and its label
	frac := float64(legend / data)
	if frac <= 0 || frac >= 0.8 {
		return
	}
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)/(1-frac)
}

// upArrow is a legend thumbnail of a dashed line pointing up: a limit
// above the plot.
type upArrow color.RGBA

func (u upArrow) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	sty := draw.LineStyle{Color: color.RGBA(u), Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(2), vg.Points(1.5)}}
	c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
	c.FillPolygon(color.RGBA(u), []vg.Point{{X: x - vg.Points(3), Y: c.Max.Y - vg.Points(4)}, {X: x + vg.Points(3), Y: c.Max.Y - vg.Points(4)}, {X: x, Y: c.Max.Y + vg.Points(1)}})
}

// times says how many times larger: "5243x".
func times(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0fx", x)
	}
	return fmt.Sprintf("%.1fx", x)
}

// closeOutcomes are the who-closes-first categories in drawing order.
var closeOutcomes = []struct {
	key   analyze.FirstClose
	label string
	color color.Color
}{
	{analyze.FirstCloseClient, "client closed first", colBlue},
	{analyze.FirstCloseServer, "server closed first", colOrange},
	{analyze.FirstCloseSimultaneous, closeLabel[reassembly.CloseSimultaneous], colPurple},
	{analyze.FirstCloseRST, closeLabel[reassembly.CloseRST], colRed},
	{analyze.FirstCloseNone, "no close seen", colGrey},
}

// PlotClosers draws, per server endpoint, how many connections each side
// closed first, crossed FINs, or reset.
func PlotClosers(res *analyze.Result) *plot.Plot {
	eps := closerEndpoints(res)
	if len(eps) == 0 {
		return nil
	}
	p := newPlot("Who closes first, per server endpoint", "connections", "")
	// Bars go bottom-up: put the busiest endpoint on top.
	names := make([]string, len(eps))
	for i, e := range eps {
		names[len(eps)-1-i] = e.Server
	}
	var below *plotter.BarChart
	entries := 0
	for _, o := range closeOutcomes {
		vals := make(plotter.Values, len(eps))
		total := 0
		for i, e := range eps {
			vals[len(eps)-1-i] = float64(e.FirstClose[o.key])
			total += e.FirstClose[o.key]
		}
		if total == 0 {
			continue
		}
		b, err := plotter.NewBarChart(vals, vg.Points(14))
		if err != nil {
			continue
		}
		b.Horizontal = true
		b.Color = o.color
		b.LineStyle.Width = 0
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		p.Legend.Add(o.label, b)
		entries++
	}
	if below == nil {
		return nil
	}
	p.NominalY(names...)
	p.Y.Tick.Label.Font = font.From(plotFont, 9)
	p.X.Min = 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	reserveTop(p, closersHeight(len(eps)), entries)
	return p
}

func closersHeight(n int) vg.Length { return vg.Length(160 + 24*n) }

// closerEndpoints are the endpoints the plot shows: the busiest ones with
// any connection counted.
func closerEndpoints(res *analyze.Result) []analyze.Endpoint {
	var eps []analyze.Endpoint
	for _, e := range res.Endpoints {
		if e.FirstClose != ([analyze.NumFirstCloses]int{}) && e.Connections > 0 {
			eps = append(eps, e)
		}
		if len(eps) == plotEndpoints {
			break
		}
	}
	return eps
}

// reuseGapFloor is where the log-scale gap axis starts: shorter gaps are
// drawn in the first bin.
const reuseGapFloor = 1e-4

// PlotReuseGaps draws the gaps between a four-tuple's close and its next
// SYN as a histogram on a log scale, against the profile's TIME_WAIT.
func PlotReuseGaps(res *analyze.Result) *plot.Plot {
	gaps := res.ReuseGaps
	if len(gaps) == 0 {
		return nil
	}
	limit := res.Profile.TimeWaitS
	lo := math.Log10(reuseGapFloor)
	hi := math.Log10(max(gaps[len(gaps)-1], limit) * 1.5)
	lo = max(lo, math.Floor(math.Log10(max(gaps[0], reuseGapFloor))))
	const perDecade = 5
	n := int(math.Ceil((hi - lo) * perDecade))
	n = max(n, 1)
	inside := make([]plotter.HistogramBin, n)
	after := make([]plotter.HistogramBin, n)
	for i := range n {
		a, b := math.Pow(10, lo+float64(i)/perDecade), math.Pow(10, lo+float64(i+1)/perDecade)
		inside[i] = plotter.HistogramBin{Min: a, Max: b}
		after[i] = plotter.HistogramBin{Min: a, Max: b}
	}
	peak := 0.0
	for _, g := range gaps {
		i := int((math.Log10(max(g, reuseGapFloor)) - lo) * perDecade)
		i = min(max(i, 0), n-1)
		if g < limit {
			inside[i].Weight++
		} else {
			after[i].Weight++
		}
		peak = max(peak, inside[i].Weight, after[i].Weight)
	}
	p := newPlot("Four-tuple reuse: gap from the previous close to the new SYN",
		"gap (s, log scale)", "reuses")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	for _, h := range []struct {
		bins  []plotter.HistogramBin
		label string
		color color.Color
	}{
		{inside, fmt.Sprintf("inside TIME_WAIT (%d)", countBelow(gaps, limit)), colRed},
		{after, fmt.Sprintf("after TIME_WAIT (%d)", len(gaps)-countBelow(gaps, limit)), colBlue},
	} {
		total := 0.0
		for _, b := range h.bins {
			total += b.Weight
		}
		if total == 0 {
			continue
		}
		hist := &plotter.Histogram{Bins: h.bins, Width: h.bins[0].Max - h.bins[0].Min, FillColor: h.color,
			LineStyle: draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}}
		p.Add(hist)
		p.Legend.Add(h.label, hist)
	}
	l, _ := plotter.NewLine(plotter.XYs{{X: limit, Y: 0}, {X: limit, Y: peak * 1.15}})
	l.Color, l.Width, l.Dashes = colDark, vg.Points(1.5), []vg.Length{vg.Points(5), vg.Points(3)}
	p.Add(l)
	p.Legend.Add(fmt.Sprintf("TIME_WAIT %s s (%s profile)", trimFloat(limit), res.Profile.Name), l)
	p.X.Min, p.X.Max = math.Pow(10, lo), math.Pow(10, hi)
	p.Y.Min, p.Y.Max = 0, peak*1.1
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	reserveTop(p, plotHeight, 3)
	return p
}

func countBelow(sorted []float64, limit float64) int {
	return sort.SearchFloat64s(sorted, limit)
}

func trimFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// natPlotted are the first max nat_ts_regression findings that carry plot
// points in their evidence.
func natPlotted(res *analyze.Result, max int) []*analyze.Finding {
	var out []*analyze.Finding
	for i := range res.Findings {
		f := &res.Findings[i]
		if ev, ok := evidenceOf[*analyze.NATEvidence](f); ok && ev.Points != nil && len(out) < max {
			out = append(out, f)
		}
	}
	return out
}

// pressurePlotted are the first max port_pressure findings.
func pressurePlotted(res *analyze.Result, max int) []*analyze.Finding {
	var out []*analyze.Finding
	for i := range res.Findings {
		f := &res.Findings[i]
		if _, ok := evidenceOf[*analyze.PortPressureEvidence](f); ok && len(out) < max {
			out = append(out, f)
		}
	}
	return out
}

// PlotNAT draws one source IP's TSvals against capture time, one colour
// per timestamp clock, with the SYNs a per-IP timestamp check (Linux's
// tcp_tw_recycle) would drop marked. nil when the finding has no points.
func PlotNAT(res *analyze.Result, f *analyze.Finding) *plot.Plot {
	ev, ok := evidenceOf[*analyze.NATEvidence](f)
	if !ok || len(ev.Points) == 0 {
		return nil
	}
	pts := ev.Points
	p := newPlot("TSval against capture time from "+ev.IP, "time since the capture started (s)", "TSval (ticks)")
	byClock := map[int]plotter.XYs{}
	var clocks []int
	var behind, dropped plotter.XYs
	for _, pt := range pts {
		xy := plotter.XY{X: pt.T, Y: float64(pt.TSval)} // since res.SeriesStart, the capture's start
		if _, ok := byClock[pt.Clock]; !ok {
			clocks = append(clocks, pt.Clock)
		}
		byClock[pt.Clock] = append(byClock[pt.Clock], xy)
		switch {
		case pt.Dropped:
			dropped = append(dropped, xy)
		case pt.Behind:
			behind = append(behind, xy)
		}
	}
	sort.Ints(clocks)
	for i, c := range clocks {
		xys := byClock[c]
		col := palette[i%len(palette)]
		for _, seg := range unwrapSegments(xys) {
			if len(seg) < 2 {
				continue
			}
			l, err := plotter.NewLine(seg)
			if err == nil {
				l.Color, l.Width = col, vg.Points(0.8)
				p.Add(l)
			}
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		if i == 0 {
			p.Legend.Add(fmt.Sprintf("TSvals, one colour per clock and server (%d clocks)", len(clocks)), sc)
		}
	}
	if len(behind) > 0 {
		sc, _ := plotter.NewScatter(behind)
		sc.GlyphStyle = draw.GlyphStyle{Color: colOrange, Radius: vg.Points(5), Shape: draw.RingGlyph{}}
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("SYN behind the IP's latest TSval to that server (%d)", len(behind)), sc)
	}
	if len(dropped) > 0 {
		sc, _ := plotter.NewScatter(dropped)
		sc.GlyphStyle = draw.GlyphStyle{Color: colRed, Radius: vg.Points(5), Shape: draw.CrossGlyph{}}
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("SYN a per-IP check (tcp_tw_recycle) drops (%d)", len(dropped)), sc)
	}
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	padRange(&p.Y, 0.04)
	// TSvals are 32-bit: the axis never leaves [0, 2^32).
	p.Y.Min, p.Y.Max = max(p.Y.Min, 0), min(p.Y.Max, tsSpace)
	padRange(&p.X, 0.02)
	reserveTop(p, natHeight, 3)
	return p
}

// tsSpace is the size of the TSval space, 2^32.
const tsSpace = 1 << 32

// unwrapSegments splits one clock's points (TSvals, in time order) where
// the clock wrapped past 2^32 - 1 to 0: each piece is drawn as its own
// line, so that no line crosses the plot from top to bottom and no value
// is shifted outside the 32-bit space.
func unwrapSegments(xys plotter.XYs) []plotter.XYs {
	pts := append(plotter.XYs{}, xys...)
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
	var segs []plotter.XYs
	start := 0
	for i := 1; i < len(pts); i++ {
		a, b := uint32(pts[i-1].Y), uint32(pts[i].Y)
		if int32(b-a) > 0 && b < a { // forward in serial order, yet smaller: wrapped
			segs = append(segs, pts[start:i])
			start = i
		}
	}
	return append(segs, pts[start:])
}

// padRange widens an axis by a fraction of its range on both ends.
func padRange(a *plot.Axis, frac float64) {
	d := (a.Max - a.Min) * frac
	if d == 0 {
		d = max(math.Abs(a.Max)*frac, 1)
	}
	a.Min -= d
	a.Max += d
}

// seqRow is one side of one reused four-tuple in the sequence space plot.
type seqRow struct {
	label       string
	rangeBytes  float64 // old incarnation's range: old ISN to old final seq
	isnOffset   float64 // new ISN - old ISN, bytes (mod 2^32)
	overlap     bool
	severity    analyze.Severity
	overlapText string
}

// seqRows gathers the rows: every seq_overlap finding, and the sides of
// tuple_reuse findings whose new ISN is known and overlaps the old range
// or nearly does (seqNear); the plot is drawn only when there is one.
func seqRows(res *analyze.Result) (rows []seqRow, more int) {
	type key struct {
		prev, conn int
		dir        string
	}
	seen := map[key]bool{}
	add := func(r seqRow) {
		if len(rows) < plotSeqRows {
			rows = append(rows, r)
		} else {
			more++
		}
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Kind != analyze.KindSeqOverlap || len(f.Conns) < 2 {
			continue
		}
		ev, ok := evidenceOf[*analyze.SeqOverlapEvidence](f)
		if !ok {
			continue
		}
		seen[key{f.Conns[0], f.Conns[1], ev.Direction}] = true
		add(seqRow{
			label:      fmt.Sprintf("#%d→#%d %s %s", f.Conns[0], f.Conns[1], ev.Direction, ev.Sender),
			rangeBytes: float64(ev.PrevRangeBytes), isnOffset: float64(ev.ISN - ev.PrevISN), overlap: true, severity: f.Severity,
			overlapText: "overlap " + bytesText(float64(ev.OverlapBytes)),
		})
	}
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Kind != analyze.KindTupleReuse || len(f.Conns) < 2 {
			continue
		}
		ev, ok := evidenceOf[*analyze.TupleReuseEvidence](f)
		if !ok {
			continue
		}
		for _, side := range []struct {
			dir       string
			isn, old  *uint32
			prevFinal uint32
		}{
			{"client", &ev.ClientISN, ev.PrevISN.Client, ev.PrevFinalSeq.Client},
			{"server", ev.ServerISN, ev.PrevISN.Server, ev.PrevFinalSeq.Server},
		} {
			if side.isn == nil || side.old == nil || seen[key{f.Conns[0], f.Conns[1], side.dir}] {
				continue
			}
			rb := float64(side.prevFinal - *side.old)
			off := float64(*side.isn - *side.old)
			if !seqNear(rb, off) {
				continue
			}
			add(seqRow{
				label:      fmt.Sprintf("#%d→#%d %s", f.Conns[0], f.Conns[1], side.dir),
				rangeBytes: rb, isnOffset: off, overlap: off < rb, severity: f.Severity,
				overlapText: beyondText(off - rb),
			})
		}
	}
	return rows, more
}

// seqNearBytes is how close to the old range a new ISN counts as near
// an overlap: one unscaled receive window (65,535 bytes), within which an
// old segment could land in the new connection's window. Linux's
// tcp_tw_reuse starts 65,537 past the old next sequence number, just
// outside it.
const seqNearBytes = 65536

// seqNear reports whether a side's new ISN, off bytes past the old ISN
// (mod 2^32), overlaps the old range of rb bytes or lies within
// seqNearBytes of it, past its end or behind its start.
func seqNear(rb, off float64) bool {
	switch {
	case off < rb:
		return true
	case off-rb < seqNearBytes:
		return true
	}
	return 1<<32-off < seqNearBytes
}

func beyondText(d float64) string {
	if d < 0 {
		return "overlap " + bytesText(-d)
	}
	if d >= 1<<31 {
		return "new ISN behind the old range"
	}
	return "new ISN " + bytesText(d) + " past it"
}

// bytesText writes a byte count for a person: 1.2 MB.
func bytesText(b float64) string {
	switch {
	case b >= 1e9:
		return fmt.Sprintf("%.3g GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.3g MB", b/1e6)
	case b >= 1e4:
		return fmt.Sprintf("%.3g kB", b/1e3)
	}
	return fmt.Sprintf("%.0f B", b)
}

// PlotSeqSpace draws, per reused four-tuple and side, the sequence range
// the side used in the old incarnation, where its new ISN lies, and the
// overlap, in the style of RFC 1185's figures: a delayed old segment
// whose sequence number falls in the overlap is taken as new data.
func PlotSeqSpace(res *analyze.Result) *plot.Plot {
	rows, more := seqRows(res)
	if len(rows) == 0 {
		return nil
	}
	title := "Sequence space of reused four-tuples"
	if more > 0 {
		title += fmt.Sprintf(" (%d of %d)", len(rows), len(rows)+more)
	}
	p := newPlot(title, "position in the old incarnation's sequence range (0 = old ISN, 1 = old final seq)", "")
	names := make([]string, len(rows))
	for i, r := range rows {
		names[len(rows)-1-i] = r.label
	}
	p.NominalY(names...)
	p.Add(&seqPlotter{rows: rows})
	p.X.Min, p.X.Max = -0.05, seqBeyond+0.25
	p.X.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0 old ISN"}, {Value: 0.5, Label: "0.5"},
		{Value: 1, Label: "1 old final seq"}, {Value: seqBeyond, Label: "beyond"}}
	p.Y.Tick.Label.Font = font.From(plotFont, 8.5)
	var old, isn, ov plot.Thumbnailer = swatch(colGrey), markerThumb(colBlue), swatch(colRed)
	p.Legend.Add("old range", old)
	p.Legend.Add("new ISN", isn)
	p.Legend.Add("overlap: old segments would land in the new window", ov)
	p.Legend.Top = true
	reserveTop(p, seqHeight(len(rows)), 3)
	return p
}

func seqHeight(rows int) vg.Length { return vg.Length(120 + 26*rows) }

// seqBeyond is where the plot puts a new ISN outside the old range.
const seqBeyond = 1.35

type seqPlotter struct{ rows []seqRow }

func (s *seqPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.05, seqBeyond + 0.25, -0.5, float64(len(s.rows)) - 0.5
}

func (s *seqPlotter) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	h := vg.Points(7)
	for i, r := range s.rows {
		y := trY(float64(len(s.rows) - 1 - i))
		x0, x1 := trX(0), trX(1)
		c.FillPolygon(colGrey, rect(x0, y-h, x1, y+h))
		pos := seqBeyond
		if r.rangeBytes > 0 && r.isnOffset < r.rangeBytes {
			pos = r.isnOffset / r.rangeBytes
		}
		if r.overlap {
			c.FillPolygon(colRed, rect(trX(pos), y-h, x1, y+h))
		}
		xi := trX(pos)
		c.StrokeLine2(draw.LineStyle{Color: colBlue, Width: vg.Points(2.5)}, xi, y-h-vg.Points(3), xi, y+h+vg.Points(3))
		sty := textStyle(8, colDark)
		sty.YAlign = draw.YCenter
		label := fmt.Sprintf("%s; old range %s", r.overlapText, bytesText(r.rangeBytes))
		sty.XAlign = draw.XLeft
		if r.overlap {
			c.FillText(sty, vg.Point{X: x1 + vg.Points(4), Y: y}, label)
		} else {
			c.FillText(sty, vg.Point{X: x0 + vg.Points(4), Y: y}, label)
		}
	}
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// swatch is a legend thumbnail of a filled colour.
type swatch color.RGBA

func (s swatch) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(color.RGBA(s), rect(c.Min.X, c.Min.Y, c.Max.X, c.Max.Y))
}

// markerThumb is a legend thumbnail of a vertical marker.
type markerThumb color.RGBA

func (m markerThumb) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(draw.LineStyle{Color: color.RGBA(m), Width: vg.Points(2.5)}, x, c.Min.Y, x, c.Max.Y)
}

// PlotPortPressure draws the ephemeral ports one client held in TIME_WAIT
// toward one server endpoint over time, against its port range, the
// thresholds and the projection at the observed rate.
func PlotPortPressure(res *analyze.Result, f *analyze.Finding) *plot.Plot {
	ev, ok := evidenceOf[*analyze.PortPressureEvidence](f)
	if !ok || len(ev.Points) == 0 {
		return nil
	}
	pts := ev.Points
	size, steady, pr := float64(ev.PortRangeSize), float64(ev.SteadyStatePorts), ev.PortRange
	p := newPlot(fmt.Sprintf("Ports of %s in TIME_WAIT toward %s", ev.ClientIP, ev.Server),
		"time since the capture started (s)", "ports in TIME_WAIT")
	xys := make(plotter.XYs, len(pts))
	tMax := 0.0
	for i, pt := range pts {
		xys[i] = plotter.XY{X: pt.T, Y: float64(pt.N)}
		tMax = max(tMax, pt.T)
	}
	tMax = max(tMax, 1e-3)
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil
	}
	l.StepStyle, l.Color, l.Width = plotter.PostStep, colBlue, vg.Points(1.6)
	l.FillColor = color.NRGBA{R: 0x4e, G: 0x79, B: 0xa7, A: 0x40}
	p.Add(l)
	peak := float64(ev.Peak)
	p.Legend.Add(fmt.Sprintf("ports in TIME_WAIT (peak %.0f)", peak), l)
	entries := 1
	hline := func(y float64, c color.Color, dashes []vg.Length, label string) {
		entries++
		hl, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: y}, {X: tMax, Y: y}})
		hl.Color, hl.Dashes, hl.Width = c, dashes, vg.Points(1.2)
		p.Add(hl)
		p.Legend.Add(label, hl)
	}
	dash := []vg.Length{vg.Points(5), vg.Points(3)}
	if size > 0 {
		hline(size, colRed, nil, fmt.Sprintf("port range %d-%d (%.0f ports)", pr[0], pr[1], size))
		hline(size*0.9, colOrange, dash, "90%: critical")
		hline(size*0.5, colYellow, dash, "50%: warning")
	}
	if steady > 0 && steady != peak {
		hline(steady, colPurple, []vg.Length{vg.Points(2), vg.Points(2)},
			fmt.Sprintf("held at the observed rate over a whole TIME_WAIT: %.0f", steady))
	}
	p.X.Min, p.X.Max = 0, tMax*1.02
	p.Y.Min = 0
	p.Y.Max = max(size, steady, peak) * 1.05
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	reserveTop(p, plotHeight, entries)
	return p
}

// Names of the figures the HTML report's first section shows.
const (
	figTimeWait = "1-time-wait"
	figClosers  = "2-who-closes-first"
)

// Figure is one chart of the report.
type Figure struct {
	Name    string // file name under --plots, without extension
	Title   string
	Caption string
	Plot    *plot.Plot
	W, H    vg.Length
	// Ladder is the ladder a ladder figure draws, for the HTML report's
	// table of its packets with their absolute numbers.
	Ladder *Ladder
}

// Figures returns the report's charts in order, leaving out empty ones:
// TIME_WAIT over time, who closes first, reuse gaps, NAT timestamps,
// sequence space, port pressure, then one ladder per finding kind.
func Figures(res *analyze.Result, ladders []Ladder) []Figure {
	var figs []Figure
	add := func(name, title, caption string, p *plot.Plot, h vg.Length) {
		if p != nil {
			figs = append(figs, Figure{Name: name, Title: title, Caption: caption, Plot: p, W: plotWidth, H: h})
		}
	}
	twCaption := "The most sockets each host held in TIME_WAIT, as the capture shows it: a lower bound, " +
		"since sockets already in TIME_WAIT when the capture started are not seen."
	if drawn, n := len(timeWaitPlotted(res)), max(res.Verdict.HostsHolding, len(res.TimeWait)); n > drawn && drawn > 0 {
		twCaption += fmt.Sprintf(" Drawn: %d of the %d hosts that held TIME_WAIT, those with the highest peaks "+
			"(at most %d, each at least 1/%d of the highest) and the busiest server and the busiest client; "+
			"the others' peaks are in the hosts table and the JSON report.", drawn, n, plotHosts, plotPeakShare)
	}
	if len(res.TimeWait) > 0 && res.TimeWait[0].CaptureEnd > 0 {
		twCaption += " Sockets still in TIME_WAIT when the capture ends are drawn dashed to where their TIME_WAIT ends, " +
			"unless a new incarnation of their four-tuple ended it."
	}
	add(figTimeWait, "TIME_WAIT over time", twCaption, PlotTimeWait(res), plotHeight)

	eps := closerEndpoints(res)
	clCaption := "Who sent the first FIN, per server endpoint: the side that closes first keeps TIME_WAIT."
	if more := len(res.Endpoints) - len(eps); more > 0 && len(eps) > 0 {
		clCaption += fmt.Sprintf(" The %d busiest endpoints; %d more are in the JSON report.", len(eps), more)
	}
	add(figClosers, "Who closes first", clCaption, PlotClosers(res), closersHeight(len(eps)))

	rgCaption := fmt.Sprintf("Every reuse of a four-tuple (%d), by the time from the previous incarnation's close to the new SYN; "+
		"left of the line the new SYN came while the old connection could still be in TIME_WAIT.", len(res.ReuseGaps)+res.ReuseGapsMore)
	if res.ReuseGapsMore > 0 {
		rgCaption += fmt.Sprintf(" %d more reuses are left out of the histogram.", res.ReuseGapsMore)
	}
	add("3-reuse-gaps", "Four-tuple reuse gaps", rgCaption, PlotReuseGaps(res), plotHeight)

	for i, f := range natPlotted(res, plotNATIPs) {
		ev, _ := evidenceOf[*analyze.NATEvidence](f)
		caption := "Each timestamped connection's first and last TSval from this address. Parallel lines are separate clocks; " +
			"a SYN below a line drawn earlier is what a per-IP timestamp check (tcp_tw_recycle) refuses."
		add(fmt.Sprintf("4-nat-timestamps-%d", i+1), "NAT timestamps: "+ev.IP, caption, PlotNAT(res, f), natHeight)
	}

	rows, _ := seqRows(res)
	add("5-sequence-space", "Sequence space of reused four-tuples",
		"For each reused four-tuple and side whose new ISN overlaps the old incarnation's range or lies within 64 KiB of it: the sequence range the side used in the old incarnation (grey), "+
			"its new ISN (blue) and the overlap (red), where a delayed segment of the old connection is accepted as new data "+
			"unless timestamps (PAWS) reject it, as in RFC 1185's figures.",
		PlotSeqSpace(res), seqHeight(len(rows)))

	for i, f := range pressurePlotted(res, plotPairs) {
		ev, _ := evidenceOf[*analyze.PortPressureEvidence](f)
		add(fmt.Sprintf("6-port-pressure-%d", i+1), "Port pressure: "+ev.ClientIP+" → "+ev.Server,
			"Ephemeral ports the client held in TIME_WAIT toward one server endpoint, against its port range: "+
				"when the range is full, connect() fails with EADDRNOTAVAIL.",
			PlotPortPressure(res, f), plotHeight)
	}

	for i := range ladders {
		l := &ladders[i]
		n := len(figs)
		add("7-ladder-"+strings.ReplaceAll(l.Kind, "_", "-"), "Ladder: "+l.Kind, l.Caption(), PlotLadder(*l), ladderHeight(*l))
		if len(figs) > n {
			figs[n].Ladder = l
		}
	}
	return figs
}

// renderSVG writes the figure as SVG; embed puts the fonts in it (the
// HTML report carries them once in its CSS instead).
func (f Figure) renderSVG(embed bool) ([]byte, error) {
	c := newSVGCanvas(f.W, f.H, embed)
	f.Plot.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
