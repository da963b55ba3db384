package report

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"gonum.org/v1/plot"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// TestPlotsEmpty: a result with nothing in it draws no plot at all.
func TestPlotsEmpty(t *testing.T) {
	res := &analyze.Result{Profile: analyze.ProfileInfo{Name: "linux", TimeWaitS: 60}}
	empty := &analyze.Finding{}
	for _, tc := range []struct {
		name string
		p    *plot.Plot
	}{
		{"time wait", PlotTimeWait(res)},
		{"closers", PlotClosers(res)},
		{"reuse gaps", PlotReuseGaps(res)},
		{"seq space", PlotSeqSpace(res)},
		{"nat", PlotNAT(res, empty)},
		{"port pressure", PlotPortPressure(res, empty)},
		{"ladder", PlotLadder(Ladder{})},
	} {
		if tc.p != nil {
			t.Errorf("%s: a plot of nothing", tc.name)
		}
	}
	if figs := Figures(res, nil); len(figs) != 0 {
		t.Errorf("%d figures of an empty result", len(figs))
	}
}

// TestFigures draws every figure of real captures as SVG and PNG: each
// is deterministic (same capture, same bytes), the SVG file carries its
// font, and the PNG is not blank.
func TestFigures(t *testing.T) {
	for _, tc := range []struct {
		capture string
		want    []string
	}{
		// The demo's reuses start 65,537 past the old range (tcp_tw_reuse)
		// or are the server's: no overlap, and no sequence space plot; its
		// per-connection timestamp offsets are no NAT finding, so no NAT plot.
		{"../testdata/demo.pcap", []string{"1-time-wait", "2-who-closes-first", "3-reuse-gaps",
			"7-ladder-final-ack-rst", "7-ladder-lost-final-ack", "7-ladder-tuple-reuse"}},
		{lab + "seq_overlap_incarnations.pcap.gz", []string{"5-sequence-space", "7-ladder-seq-overlap"}},
		{lab + "crafted/syn_tsval_lower_than_previous.pcap", []string{"4-nat-timestamps-1", "7-ladder-nat-ts-regression"}},
	} {
		t.Run(filepath.Base(tc.capture), func(t *testing.T) {
			res := htmlTestResult(t, tc.capture)
			ladders, err := collectLadders([]string{tc.capture}, res)
			if err != nil {
				t.Fatal(err)
			}
			figs := Figures(res, ladders)
			names := map[string]Figure{}
			for _, f := range figs {
				names[f.Name] = f
			}
			for _, n := range tc.want {
				if _, ok := names[n]; !ok {
					t.Errorf("no figure %s", n)
				}
			}
			again := Figures(htmlTestResult(t, tc.capture), ladders)
			if len(again) != len(figs) {
				t.Fatalf("%d figures, then %d", len(figs), len(again))
			}
			for i, f := range figs {
				svg, err := f.renderSVG(true)
				if err != nil {
					t.Fatal(err)
				}
				svg2, _ := again[i].renderSVG(true)
				if !bytes.Equal(svg, svg2) {
					t.Errorf("%s: SVG differs between two runs", f.Name)
				}
				if !bytes.Contains(svg, []byte("@font-face")) || !bytes.Contains(svg, []byte("data:font/ttf")) {
					t.Errorf("%s: SVG file without its font", f.Name)
				}
				if strings.HasPrefix(f.Name, "1-") || strings.HasPrefix(f.Name, "3-") || strings.HasPrefix(f.Name, "4-") {
					if !bytes.Contains(svg, []byte("(s")) {
						t.Errorf("%s: time axis without its unit", f.Name)
					}
				}
				if testing.Short() && i > 1 {
					continue
				}
				pngb, err := f.renderPNG()
				if err != nil {
					t.Fatal(err)
				}
				png2, _ := again[i].renderPNG()
				if !bytes.Equal(pngb, png2) {
					t.Errorf("%s: PNG differs between two runs", f.Name)
				}
				if ink := inkFraction(t, pngb); ink < 0.01 {
					t.Errorf("%s: PNG is blank (%.4f of its pixels drawn)", f.Name, ink)
				}
			}
		})
	}
}

// inkFraction is the fraction of an image's pixels that are not white.
func inkFraction(t testing.TB, b []byte) float64 {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	ink := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(r.Dx()*r.Dy())
}

