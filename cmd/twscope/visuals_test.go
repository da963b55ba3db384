package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTMLAndPlotsFlags: --html writes the report and --plots one SVG and
// one PNG per plot, next to the usual text summary.
func TestHTMLAndPlotsFlags(t *testing.T) {
	dir := t.TempDir()
	page, plots := filepath.Join(dir, "report.html"), filepath.Join(dir, "plots")
	out, errs, code := runCLI(t, "analyze", "--html", page, "--plots", plots, "../../testdata/corpus/lab/lost_final_ack.pcap")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "lost_final_ack: 10") {
		t.Errorf("text summary missing: %s", out)
	}
	b, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(b), `<figure id="plot-7-ladder-lost-final-ack">`) {
		t.Fatalf("report: %v", err)
	}
	for _, name := range []string{"1-time-wait", "2-who-closes-first", "7-ladder-lost-final-ack"} {
		for _, ext := range []string{".svg", ".png"} {
			if st, err := os.Stat(filepath.Join(plots, name+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s: %v", name, ext, err)
			}
		}
	}
}
