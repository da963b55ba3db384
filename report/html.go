package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

//go:embed html.tmpl
var htmlTemplate string

// Bounds that keep the HTML report small on large captures: the worst
// examples are shown, and how many more there are.
const (
	HTMLExamples  = 3  // findings shown per severity and kind
	htmlHosts     = 25 // rows of the hosts table
	htmlEndpoints = 15 // rows of the endpoints table
	htmlFrames    = 20 // frame numbers listed per finding
	htmlEvidence  = 240
)

// HTMLOptions are what the HTML report needs besides the result.
type HTMLOptions struct {
	// Ladders are the example connections drawn as ladder diagrams
	// (LaddersOf); LadderNote says why there are none, if so.
	Ladders    []Ladder
	LadderNote string
}

// LadderNoteStdin says why a report of a capture read from standard
// input has no ladder diagrams.
const LadderNoteStdin = "Ladder diagrams are not drawn: the capture came from standard input, which cannot be read a second time for the packets. Give the capture as a file to get them."

// LadderNoteFailed says why the ladder diagrams are missing when reading
// the captures a second time failed.
func LadderNoteFailed(err error) string {
	return "Ladder diagrams are incomplete: reading the captures again failed: " + err.Error()
}

// kindTitles name the finding kinds for a person.
var kindTitles = map[string]string{
	analyze.KindLostFinalAck:    "Lost final ACK",
	analyze.KindFinalAckRST:     "Resent FIN answered by RST",
	analyze.KindTupleReuse:      "Four-tuple reused inside TIME_WAIT",
	analyze.KindNATTSRegression: "Timestamps going backwards from one IP (NAT)",
	analyze.KindSeqOverlap:      "Sequence overlap between incarnations",
	analyze.KindOldDuplicate:    "Old duplicate segment in a new incarnation",
	analyze.KindSuspectSegment:  "Segment the receiver would not accept (injection or sequence rewriting)",
	analyze.KindSeqWrap:         "Sequence numbers wrapping within TIME_WAIT",
	analyze.KindCloseWait:       "Connections stuck in CLOSE_WAIT",
	analyze.KindPortPressure:    "Ephemeral port pressure",
}

func kindTitle(k string) string {
	if t, ok := kindTitles[k]; ok {
		return t
	}
	return k
}

type htmlPage struct {
	Tool, Title   string
	FontCSS       template.CSS
	Profile       analyze.ProfileInfo
	Captures      []analyze.Capture
	Span          string
	Totals        analyze.Totals
	Verdict       string
	VerdictClass  string
	Answer        answerView
	AnswerFigures []htmlFigure // the TIME_WAIT and who-closes-first plots, in the answer
	KindCounts    []kindCount
	Severities    []sevGroup
	Closes        []closeRow
	Endpoints     []analyze.Endpoint
	EndpointsMore int
	Hosts         []analyze.Host
	HostsMore     int
	Folded        []string // tables folded past their bounds
	Figures       []htmlFigure
	LadderNote    string
	NATLine       string // natSummaryLine
	Warnings      []string
	Error         string
	// Selection says which connections the report is about (--server,
	// --client, --since, --until; "" all), with the capture's count.
	Selection string
}

// answerView is the verdict's facts as the first section shows them.
type answerView struct {
	analyze.Verdict
	Buckets, PortRangeSize string
	Endpoints              []answerEndpoint
	EndpointsMore          int
	Hosts                  []answerHost
	HostsMore              int
	OthersPeak             int // the highest peak of the hosts not listed
}

type answerEndpoint struct {
	analyze.EndpointAnswer
	PeakAt string
}

type answerHost struct {
	analyze.HostAnswer
	PeakAt, Buckets, Ports string
}

type kindCount struct {
	Advice                         string
	Kind, Title                    string
	Worst                          analyze.Severity
	Critical, Warning, Info, Total int
}

type sevGroup struct {
	Severity analyze.Severity
	Count    int
	Kinds    []kindGroup
}

type kindGroup struct {
	Kind, Title string
	Severity    analyze.Severity
	Count       int // found, listed in the JSON or not
	Listed      int // in the JSON report
	Shown       []findingView
	More        int // found and not shown here
}

type findingView struct {
	Severity                                     analyze.Severity
	Summary, Time, Conns, Frames, Filter, Advice string
	Evidence                                     []kv
}

type kv struct{ Key, Value string }

type closeRow struct {
	Label string
	Count int
	Pct   string
}

