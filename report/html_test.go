package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

var updateHTML = flag.Bool("update-html", false, "rewrite report/testdata/*.html.golden from the current output")

// htmlTestResult analyzes captures as `twscope analyze` does with its
// default flags.
func htmlTestResult(t testing.TB, files ...string) *analyze.Result {
	t.Helper()
	src, err := reassembly.Open(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p, err := analyze.LookupProfile("linux", 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := analyze.Run(src, analyze.Options{Profile: p, Tool: "twscope test",
		Tracker: reassembly.Config{IdleTimeout: 5 * time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// collectLadders reads the ladders' packets as cmd does.
func collectLadders(files []string, res *analyze.Result) ([]Ladder, error) {
	got, err := reassembly.CollectFrames(files, nil, LadderWindows(res))
	if err != nil {
		return nil, err
	}
	return LaddersOf(res, got), nil
}

// renderHTML renders the report of captures with their ladders.
func renderHTML(t testing.TB, files ...string) (*analyze.Result, []byte) {
	t.Helper()
	res := htmlTestResult(t, files...)
	ladders, err := collectLadders(files, res)
	if err != nil {
		t.Fatalf("ladders: %v", err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, res, HTMLOptions{Ladders: ladders}); err != nil {
		t.Fatal(err)
	}
	return res, b.Bytes()
}

const lab = "../testdata/corpus/lab/"

// TestHTMLReport renders the report of corpus captures and checks what a
// reader relies on: the sections, the findings' numbers against the JSON
// report of the same result, and the plots each capture calls for.
func TestHTMLReport(t *testing.T) {
	for _, tc := range []struct {
		capture string
		kinds   map[string]int // findings per kind, as the lab truth has them
		figures []string       // figure ids that must be there
		absent  []string       // and that must not
	}{
		{
			capture: "lost_final_ack.pcap",
			kinds:   map[string]int{"lost_final_ack": 10},
			figures: []string{"plot-1-time-wait", "plot-2-who-closes-first", "plot-7-ladder-lost-final-ack"},
			absent:  []string{"plot-3-reuse-gaps", "plot-5-sequence-space", "plot-6-port-pressure-1"},
		},
		{
			capture: "tw_bucket_overflow_rst.pcap",
			kinds:   map[string]int{"final_ack_rst": 10},
			figures: []string{"plot-2-who-closes-first", "plot-7-ladder-final-ack-rst"},
			absent:  []string{"plot-1-time-wait"}, // nobody kept TIME_WAIT
		},
		{
			capture: "fast_port_reuse_tw_reuse.pcap",
			kinds:   map[string]int{"tuple_reuse": 10},
			figures: []string{"plot-3-reuse-gaps", "plot-7-ladder-tuple-reuse"},
			// tcp_tw_reuse starts the new ISN 65,537 past the old range:
			// no overlap and none near, so no sequence space plot.
			absent: []string{"plot-5-sequence-space"},
		},
		{
			capture: "seq_overlap_incarnations.pcap.gz",
			kinds:   map[string]int{"seq_overlap": 2, "tuple_reuse": 2},
			figures: []string{"plot-5-sequence-space", "plot-7-ladder-seq-overlap"},
		},
		{
			// Per-connection offsets (Linux 6.x): SYNs behind, no finding.
			capture: "nat_timestamps.pcap",
			absent:  []string{"plot-4-nat-timestamps-1"},
		},
		{
			// Two clocks shared across source ports: hosts behind NAT.
			capture: "crafted/syn_tsval_lower_than_previous.pcap",
			kinds:   map[string]int{"nat_ts_regression": 1},
			figures: []string{"plot-4-nat-timestamps-1", "plot-7-ladder-nat-ts-regression"},
		},
		{
			capture: "close_wait_leak.pcap",
			kinds:   map[string]int{"close_wait": 1},
			figures: []string{"plot-7-ladder-close-wait"},
		},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			res, page := renderHTML(t, lab+tc.capture)
			doc := string(page)

			for _, id := range []string{"answer", "answer-endpoints", "answer-hosts", "summary", "verdict", "captures", "totals", "findings", "hosts", "hosts-table", "plots"} {
				if !strings.Contains(doc, `id="`+id+`"`) {
					t.Errorf("no element with id %q", id)
				}
			}
			// The numbers, against the JSON report of the same result.
			var js struct {
				Totals   map[string]int `json:"totals"`
				Findings []struct {
					Kind, Severity string
				} `json:"findings"`
			}
			var jb bytes.Buffer
			if err := WriteJSON(&jb, res); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(jb.Bytes(), &js); err != nil {
				t.Fatal(err)
			}
			jsonKinds := map[string]int{}
			jsonSev := map[[2]string]int{}
			for _, f := range js.Findings {
				jsonKinds[f.Kind]++
				jsonSev[[2]string{f.Kind, f.Severity}]++
			}
			for kind, n := range tc.kinds {
				if jsonKinds[kind] != n {
					t.Errorf("JSON has %d %s findings, the lab truth %d", jsonKinds[kind], kind, n)
				}
			}
			htmlKinds := attrCounts(t, page, "tr", "data-kind", "data-count")
			if len(htmlKinds) != len(jsonKinds) {
				t.Errorf("finding kinds in the HTML %v, in the JSON %v", htmlKinds, jsonKinds)
			}
			for kind, n := range jsonKinds {
				if htmlKinds[kind] != n {
					t.Errorf("HTML counts %d %s findings, the JSON %d", htmlKinds[kind], kind, n)
				}
			}
			for key, n := range jsonSev {
				m := regexp.MustCompile(`data-kind="` + key[0] + `" data-severity="` + key[1] + `" data-count="(\d+)"`).FindStringSubmatch(doc)
				if m == nil || m[1] != strconv.Itoa(n) {
					t.Errorf("HTML section for %s %s: %v, JSON has %d", key[1], key[0], m, n)
				}
			}
			for _, total := range []string{"packets", "tcp_packets", "connections", "partial_connections"} {
				want := `data-total="` + total + `">` + strconv.Itoa(js.Totals[total]) + "<"
				if !strings.Contains(doc, want) {
					t.Errorf("totals: no %s", want)
				}
			}
			// Every finding's summary text of the first shown is there.
			if len(res.Findings) > 0 && !strings.Contains(html.UnescapeString(doc), res.Findings[0].Summary) {
				t.Errorf("the most severe finding's summary is missing")
			}
			for _, id := range tc.figures {
				if !regexp.MustCompile(`<figure id="` + id + `">\s*<svg`).MatchString(doc) {
					t.Errorf("no figure %s with an inline SVG", id)
				}
			}
			for _, id := range tc.absent {
				if strings.Contains(doc, `id="`+id+`"`) {
					t.Errorf("figure %s drawn, but it has nothing to show", id)
				}
			}
			checkSelfContained(t, page)
		})
	}
}

// attrCounts maps attribute key's value to attribute count's value over
// the elements named tag.
func attrCounts(t *testing.T, page []byte, tag, key, count string) map[string]int {
	t.Helper()
	out := map[string]int{}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			return out
		case html.StartTagToken:
			tok := z.Token()
			if tok.Data != tag {
				continue
			}
			var k, c string
			for _, a := range tok.Attr {
				switch a.Key {
				case key:
					k = a.Val
				case count:
					c = a.Val
				}
			}
			if k != "" {
				n, err := strconv.Atoi(c)
				if err != nil {
					t.Errorf("<%s %s=%q> has %s=%q", tag, key, k, count, c)
				}
				out[k] += n
			}
		}
	}
}

var (
	cssURL    = regexp.MustCompile(`url\(\s*['"]?([^'")\s]*)`)
	anyScheme = regexp.MustCompile(`(?i)\b(https?|ftp|wss?)://`)
	cssImport = regexp.MustCompile(`(?i)@import`)
)

// checkSelfContained fails on anything a browser would fetch: a src, href
// or url() that is neither a fragment nor a data: URL, a script, an
// @import, or any http(s) address outside the SVG namespace declarations
// (xmlns values name a namespace; nothing fetches them).
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	local := func(v string) bool {
		v = strings.TrimSpace(v)
		return strings.HasPrefix(v, "#") || strings.HasPrefix(v, "data:")
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			goto text
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "iframe", "object", "embed", "link":
				t.Errorf("the report has a <%s> element", tok.Data)
			}
			inStyle = tok.Data == "style" && tt == html.StartTagToken
			for _, a := range tok.Attr {
				key := strings.ToLower(a.Key)
				if a.Namespace != "" {
					key = a.Namespace + ":" + key
				}
				switch {
				case key == "src" || key == "href" || strings.HasSuffix(key, ":href") || key == "srcset" || key == "action":
					if !local(a.Val) {
						t.Errorf("<%s %s=%q> points outside the file", tok.Data, key, a.Val)
					}
				case key == "style":
					checkCSS(t, a.Val, local)
				}
			}
		case html.TextToken:
			if inStyle {
				checkCSS(t, string(z.Text()), local)
			}
		case html.EndTagToken:
			inStyle = false
		}
	}
text:
	stripped := regexp.MustCompile(`xmlns(:\w+)?="[^"]*"`).ReplaceAll(page, nil)
	if m := anyScheme.Find(stripped); m != nil {
		i := bytes.Index(stripped, m)
		t.Errorf("an address outside xmlns declarations: %q", stripped[i:min(len(stripped), i+80)])
	}
}

