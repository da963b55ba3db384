package reassembly

import (
	"bytes"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// Stage benchmarks on each generated traffic mix (synth.TrafficMixes:
// the shapes of issue 13, from 300 to 100,000 client addresses, HTTP/1.0,
// keep-alive, a connection per transaction, a scan). Each reports
// packets/s, ns/packet and allocations; go test ./... does not run them.
//
//	go test -run - -bench Stage -benchmem ./reassembly/
//	go test -run - -bench 'StageTrack/issue13' -count 5 ./reassembly/

const stagePackets = 500000

var (
	stageMu   sync.Mutex
	stageData = map[string][]byte{}
)

// stageMixes runs bench once per traffic mix, on its capture.
func stageMixes(b *testing.B, bench func(b *testing.B, data []byte)) {
	for _, m := range synth.TrafficMixes() {
		b.Run(m.Name, func(b *testing.B) {
			data := stageCapture(b, m)
			b.ResetTimer()
			bench(b, data)
		})
	}
}

func stageCapture(b *testing.B, m synth.TrafficMix) []byte {
	b.Helper()
	stageMu.Lock()
	defer stageMu.Unlock()
	if d, ok := stageData[m.Name]; ok {
		return d
	}
	var buf bytes.Buffer
	if err := m.Write(&buf, stagePackets, 1); err != nil {
		b.Fatal(err)
	}
	stageData[m.Name] = buf.Bytes()
	return buf.Bytes()
}

func reportPackets(b *testing.B, packets int) {
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
}

// cpuTime is the process's user+system CPU time: on a shared machine it
// varies less than the wall time b.Elapsed measures.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &r) != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// BenchmarkStageRead reads every packet record.
func BenchmarkStageRead(b *testing.B) { stageMixes(b, benchRead) }

func benchRead(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var packets int
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		src, err := Open([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		var p Packet
		for src.Next(&p) == nil {
			packets++
		}
		src.Close()
	}
	reportPackets(b, packets)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(packets), "cpu-ns/packet")
}

// stageSegments decodes the capture once, for the tracker benchmark.
func stageSegments(b *testing.B, data []byte) []Segment {
	src, err := Open([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dec := NewDecoder()
	var (
		p    Packet
		segs []Segment
		seg  Segment
	)
	for src.Next(&p) == nil {
		if dec.Decode(&p, &seg) == KindTCP {
			segs = append(segs, seg)
		}
	}
	return segs
}

// BenchmarkStageDecode decodes link, IP and TCP headers of packets
// already read.
func BenchmarkStageDecode(b *testing.B) { stageMixes(b, benchDecode) }

func benchDecode(b *testing.B, data []byte) {
	src, err := Open([]string{"-"}, bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	var pkts []Packet
	var p Packet
	for src.Next(&p) == nil {
		p.Data = append([]byte(nil), p.Data...)
		pkts = append(pkts, p)
	}
	src.Close()
	dec := NewDecoder()
	var seg Segment
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for j := range pkts {
			if dec.Decode(&pkts[j], &seg) != KindTCP {
				b.Fatal("not TCP")
			}
		}
		packets += len(pkts)
	}
	reportPackets(b, packets)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(packets), "cpu-ns/packet")
}

// BenchmarkStageTrack feeds decoded segments to the tracker.
func BenchmarkStageTrack(b *testing.B) { stageMixes(b, benchTrack) }

func benchTrack(b *testing.B, data []byte) {
	benchFeed(b, data, func(emit func(*Record)) (func(*Segment), func()) {
		tr := NewTracker(Config{}, emit)
		return tr.Feed, tr.Flush
	})
}

// benchFeed feeds the capture's decoded segments to a tracker made by
// start (its feed and finish functions) once an iteration.
func benchFeed(b *testing.B, data []byte, start func(emit func(*Record)) (feed func(*Segment), finish func())) {
	segs := stageSegments(b, data)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	packets, records := 0, 0
	for i := 0; i < b.N; i++ {
		feed, finish := start(func(*Record) { records++ })
		for j := range segs {
			feed(&segs[j])
		}
		finish()
		packets += len(segs)
	}
	reportPackets(b, packets)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(packets), "cpu-ns/packet")
	b.ReportMetric(float64(records)/float64(b.N), "records/op")
}

// BenchmarkStageReadDecodeTrack is the whole of package reassembly (Run).
func BenchmarkStageReadDecodeTrack(b *testing.B) { stageMixes(b, benchReadDecodeTrack) }

func benchReadDecodeTrack(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime()
	packets := 0
	for i := 0; i < b.N; i++ {
		src, err := Open([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := Run(src, Config{}, func(*Record) {})
		if err != nil && err != io.EOF {
			b.Fatal(err)
		}
		packets += n.Packets
		src.Close()
	}
	reportPackets(b, packets)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(packets), "cpu-ns/packet")
}

// BenchmarkStageReadDecode is the work of Run's reading goroutine: read,
// decode, reorder and hand segments over in batches, without tracking.
func BenchmarkStageReadDecode(b *testing.B) { stageMixes(b, benchReadDecode) }

func benchReadDecode(b *testing.B, data []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	packets := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	batch := make([]Segment, 0, batchSize)
	for i := 0; i < b.N; i++ {
		src, err := Open([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n, err := readBatches(src, Config{}, batch, func(b []Segment) []Segment { return b })
		if err != nil {
			b.Fatal(err)
		}
		packets += n.Packets
		src.Close()
	}
	reportPackets(b, packets)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(packets), "cpu-ns/packet")
}