type htmlFigure struct {
	ID, Title, Caption string
	SVG                template.HTML
	Packets            []ladderTableRow // a ladder's packets, with absolute numbers
}

// ladderTableRow is one packet of a ladder in the table under it.
type ladderTableRow struct {
	Frame, Time, Dir, Flags       string
	RelSeq, RelAck, Seq, Ack, Len string
	TSval, TSecr, Note            string
	Marked                        bool
}

func ladderRows(l *Ladder) []ladderTableRow {
	var rows []ladderTableRow
	if len(l.Packets) == 0 {
		return nil
	}
	t0 := l.Packets[0].Time
	span := l.Packets[len(l.Packets)-1].Time - t0
	for _, pk := range l.Packets {
		r := ladderTableRow{Frame: strconv.Itoa(pk.Frame.N), Time: "+" + relTime(pk.Time-t0, span), Dir: "client → server",
			Flags: flagNames(pk.Flags), RelSeq: strconv.FormatUint(uint64(pk.Rel.Seq), 10), Seq: strconv.FormatUint(uint64(pk.Seq), 10),
			Len: strconv.Itoa(pk.Len), Note: pk.Note, Marked: pk.Marked}
		if !pk.FromClient {
			r.Dir = "server → client"
		}
		if pk.Flags&reassembly.FlagACK != 0 {
			r.Ack = strconv.FormatUint(uint64(pk.Ack), 10)
			if pk.Rel.AckKnown {
				r.RelAck = strconv.FormatUint(uint64(pk.Rel.Ack), 10)
			}
		}
		if pk.HasTS {
			r.TSval, r.TSecr = strconv.FormatUint(uint64(pk.TSval), 10), strconv.FormatUint(uint64(pk.TSecr), 10)
		}
		rows = append(rows, r)
	}
	return rows
}

// WriteHTML writes the report as one self-contained HTML file: inline CSS,
// inline SVG plots, the plot font embedded once; no script, nothing
// fetched. The same result gives the same bytes.
func WriteHTML(w io.Writer, res *analyze.Result, opts HTMLOptions) error {
	page, err := buildPage(res, opts)
	if err != nil {
		return err
	}
	t, err := template.New("report").Funcs(template.FuncMap{"lower": strings.ToLower}).Parse(htmlTemplate)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, page); err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

func buildPage(res *analyze.Result, opts HTMLOptions) (*htmlPage, error) {
	page := &htmlPage{
		Tool: res.Tool, Profile: res.Profile, Captures: res.Captures, Totals: res.Totals,
		Warnings: res.Warnings, Error: res.Error, LadderNote: opts.LadderNote, NATLine: natSummaryLine(res),
	}
	if sel := res.Selection; sel != nil {
		page.Selection = fmt.Sprintf("Selected: %s (%d of the capture's %d connections).", SelectionLabel(sel), res.Totals.Connections, sel.ConnectionsSeen)
	}
	var names []string
	for _, c := range res.Captures {
		names = append(names, c.File)
	}
	page.Title = "twscope report: " + strings.Join(names, ", ")
	page.Span = captureSpan(res)
	page.Verdict, page.VerdictClass = VerdictSentence(res), verdictClass(res.Verdict)
	page.Answer = newAnswerView(res.Verdict)
	page.KindCounts = kindCounts(res)
	page.Severities = severityGroups(res)
	page.Closes = closeRows(res)
	page.Endpoints = res.Endpoints
	if len(page.Endpoints) > htmlEndpoints {
		page.EndpointsMore = len(page.Endpoints) - htmlEndpoints
		page.Endpoints = page.Endpoints[:htmlEndpoints]
	}
	page.Hosts = res.Hosts
	page.Folded = foldedLines(res)
	if len(page.Hosts) > htmlHosts {
		page.HostsMore = len(page.Hosts) - htmlHosts
		page.Hosts = page.Hosts[:htmlHosts]
	}
	css, err := fontCSS()
	if err != nil {
		return nil, err
	}
	page.FontCSS = template.CSS(css)
	for _, f := range Figures(res, opts.Ladders) {
		svg, err := f.renderSVG(false)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		hf := htmlFigure{
			ID: "plot-" + f.Name, Title: f.Title, Caption: f.Caption,
			// Our own renderer's output, with its text escaped by vgsvg.
			SVG: template.HTML(inlineSVG(svg, f.Title)),
		}
		if f.Ladder != nil {
			hf.Packets = ladderRows(f.Ladder)
		}
		if f.Name == figTimeWait || f.Name == figClosers {
			page.AnswerFigures = append(page.AnswerFigures, hf)
		} else {
			page.Figures = append(page.Figures, hf)
		}
	}
	return page, nil
}