func checkCSS(t *testing.T, css string, local func(string) bool) {
	t.Helper()
	for _, m := range cssURL.FindAllStringSubmatch(css, -1) {
		if !local(m[1]) {
			t.Errorf("CSS url(%s) points outside the file", m[1])
		}
	}
	if cssImport.MatchString(css) {
		t.Errorf("CSS @import in the report")
	}
}

// TestHTMLDeterministic renders the same capture twice: same bytes, so the
// report can be diffed and cached. Checked against a golden copy of the
// page without its plots and font (the plots have their own tests), which
// -update-html rewrites.
func TestHTMLDeterministic(t *testing.T) {
	_, a := renderHTML(t, lab+"lost_final_ack.pcap")
	_, b := renderHTML(t, lab+"lost_final_ack.pcap")
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same capture differ")
	}
	page := regexp.MustCompile(`(?s)<svg.*?</svg>`).ReplaceAll(a, []byte("<svg>…</svg>"))
	page = regexp.MustCompile(`base64,[A-Za-z0-9+/=]+`).ReplaceAll(page, []byte("base64,…"))
	page = bytes.ReplaceAll(page, []byte(lab), nil)
	golden := filepath.Join("testdata", "lost_final_ack.html.golden")
	if *updateHTML {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, page, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run TestHTMLDeterministic -update-html)", err)
	}
	if !bytes.Equal(page, want) {
		t.Errorf("the page differs from %s; if the change is intended, run go test ./report -run TestHTMLDeterministic -update-html", golden)
	}
}

