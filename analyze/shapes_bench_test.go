package analyze

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// BenchmarkShapes analyzes the capture shapes of issue 12 that grew
// memory without bound, and reports the peak heap in use and the
// process's peak RSS for each (memory must be flat: the same for 1x and
// 3x the connections, and for a scan or a million addresses as for a
// normal capture). By default the shapes are a tenth of the judged sizes;
// -shapes.full writes the judged sizes (several GB of temporary files):
//
//	go test -run - -bench Shapes -benchtime 1x ./analyze/
//	go test -run - -bench Shapes -benchtime 1x ./analyze/ -args -shapes.full
//
// scripts/bench -x measures the same shapes with the twscope binary.
func BenchmarkShapes(b *testing.B) {
	// The collector as twscope runs it (cmd/twscope/gc.go).
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	scale := 10
	if *shapesFull {
		scale = 1
	}
	// About 12 packets a connection.
	shapes := []struct {
		name  string
		write func(w *bufio.Writer) error
	}{
		{"clients-5000-conns-1M", gen(synth.GenConfig{Seed: 1, Packets: 12000000 / scale, Clients: 5000, Rate: 5000})},
		{"clients-5000-conns-3M", gen(synth.GenConfig{Seed: 1, Packets: 36000000 / scale, Clients: 5000, Rate: 5000})},
		{"addresses-500k", gen(synth.GenConfig{Seed: 1, Packets: 6000000 / scale, Clients: 500000 / scale, Rate: 5000})},
		{"frozen-clock-300k-conns", gen(synth.GenConfig{Seed: 1, Packets: 3600000 / scale, Clients: 5000, Rate: 5000, FrozenClock: true})},
		{"port-scan-10-hosts", flood(synth.FloodConfig{Kind: synth.PortScan, ScanHosts: 10, ScanPorts: 65535 / scale})},
		{"port-scan-100-hosts", flood(synth.FloodConfig{Kind: synth.PortScan, ScanHosts: 100, ScanPorts: 65535 / scale})},
		{"syn-flood-1M", flood(synth.FloodConfig{Kind: synth.SYNFlood, Packets: 1000000 / scale})},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "shape.pcap")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriterSize(f, 1<<20)
			err = sh.write(w)
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				debug.FreeOSMemory() // what the last shape left goes back to the system
				resetPeakRSS()
				stop := samplePeakHeap()
				src, err := reassembly.Open([]string{path}, nil)
				if err != nil {
					b.Fatal(err)
				}
				res, err := Run(src, Options{Profile: Profiles["linux"]}, nil)
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
				peak := stop()
				b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
				if rss := peakRSS(); rss > 0 {
					b.ReportMetric(float64(rss)/1e6, "peak-rss-MB")
				}
				b.ReportMetric(float64(res.Totals.Connections), "conns")
				runtime.KeepAlive(res)
			}
		})
	}
}

var shapesFull = flag.Bool("shapes.full", false, "BenchmarkShapes: the judged sizes instead of a tenth")

func gen(cfg synth.GenConfig) func(*bufio.Writer) error {
	return func(w *bufio.Writer) error { _, err := synth.Generate(w, cfg); return err }
}

func flood(cfg synth.FloodConfig) func(*bufio.Writer) error {
	return func(w *bufio.Writer) error { return synth.Flood(w, cfg) }
}

// samplePeakHeap samples the heap in use every 5 ms until the returned
// function is called, which gives the highest seen.
func samplePeakHeap() func() uint64 {
	done := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var m runtime.MemStats
		var max uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			max = maxU(max, m.HeapInuse)
			select {
			case <-done:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-peak }
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// resetPeakRSS resets the kernel's high water mark of the process's RSS
// (Linux: /proc/self/clear_refs), so that peakRSS is this run's.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in bytes, 0 where /proc is not there.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if s, ok := strings.CutPrefix(string(l), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(s), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
