package analyze

import (
	"bytes"
	"sync"
	"testing"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// Benchmarks of the analysis stage and of the whole pipeline on each
// generated traffic mix (synth.TrafficMixes). go test ./... does not run
// them:
//
//	go test -run - -bench . -benchmem ./analyze/
//	go test -run - -bench 'Analyze/http10' -count 5 ./analyze/

const benchPackets = 500000

// benchMix is a mix's capture and the records the tracker makes of it.
type benchMix struct {
	data    []byte
	records []reassembly.Record
	marks   []benchMark // the tracker's watermarks among the records
	packets int
}

// benchMark is a watermark the tracker passed once records[:after] were
// finished.
type benchMark struct {
	after int
	t     int64
}

var (
	benchMu    sync.Mutex
	benchMixes = map[string]*benchMix{}
)

// eachMix runs bench once per traffic mix.
func eachMix(b *testing.B, bench func(b *testing.B, m *benchMix)) {
	for _, m := range synth.TrafficMixes() {
		b.Run(m.Name, func(b *testing.B) {
			c := benchCapture(b, m)
			b.ResetTimer()
			bench(b, c)
		})
	}
}

func benchCapture(b *testing.B, m synth.TrafficMix) *benchMix {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if c := benchMixes[m.Name]; c != nil {
		return c
	}
	var buf bytes.Buffer
	if err := m.Write(&buf, benchPackets, 1); err != nil {
		b.Fatal(err)
	}
	c := &benchMix{data: buf.Bytes()}
	src, err := reassembly.Open([]string{"-"}, bytes.NewReader(c.data))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	cfg := reassembly.Config{Watermark: func(t int64) { c.marks = append(c.marks, benchMark{len(c.records), t}) }}
	n, _, err := reassembly.Run(src, cfg, func(r *reassembly.Record) {
		c.records = append(c.records, *r)
	})
	if err != nil {
		b.Fatal(err)
	}
	c.packets = n.Packets
	benchMixes[m.Name] = c
	return c
}

// reportPackets reports the rate of the packets the records came from.
func reportPackets(b *testing.B, packets int) {
	total := float64(packets) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/packet")
}

// source opens the mix's capture, for the result's file facts; it is
// closed when the benchmark ends.
func (m *benchMix) source(b *testing.B) *reassembly.Source {
	src, err := reassembly.Open([]string{"-"}, bytes.NewReader(m.data))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	return src
}

// BenchmarkAnalyze runs every detector over the records of the capture
// (packets/s counts the packets those records came from).
func BenchmarkAnalyze(b *testing.B) { eachMix(b, benchAnalyze) }

func benchAnalyze(b *testing.B, m *benchMix) {
	benchRecords(b, m, nil, true)
	b.ReportMetric(float64(len(m.records)), "records/op")
}

// BenchmarkDetectors is the detectors' goroutine of a run (pipe.go): every
// record and the tracker's watermarks among them, in the order the tracker
// passed them, so that the time-ordered state settles as it does in a run
// (BenchmarkAnalyze settles it once, at the end). The result, made after
// the run on the calling goroutine, is not timed.
func BenchmarkDetectors(b *testing.B) { eachMix(b, benchDetectors) }

func benchDetectors(b *testing.B, m *benchMix) { benchRecords(b, m, m.marks, false) }

// benchRecords has a new Analyzer observe the mix's records, with marks
// (watermarks) among them, and make its result, timed or not.
func benchRecords(b *testing.B, m *benchMix, marks []benchMark, timeResult bool) {
	recs := m.records
	src := m.source(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := New(Options{Profile: Profiles["linux"]})
		left := marks
		for j := range recs {
			for len(left) > 0 && left[0].after == j {
				a.watermark(left[0].t)
				left = left[1:]
			}
			a.Observe(&recs[j])
		}
		for _, mk := range left {
			a.watermark(mk.t)
		}
		if !timeResult {
			b.StopTimer()
		}
		a.result(src, reassembly.Counts{}, reassembly.TrackerStats{})
		if !timeResult {
			b.StartTimer()
		}
	}
	reportPackets(b, m.packets)
}

// BenchmarkWhole is read, decode, track and analyze: analyze.Run.
func BenchmarkWhole(b *testing.B) { eachMix(b, benchWhole) }

func benchWhole(b *testing.B, m *benchMix) {
	data := m.data
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := reassembly.Open([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(src, Options{Profile: Profiles["linux"]}, nil); err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
	reportPackets(b, m.packets)
}
