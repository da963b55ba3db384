package report

import (
	"bytes"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// TestNATSummaryLine: the lab capture of two clients behind MASQUERADE
// with per-connection offsets (Linux 6.18) has 10 SYNs behind and no
// finding; the text and the HTML report say so in one line each.
func TestNATSummaryLine(t *testing.T) {
	res := htmlTestResult(t, lab+"nat_timestamps.pcap")
	line := natSummaryLine(res)
	if !strings.Contains(line, "1 client address sent 10 SYNs that a per-IP timestamp check") ||
		!strings.Contains(line, "10 behind their latest TSval") || !strings.Contains(line, "10 under the exact tcp_tw_recycle rule") ||
		strings.Contains(line, "without a timestamp") {
		t.Fatalf("line %q", line)
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text.String(), line); n != 1 {
		t.Errorf("the text report has the line %d times", n)
	}
	_, page := renderHTML(t, lab+"nat_timestamps.pcap")
	if n := strings.Count(string(page), `id="nat-timestamps"`); n != 1 {
		t.Errorf("the HTML report has the line %d times", n)
	}
	// Behind one NAT address, a host that sends timestamps and one that
	// sends none (tcp_timestamps 1 and 0, testdata/README.md qa/): the
	// SYNs without one are refused by the rule, but behind nothing.
	mix := natSummaryLine(htmlTestResult(t, "../testdata/qa/nat-tsmix.pcap.gz"))
	if !strings.Contains(mix, "without a timestamp") || strings.Contains(mix, " 0 behind") {
		t.Errorf("mixed timestamps: line %q", mix)
	}
	if natSummaryLine(htmlTestResult(t, lab+"crafted/syn_tsval_lower_than_previous.pcap")) != "" {
		t.Errorf("a line without SYNs behind outside a finding")
	}
}

// TestUnwrapSegments: a clock that passes 2^32 - 1 is drawn as two lines,
// each inside the 32-bit space; one that does not stays one line.
func TestUnwrapSegments(t *testing.T) {
	wrap := plotter.XYs{{X: 2, Y: 100}, {X: 0, Y: 1<<32 - 2000}, {X: 1, Y: 1<<32 - 1000}, {X: 3, Y: 1100}}
	segs := unwrapSegments(wrap)
	if len(segs) != 2 || len(segs[0]) != 2 || len(segs[1]) != 2 || segs[1][0].Y != 100 {
		t.Fatalf("segments %v", segs)
	}
	for _, s := range segs {
		for _, p := range s {
			if p.Y < 0 || p.Y >= tsSpace {
				t.Errorf("point %v outside [0, 2^32)", p)
			}
		}
	}
	if segs := unwrapSegments(plotter.XYs{{X: 0, Y: 5}, {X: 1, Y: 1005}, {X: 2, Y: 2005}}); len(segs) != 1 {
		t.Errorf("no wrap, segments %v", segs)
	}
}