// TestPlotPortPressure draws a port pressure finding as the timewait
// detector makes it (no capture in testdata has one).
func TestPlotPortPressure(t *testing.T) {
	f := analyze.Finding{Kind: analyze.KindPortPressure, Severity: analyze.SeverityWarning, Evidence: &analyze.PortPressureEvidence{
		ClientIP: "10.1.1.2", Server: "10.2.0.2:8080", Peak: 15000, PortRange: [2]int{32768, 60999},
		PortRangeSize: 28232, SteadyStatePorts: 20000,
		Points: []analyze.TimeWaitPoint{{T: 0, N: 0}, {T: 10, N: 5000}, {T: 20, N: 15000}, {T: 30, N: 12000}},
	}}
	res := &analyze.Result{Findings: []analyze.Finding{f}}
	figs := Figures(res, nil)
	if len(figs) != 1 || figs[0].Name != "6-port-pressure-1" {
		t.Fatalf("figures %v", figs)
	}
	svg, err := figs[0].renderSVG(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Ports of 10.1.1.2 in TIME_WAIT toward 10.2.0.2:8080", "port range 32768-60999 (28232 ports)",
		"ports in TIME_WAIT (peak 15000)", "time since the capture started (s)"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("no %q in the plot", want)
		}
	}
}

// TestWritePlots writes the figures of a capture as files: one SVG and
// one PNG each.
func TestWritePlots(t *testing.T) {
	res := htmlTestResult(t, lab+"lost_final_ack.pcap")
	ladders, err := collectLadders([]string{lab + "lost_final_ack.pcap"}, res)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	figs := Figures(res, ladders)
	files, err := WritePlots(dir, figs)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2*len(figs) {
		t.Fatalf("%d files for %d figures", len(files), len(figs))
	}
	for _, f := range figs {
		for _, ext := range []string{".svg", ".png"} {
			if st, err := os.Stat(filepath.Join(dir, f.Name+ext)); err != nil || st.Size() == 0 {
				t.Errorf("%s%s: %v", f.Name, ext, err)
			}
		}
	}
}

// TestLaddersMultiFile splits a capture in two, as tcpdump -C rotates
// files, so that the first lost final ACK's FINs are in the first file and
// its resent FIN in the second, where frame numbers start again from 1.
// The ladder must highlight exactly the finding's proving frames, file
// index and all, not the packets with the same numbers in the other file.
func TestLaddersMultiFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "part0.pcap"), filepath.Join(dir, "part1.pcap")
	splitPcap(t, lab+"lost_final_ack.pcap", a, b, 50)
	res := htmlTestResult(t, a, b)
	ladders, err := collectLadders([]string{a, b}, res)
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string]*analyze.Finding{}
	for _, f := range ladderFindings(res) {
		examples[f.Kind] = f
	}
	l := ladderOf(ladders, analyze.KindLostFinalAck)
	f := examples[analyze.KindLostFinalAck]
	if l == nil || f == nil {
		t.Fatal("no lost_final_ack ladder")
	}
	var marked, refs []reassembly.Frame
	files := map[int]bool{}
	for _, p := range l.Packets {
		if p.Marked {
			marked = append(marked, p.Frame)
			files[p.Frame.File] = true
		}
	}
	refs = f.Refs
	if fmt.Sprint(marked) != fmt.Sprint(refs) || !l.Complete {
		t.Errorf("highlighted %v, the finding names %v (complete %v)", marked, refs, l.Complete)
	}
	if !files[0] || !files[1] {
		t.Errorf("the example's proving frames should span both files: %v", marked)
	}
	if l.Client != f.Client || l.Server != f.Server {
		t.Errorf("ladder of %s-%s, finding about %s-%s", l.Client, l.Server, f.Client, f.Server)
	}
}

func ladderOf(ls []Ladder, kind string) *Ladder {
	for i := range ls {
		if ls[i].Kind == kind {
			return &ls[i]
		}
	}
	return nil
}

// splitPcap writes the first n packets of src to a and the rest to b.
func splitPcap(t *testing.T, src, a, b string, n int) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var outs [2]*pcapgo.Writer
	for i, name := range []string{a, b} {
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		outs[i] = pcapgo.NewWriterNanos(f)
		if err := outs[i].WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		w := outs[0]
		if i >= n {
			w = outs[1]
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}