// Rows of the answer's tables.
const (
	answerEndpoints = 10
	answerHosts     = 10
)

func newAnswerView(v analyze.Verdict) answerView {
	a := answerView{Verdict: v, Buckets: thousands(v.TWBuckets), PortRangeSize: thousands(v.PortRangeSize)}
	a.EndpointsMore = v.EndpointsTotal - min(len(v.Endpoints), answerEndpoints)
	for i, e := range v.Endpoints {
		if i == answerEndpoints {
			break
		}
		ae := answerEndpoint{EndpointAnswer: e}
		if e.ServerPeakAt != nil {
			ae.PeakAt = e.ServerPeakAt.String()
		}
		a.Endpoints = append(a.Endpoints, ae)
	}
	for i, h := range v.Hosts {
		if i == answerHosts {
			break
		}
		ah := answerHost{HostAnswer: h, Buckets: percent(float64(h.Peak) / float64(v.TWBuckets)), Ports: "-"}
		if h.PeakAt != nil {
			ah.PeakAt = h.PeakAt.String()
		}
		if h.Role == analyze.RoleClient {
			ah.Ports = percent(float64(h.Peak) / float64(v.PortRangeSize))
		}
		a.Hosts = append(a.Hosts, ah)
	}
	if more := v.HostsHolding - len(a.Hosts); more > 0 && len(a.Hosts) > 0 {
		a.HostsMore, a.OthersPeak = more, a.Hosts[len(a.Hosts)-1].Peak
	}
	return a
}

// inlineSVG drops the XML prologue that only a standalone file needs and
// labels the image for screen readers.
func inlineSVG(svg []byte, title string) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return strings.Replace(s, "<svg", `<svg role="img" aria-label="`+template.HTMLEscapeString(title)+`"`, 1)
}

var fontOnce = sync.OnceValues(func() (string, error) {
	face := font.DefaultCache.Lookup(plotFont, 12)
	if face.Face == nil {
		return "", fmt.Errorf("plot font %v not available", plotFont.Typeface)
	}
	var raw bytes.Buffer
	if _, err := face.Face.WriteSourceTo(nil, &raw); err != nil {
		return "", err
	}
	return `@font-face{font-family:"Liberation Sans";font-style:normal;font-weight:normal;src:url(data:font/ttf;base64,` +
		base64.StdEncoding.EncodeToString(raw.Bytes()) + `) format("truetype");}`, nil
})

// fontCSS is the @font-face rule carrying the plots' font, so that the
// inline SVGs and the page render the same everywhere, offline.
func fontCSS() (string, error) { return fontOnce() }

func captureSpan(res *analyze.Result) string {
	var first, last analyze.Time
	seen := false
	for _, c := range res.Captures {
		if c.First == nil || c.Last == nil {
			continue
		}
		if !seen || *c.First < first {
			first = *c.First
		}
		if !seen || *c.Last > last {
			last = *c.Last
		}
		seen = true
	}
	if !seen {
		return "no packets"
	}
	return fmt.Sprintf("%s to %s (%s)", first.UTC().Format("2006-01-02 15:04:05.000"), last.UTC().Format("15:04:05.000 UTC"),
		durationText(time.Duration(last-first)))
}