// TestHTMLLargeCapture: a capture with many findings of a kind shows the
// worst few and says how many more, so the page stays small.
func TestHTMLLargeCapture(t *testing.T) {
	res, page := renderHTML(t, "../testdata/demo.pcap")
	n := 0
	for _, f := range res.Findings {
		if f.Kind == analyze.KindTupleReuse {
			n++
		}
	}
	if n <= HTMLExamples {
		t.Fatalf("demo.pcap has %d tuple_reuse findings; the test needs more than %d", n, HTMLExamples)
	}
	want := "and " + strconv.Itoa(n-HTMLExamples) + " more tuple_reuse findings"
	if !bytes.Contains(page, []byte(want)) {
		t.Errorf("no %q", want)
	}
	if got := bytes.Count(page, []byte(`<div class="finding `)); got > HTMLExamples*len(kindCounts(res))*3 {
		t.Errorf("%d findings written out", got)
	}
	if len(page) > 1500<<10 {
		t.Errorf("the report is %d KB", len(page)>>10)
	}
}

// TestHTMLStdin: without files to read again there are no ladders, and the
// report says why.
func TestHTMLStdin(t *testing.T) {
	res := htmlTestResult(t, lab+"lost_final_ack.pcap")
	ladders, err := collectLadders([]string{"-"}, res)
	if ladders != nil || err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Fatalf("ladders %v, error %v", ladders, err)
	}
	note := LadderNoteStdin
	var b bytes.Buffer
	if err := WriteHTML(&b, res, HTMLOptions{LadderNote: note}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte(`id="ladder-note"`)) || bytes.Contains(b.Bytes(), []byte("plot-7-ladder")) {
		t.Error("the report should say why there are no ladders, and draw none")
	}
}
