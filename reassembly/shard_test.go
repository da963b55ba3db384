package reassembly

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// generated writes a synth capture of cfg, failing the test on error.
func generated(t *testing.T, cfg synth.GenConfig) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withJumps moves the times of a generated pcap (nanosecond, little
// endian, as synth writes it): record stray (counting from 0) years
// ahead, a stray record; and every record from merged on by years, as
// captures of different days merged into one file.
func withJumps(b []byte, stray, merged int) []byte {
	b = bytes.Clone(b)
	const years = 3 * 365 * 24 * 3600
	off := 24
	for i := 0; off+16 <= len(b); i++ {
		sec := binary.LittleEndian.Uint32(b[off:])
		if i == stray || i >= merged {
			binary.LittleEndian.PutUint32(b[off:], sec+years)
		}
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	return b
}

// trackSingle runs one Tracker over every segment of a capture, in one
// goroutine: what Run's sharded tracker must match.
func trackSingle(t *testing.T, cfg Config, capture []byte) ([]Record, TrackerStats) {
	t.Helper()
	src, err := Open([]string{"-"}, bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var recs []Record
	tr := NewTracker(cfg, func(r *Record) { recs = append(recs, *r) })
	if _, err := readSegments(src, cfg, tr.Feed); err != nil {
		t.Fatal(err)
	}
	tr.Flush()
	return recs, tr.Stats()
}

// shardCaptures are captures of the shapes that exercise what the
// partitions share: NAT (per-pair clocks), reuse of four-tuples, clocks
// that stand still (the linger sweep by segment count), time jumps, many
// clients, keep-alive.
func shardCaptures(t *testing.T) map[string][]byte {
	base := synth.GenConfig{Seed: 5, Packets: 60000, Clients: 300, Rate: 3000}
	nat := base
	nat.NATClients, nat.Clients = 20, 40
	reuse := base
	reuse.Mix = &synth.Mix{ClientClose: 300, ServerClose: 300, Reuse: 300, ClientRST: 100, LostAckReAck: 50}
	reuse.TS.FixedPorts, reuse.Clients = 4, 30
	conn := base
	conn.TS.Offsets = synth.OffsetsPerConn
	frozen := base
	frozen.FrozenClock, frozen.Packets = true, 30000
	keep := base
	keep.Exchanges = [2]int{10, 50}
	keep.Rate = 300
	long := base
	long.Rate, long.Packets = 50, 40000 // 10 minutes: idle timeouts, forgotten tuples and clocks
	caps := map[string][]byte{
		"nat": generated(t, nat), "reuse": generated(t, reuse), "ts-per-conn": generated(t, conn),
		"frozen-clock": generated(t, frozen), "keep-alive": generated(t, keep), "long": generated(t, long),
	}
	caps["time-jumps"] = withJumps(caps["nat"], 5000, 33000)
	files, _ := filepath.Glob("testdata/*.pcap")
	for _, g := range []string{"testdata/*.pcapng", "../testdata/corpus/*/*.pcap", "../testdata/corpus/*/*.pcapng", "../testdata/*.pcap"} {
		more, _ := filepath.Glob(g)
		files = append(files, more...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		caps[f] = b
	}
	return caps
}

// TestShardSameAsTracker checks that Run's sharded tracker gives the very
// records (every field, in the same order) and counts of one Tracker fed
// every segment, for any number of workers and GOMAXPROCS, on captures
// that hit no bound.
func TestShardSameAsTracker(t *testing.T) {
	for name, capture := range shardCaptures(t) {
		t.Run(name, func(t *testing.T) {
			want, wst := trackSingle(t, Config{}, capture)
			if wst.HalfOpenEvicted+wst.TuplesForgotten+wst.ClocksForgotten != 0 {
				t.Fatalf("the capture hits a bound: %+v", wst)
			}
			if name == "time-jumps" && wst.TimeJumpCount < 2 {
				t.Fatalf("%d time jumps", wst.TimeJumpCount)
			}
			for _, w := range []int{1, 2, 3, 4, 8, 0} {
				procs := []int{runtime.GOMAXPROCS(0)}
				if w == 0 {
					procs = []int{1, 2, 4, 8}
				}
				for _, p := range procs {
					old := runtime.GOMAXPROCS(p)
					got, st, _ := track(t, Config{Workers: w}, bytes.NewReader(capture))
					runtime.GOMAXPROCS(old)
					if !reflect.DeepEqual(st, wst) {
						t.Errorf("workers %d, GOMAXPROCS %d: stats %+v, want %+v", w, p, st, wst)
					}
					if len(got) != len(want) {
						t.Fatalf("workers %d, GOMAXPROCS %d: %d records, want %d", w, p, len(got), len(want))
					}
					for i := range got {
						if !reflect.DeepEqual(got[i], want[i]) {
							t.Fatalf("workers %d, GOMAXPROCS %d: record %d differs:\n got %+v\nwant %+v", w, p, i, got[i], want[i])
						}
					}
				}
			}
		})
	}
}

// TestShardBoundsSameForAnyWorkers checks that on captures that hit the
// bounds the records are still the same whatever the number of workers,
// and that the bounds hold the memory: they are applied by the
// partitions together, at the epochs' ends, the same for any worker
// count.
func TestShardBoundsSameForAnyWorkers(t *testing.T) {
	var flood, scan bytes.Buffer
	if err := synth.Flood(&flood, synth.FloodConfig{Kind: synth.SYNFlood, Packets: 60000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if err := synth.Flood(&scan, synth.FloodConfig{Kind: synth.PortScan, Packets: 30000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	small := Config{MaxHalfOpen: 2000, MaxTuples: 3000, MaxClocks: 500}
	tests := []struct {
		name    string
		cfg     Config
		capture []byte
	}{
		{"syn-flood", Config{}, flood.Bytes()},
		{"syn-flood-small-bounds", small, flood.Bytes()},
		{"port-scan-small-bounds", small, scan.Bytes()},
		{"many-clients-small-bounds", small, generated(t, synth.GenConfig{Seed: 6, Packets: 80000, Clients: 3000, Rate: 5000})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []Record
			var wst TrackerStats
			for _, w := range []int{1, 2, 3, 4, 8} {
				cfg := tt.cfg
				cfg.Workers = w
				got, st, _ := track(t, cfg, bytes.NewReader(tt.capture))
				if w == 1 {
					want, wst = got, st
					if st.HalfOpenEvicted+st.TuplesForgotten+st.ClocksForgotten == 0 {
						t.Fatalf("no bound hit: %+v", st)
					}
					continue
				}
				if !reflect.DeepEqual(st, wst) {
					t.Errorf("workers %d: stats %+v, want %+v", w, st, wst)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("workers %d: the records differ from one worker's", w)
				}
			}
		})
	}
}

// TestShardBoundsHold checks that the partitions together stay within
// the bounds, give or take one epoch of segments, under a SYN flood.
func TestShardBoundsHold(t *testing.T) {
	var flood bytes.Buffer
	if err := synth.Flood(&flood, synth.FloodConfig{Kind: synth.SYNFlood, Packets: 100000, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	src, err := Open([]string{"-"}, bytes.NewReader(flood.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cfg := Config{MaxHalfOpen: 3000, MaxTuples: 5000, MaxClocks: 4000}
	s := newSharded(cfg, func(*Record) {}, 1)
	ep := new(epoch)
	ep.reset(1)
	s.d.ep = ep
	check := func() {
		var half, tuples, clocks int
		for i := range s.parts {
			tr := s.parts[i].t
			half, tuples, clocks = half+tr.HalfOpen(), tuples+tr.tuples.len(), clocks+tr.clocks.len()
		}
		if half > cfg.MaxHalfOpen+epochLen || tuples > cfg.MaxTuples+epochLen || clocks > cfg.MaxClocks+epochLen {
			t.Fatalf("segment %d: %d half-open, %d tuples, %d clocks held", ep.base, half, tuples, clocks)
		}
	}
	if _, err := readSegments(src, cfg, func(seg *Segment) {
		if s.d.add(seg) {
			s.step(ep)
			check()
			ep.reset(ep.end)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if ep.end > ep.base {
		s.step(ep)
	}
	s.finish()
	if st := s.stats(); st.HalfOpenEvicted < 100000-cfg.MaxHalfOpen-epochLen {
		t.Errorf("%d half-open evicted: %+v", st.HalfOpenEvicted, st)
	}
}

// BenchmarkStageTrackSharded is BenchmarkStageTrack through the sharded
// tracker in sequence (one or two workers), to show what the partitions
// cost over one Tracker.
func BenchmarkStageTrackSharded(b *testing.B) { stageMixes(b, benchTrackSharded) }

func benchTrackSharded(b *testing.B, data []byte) {
	benchFeed(b, data, func(emit func(*Record)) (func(*Segment), func()) {
		s := newSharded(Config{}, emit, 1)
		return func(seg *Segment) { s.feed(seg, &seg.key) }, s.finish
	})
}

// BenchmarkStageTrackDecided is BenchmarkStageTrackSharded as the
// tracker's goroutine runs it with two workers: the dispatcher decided
// each batch on the reading goroutine (decideBatch, not timed), and the
// tracker takes the rest (feedDecided).
func BenchmarkStageTrackDecided(b *testing.B) { stageMixes(b, benchTrackDecided) }

func benchTrackDecided(b *testing.B, data []byte) {
	segs := stageSegments(b, data)
	in := make([]Segment, len(segs))
	evs := make([][]shardEvent, (len(segs)+batchSize-1)/batchSize)
	b.ReportAllocs()
	b.ResetTimer()
	packets, records := 0, 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newSharded(Config{}, func(*Record) { records++ }, 2)
		copy(in, segs)
		for j := range evs {
			evs[j] = s.d.decideBatch(in[j*batchSize:min((j+1)*batchSize, len(in))], evs[j][:0])
		}
		b.StartTimer()
		for j := range evs {
			s.feedDecided(in[j*batchSize:min((j+1)*batchSize, len(in))], evs[j])
		}
		s.finish()
		packets += len(segs)
	}
	reportPackets(b, packets)
	b.ReportMetric(float64(records)/float64(b.N), "records/op")
}
