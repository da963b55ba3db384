package analyze

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// BenchmarkMemoryProfile measures what memory the pipeline keeps, for the
// README's memory profile:
//
//   - bytes/live-conn: the tracker holding open connections (flow table
//     entry, the incarnation being filled, its Zeek state);
//
//   - bytes/finding: a lost_final_ack finding kept in the report, over what
//     a clean connection leaves in the detectors;
//
//   - bytes/clean-conn: what a finished clean connection leaves in the
//     detectors (per-host counts, NAT clock samples up to their bound,
//     TIME_WAIT intervals until settled); zero once past their bounds.
//
//     go test -run - -bench MemoryProfile ./analyze/
func BenchmarkMemoryProfile(b *testing.B) {
	for i := 0; i < b.N; i++ {
		live := liveConnBytes(b)
		b.ReportMetric(live, "bytes/live-conn")

		clean := synth.Mix{ClientClose: 1}
		lost := synth.Mix{LostAckReAck: 1}
		cr := records(b, synth.GenConfig{Seed: 3, Packets: 20000, Mix: &clean})
		lr := records(b, synth.GenConfig{Seed: 3, Packets: 20000, Mix: &lost})
		n := min(len(cr), len(lr), MaxExamples)
		perClean := observeBytes(cr[:n]) / float64(n)
		perLost := observeBytes(lr[:n]) / float64(n)
		runtime.KeepAlive(cr)
		runtime.KeepAlive(lr)
		b.ReportMetric(perClean, "bytes/clean-conn")
		b.ReportMetric(perLost-perClean, "bytes/finding")
	}
}

func heapLive() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// records are the records of a generated capture.
func records(b *testing.B, cfg synth.GenConfig) []reassembly.Record {
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, cfg); err != nil {
		b.Fatal(err)
	}
	src, err := reassembly.Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var out []reassembly.Record
	if _, _, err := reassembly.Run(src, reassembly.Config{Workers: 1}, func(r *reassembly.Record) { out = append(out, *r) }); err != nil {
		b.Fatal(err)
	}
	return out
}

// observeBytes is the heap a fresh analyzer holds after observing recs.
func observeBytes(recs []reassembly.Record) float64 {
	before := heapLive()
	a := New(Options{Profile: Profiles["linux"]})
	for i := range recs {
		a.Observe(&recs[i])
	}
	after := heapLive()
	runtime.KeepAlive(a)
	return float64(after) - float64(before)
}

// liveConnBytes feeds many connections that never close (handshake,
// data, one FIN) to a tracker and measures what it holds per connection.
func liveConnBytes(b *testing.B) float64 {
	var buf bytes.Buffer
	mix := synth.Mix{HalfClose: 1}
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 4, Packets: 300000, Rate: 100000, Clients: 5000, Mix: &mix}); err != nil {
		b.Fatal(err)
	}
	src, err := reassembly.Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dec := reassembly.NewDecoder()
	var (
		p    reassembly.Packet
		seg  reassembly.Segment
		segs []reassembly.Segment
	)
	for src.Next(&p) == nil {
		if dec.Decode(&p, &seg) == reassembly.KindTCP {
			segs = append(segs, seg)
		}
	}
	before := heapLive()
	tr := reassembly.NewTracker(reassembly.Config{}, func(*reassembly.Record) {})
	for i := range segs {
		tr.Feed(&segs[i])
	}
	after := heapLive()
	n := tr.Live()
	runtime.KeepAlive(tr)
	runtime.KeepAlive(segs)
	return (float64(after) - float64(before)) / float64(n)
}
