package analyze

import (
	"bytes"
	"sync"
	"testing"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// Benchmarks of the analysis stage and of the whole pipeline on a
// generated capture (synth.Generate). go test ./... does not run them:
//
//	go test -run - -bench . -benchmem ./analyze/

const benchPackets = 500000

var (
	benchOnce    sync.Once
	benchData    []byte
	benchRecords []reassembly.Record
	benchPkts    int
)

func benchCapture(b *testing.B) ([]byte, []reassembly.Record) {
	b.Helper()
	benchOnce.Do(func() {
		var buf bytes.Buffer
		if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 1, Packets: benchPackets}); err != nil {
			panic(err)
		}
		benchData = buf.Bytes()
		src, err := reassembly.Open([]string{"-"}, bytes.NewReader(benchData))
		if err != nil {
			panic(err)
		}
		n, _, err := reassembly.Run(src, reassembly.Config{}, func(r *reassembly.Record) {
			benchRecords = append(benchRecords, *r)
		})
		if err != nil {
			panic(err)
		}
		benchPkts = n.Packets
		src.Close()
	})
	return benchData, benchRecords
}

// BenchmarkAnalyze runs every detector over the records of the capture
// (packets/s counts the packets those records came from).
func BenchmarkAnalyze(b *testing.B) {
	data, recs := benchCapture(b)
	src, err := reassembly.Open([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := New(Options{Profile: Profiles["linux"]})
		for j := range recs {
			a.Observe(&recs[j])
		}
		a.result(src, reassembly.Counts{}, reassembly.TrackerStats{})
	}
	b.ReportMetric(float64(benchPkts)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(len(recs)), "records/op")
}

// BenchmarkWhole is read, decode, track and analyze: analyze.Run.
func BenchmarkWhole(b *testing.B) {
	data, _ := benchCapture(b)
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
	b.ReportMetric(float64(benchPkts)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