func durationText(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	case d < 2*time.Minute:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// kindCounts counts every finding per kind and severity, listed or not,
// kinds in the order they first appear (most severe first).
func kindCounts(res *analyze.Result) []kindCount {
	idx := map[string]int{}
	var out []kindCount
	for _, c := range res.Counts() {
		i, ok := idx[c.Kind]
		if !ok {
			i = len(out)
			idx[c.Kind] = i
			out = append(out, kindCount{Kind: c.Kind, Title: kindTitle(c.Kind), Worst: c.Severity,
				Advice: AdviceText(analyze.KindAdvice[c.Kind])})
		}
		k := &out[i]
		k.Total += c.Count
		switch c.Severity {
		case analyze.SeverityCritical:
			k.Critical += c.Count
		case analyze.SeverityWarning:
			k.Warning += c.Count
		default:
			k.Info += c.Count
		}
	}
	return out
}

// severityGroups groups findings by severity, then kind, keeping the
// worst examples of each and counting the rest, listed in the JSON or not.
func severityGroups(res *analyze.Result) []sevGroup {
	fs := res.Findings
	var out []sevGroup
	for _, sev := range analyze.Severities {
		g := sevGroup{Severity: sev}
		idx := map[string]int{}
		for i := range fs {
			f := &fs[i]
			if f.Severity != sev {
				continue
			}
			g.Count++
			j, ok := idx[f.Kind]
			if !ok {
				j = len(g.Kinds)
				idx[f.Kind] = j
				g.Kinds = append(g.Kinds, kindGroup{Kind: f.Kind, Title: kindTitle(f.Kind), Severity: sev})
			}
			k := &g.Kinds[j]
			k.Listed++
			if len(k.Shown) < HTMLExamples {
				k.Shown = append(k.Shown, newFindingView(f))
			}
		}
		g.Count = 0
		for j := range g.Kinds {
			k := &g.Kinds[j]
			k.Count = k.Listed
			for _, c := range res.Counts() {
				if c.Kind == k.Kind && c.Severity == sev {
					k.Count = c.Count
				}
			}
			k.More = k.Count - len(k.Shown)
			g.Count += k.Count
		}
		if g.Count > 0 {
			out = append(out, g)
		}
	}
	return out
}

func newFindingView(f *analyze.Finding) findingView {
	v := findingView{Severity: f.Severity, Summary: f.Summary, Time: f.Time.String(), Filter: f.Filter, Advice: f.Advice}
	v.Conns = intList(f.Conns, htmlFrames)
	v.Frames = intList(f.Frames, htmlFrames)
	v.Evidence = evidenceRows(f.Evidence)
	return v
}

// evidenceRows are the evidence's fields as the JSON has them, by key,
// read from the struct's json tags (fields left out of the JSON left
// out here too); fields tagged html:"-" are drawn, not listed.
func evidenceRows(ev analyze.Evidence) []kv {
	v := reflect.ValueOf(ev)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var rows []kv
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" || sf.Tag.Get("html") == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fv := v.Field(i)
		if opts == "omitempty" && jsonEmpty(fv) {
			continue
		}
		rows = append(rows, kv{name, evidenceText(fv)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows
}

func intList(xs []int, limit int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == limit {
			fmt.Fprintf(&b, " ... (%d in all)", len(xs))
			break
		}
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

// evidenceText writes one evidence value compactly, as the JSON has it;
// long lists are cut short with their length.
func evidenceText(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return shorten(v.String())
	}
	s := compactJSON(v.Interface())
	if len(s) <= htmlEvidence {
		return s
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Len() > 0 {
		return fmt.Sprintf("%d items (all in the JSON report), first: %s", v.Len(), shorten(compactJSON(v.Index(0).Interface())))
	}
	return shorten(s)
}

// compactJSON is v as the JSON report writes it, unescaped for HTML
// (html/template escapes; keep && readable).
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return string(bytes.TrimSpace(buf.Bytes()))
}

func shorten(s string) string {
	if len(s) <= htmlEvidence {
		return s
	}
	return s[:htmlEvidence] + "..."
}

func closeRows(res *analyze.Result) []closeRow {
	total := 0
	for _, n := range res.Closes.ByKind {
		total += n
	}
	var rows []closeRow
	for _, k := range reassembly.CloseKinds {
		if n := res.Closes.ByKind[k.String()]; n > 0 {
			rows = append(rows, closeRow{closeLabel[k], n, fmt.Sprintf("%.0f%%", 100*float64(n)/float64(total))})
		}
	}
	return rows
}

// WritePlots writes every figure of the report into dir as SVG (fonts
// embedded) and PNG, and returns the files written.
func WritePlots(dir string, figs []Figure) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, f := range figs {
		svg, err := f.renderSVG(true)
		if err != nil {
			return written, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		name := filepath.Join(dir, f.Name+".svg")
		if err := os.WriteFile(name, svg, 0o644); err != nil {
			return written, err
		}
		written = append(written, name)
		png, err := f.renderPNG()
		if err != nil {
			return written, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		name = filepath.Join(dir, f.Name+".png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			return written, err
		}
		written = append(written, name)
	}
	return written, nil
}

// pngDPI makes a 540 pt plot 1080 px wide: sharp on a laptop's screen.
const pngDPI = 144

func (f Figure) renderPNG() ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(f.W, f.H), vgimg.UseDPI(pngDPI))
	f.Plot.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func newSVGCanvas(w, h vg.Length, embed bool) *vgsvg.Canvas {
	return vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(embed))
}
