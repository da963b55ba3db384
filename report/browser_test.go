package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/testenv"
)

// chromium finds a headless-capable Chromium, "" when none is installed.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Lines of Chromium's log that mean the page did not render cleanly: a
// message on the JavaScript console (there is no script, so any is an
// error), an uncaught error, or a resource that failed to load.
var browserTrouble = regexp.MustCompile(`(?i)CONSOLE|Uncaught|net::ERR_|Failed to load resource|Refused to`)

// TestHTMLInBrowser opens the report of a corpus capture in headless
// Chromium with the network off, and checks that it renders without
// console errors and that the plots are visible in the screenshot; and
// that the first screen of a report (1280x1300) already shows the answer:
// the verdict and the TIME_WAIT plot.
func TestHTMLInBrowser(t *testing.T) {
	bin := chromium()
	if bin == "" {
		testenv.Missing(t, "chromium not installed: apt-get install chromium (Debian), as .ci/run does")
	}
	_, page := renderHTML(t, lab+"lost_final_ack.pcap")
	img := screenshot(t, bin, page, 1280, 7000)
	ink, plotInk, samples := inkIn(img, img.Bounds().Dy())
	r := img.Bounds()
	t.Logf("screenshot %dx%d: %.2f%% drawn, %d plot-coloured samples", r.Dx(), r.Dy(), 100*float64(ink)/float64(samples), plotInk)
	if float64(ink)/float64(samples) < 0.01 {
		t.Errorf("the screenshot is blank")
	}
	if plotInk < 500 {
		t.Errorf("the plots are not visible: %d samples in the plots' colours", plotInk)
	}

	_, page = renderHTML(t, lab+"server_close_first.pcap")
	first := screenshot(t, bin, page, 1280, 1300)
	_, plotInk, _ = inkIn(first, first.Bounds().Dy())
	t.Logf("first screen: %d plot-coloured samples", plotInk)
	if plotInk < 300 {
		t.Errorf("the TIME_WAIT plot is not on the first screen: %d samples in the plots' colours", plotInk)
	}
}

// screenshot renders page in Chromium at w x h and returns the image,
// failing on any trouble in the browser's log.
func screenshot(t *testing.T, bin string, page []byte, w, h int) image.Image {
	t.Helper()
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	if err := os.WriteFile(report, page, 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--user-data-dir="+filepath.Join(dir, "profile"),
		// Any fetch would fail: the report must not need one.
		"--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0",
		fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+shot, "file://"+report)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 2000))
	}
	t.Logf("chromium took %s", time.Since(start).Round(time.Millisecond))
	for _, line := range strings.Split(stderr.String(), "\n") {
		if browserTrouble.MatchString(line) {
			t.Errorf("browser log: %s", line)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, tail(stderr.String(), 2000))
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// inkIn counts, over the top rows of img (every other pixel), the samples
// drawn at all and those in the plots' own colours (the page's CSS uses
// none of them): lines, bars and markers drawn by gonum/plot.
func inkIn(img image.Image, rows int) (ink, plotInk, samples int) {
	plotColours := [][3]int{{0x4e, 0x79, 0xa7}, {0xf2, 0x8e, 0x2b}, {0xd6, 0x27, 0x28}, {0x59, 0xa1, 0x4f}}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Min.Y+rows && y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			c := [3]int{int(cr >> 8), int(cg >> 8), int(cb >> 8)}
			samples++
			if c[0] < 0xe8 || c[1] < 0xe8 || c[2] < 0xe8 {
				ink++
			}
			for _, p := range plotColours {
				if abs(c[0]-p[0])+abs(c[1]-p[1])+abs(c[2]-p[2]) < 40 {
					plotInk++
					break
				}
			}
		}
	}
	return ink, plotInk, samples
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
