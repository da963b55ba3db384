package analyze

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestSeqOverlapCorpus checks the overlaps in the lab captures against the
// truth's isn, final_seq and isn_inside_prev_seq_range.
func TestSeqOverlapCorpus(t *testing.T) {
	type want struct {
		conns     []int
		direction string
		into      int64 // prev final_seq - new isn, from the truth
		severity  Severity
	}
	tests := []struct {
		name string
		file string
		want []want
	}{
		{
			// A: after a 150 MiB download the client reuses its port by
			// tcp_tw_reuse 1 s later; the server's clock-based ISN
			// 2327409367 lands in its old range [2309779759, 2467066161).
			// B: after a 150 MiB upload the server closes, the client
			// reconnects 10 ms later with ISN 2989129293 inside its old
			// range [2986399188, 3143685663). Timestamps move ahead in
			// both (Linux keeps the per-four-tuple TSval offset): info.
			name: "lab seq_overlap_incarnations", file: "lab/seq_overlap_incarnations.pcap.gz",
			want: []want{
				{[]int{1, 2}, "server", 2467066161 - 2327409367, SeverityInfo},
				{[]int{3, 4}, "client", 3143685663 - 2989129293, SeverityInfo},
			},
		},
		{
			// Crafted: client ISN 1100000 inside [1000000, 1200002).
			name: "crafted old duplicate", file: "lab/crafted/old_duplicate_in_new_window.pcap.gz",
			want: []want{{[]int{1, 2}, "client", 1200002 - 1100000, SeverityInfo}},
		},
		{
			// tcp_tw_reuse puts the client 65537 past its old range, and
			// the server's short responses leave its range tiny: no overlap.
			name: "lab tw_reuse, no overlap", file: "lab/fast_port_reuse_tw_reuse.pcap",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := reuseRun(t, "linux", filepath.Join("..", "testdata", "corpus", tt.file))
			got := twKind(res, KindSeqOverlap)
			if len(got) != len(tt.want) {
				t.Fatalf("%d seq_overlap findings, want %d: %+v", len(got), len(tt.want), got)
			}
			for _, w := range tt.want {
				i := slices.IndexFunc(got, func(f Finding) bool {
					return slices.Equal(f.Conns, w.conns) && seqOverlapEv(f).Direction == w.direction
				})
				if i < 0 {
					t.Fatalf("no %s finding about conns %v", w.direction, w.conns)
				}
				f := got[i]
				if ev := seqOverlapEv(f); ev.OverlapBytes != w.into || !deref(ev.PAWS) || f.Severity != w.severity {
					t.Errorf("conns %v: severity %s evidence %+v, want overlap %d paws true %s",
						w.conns, f.Severity, ev, w.into, w.severity)
				}
			}
		})
	}
}

// TestOldDuplicate checks the crafted replay and a synthetic one without
// timestamps.
func TestOldDuplicate(t *testing.T) {
	t.Run("crafted, PAWS rejects", func(t *testing.T) {
		// The planted anomaly: frame 195 replays seq 1174481, 1448 bytes,
		// ack 2000001 and TSval 5140 of the first incarnation; the new one
		// started at TSval 5194.
		res, _ := reuseRun(t, "linux", filepath.Join("..", "testdata", "corpus", "lab", "crafted", "old_duplicate_in_new_window.pcap.gz"))
		got := twKind(res, KindOldDuplicate)
		if len(got) != 1 {
			t.Fatalf("%d old_duplicate findings, want 1", len(got))
		}
		f, ev := got[0], evidenceOf[*OldDuplicateEvidence](t, got[0])
		if !slices.Equal(f.Conns, []int{1, 2}) || f.Severity != SeverityWarning || !slices.Contains(f.Frames, 195) ||
			ev.Count != 1 || ev.Seq != 1174481 || ev.Len != 1448 || deref(ev.TSval) != 5140 ||
			ev.Reason != "timestamp" || !deref(ev.PAWSRejects) || ev.Direction != "client" {
			t.Errorf("got conns %v severity %s frames %v evidence %v", f.Conns, f.Severity, f.Frames, ev)
		}
	})
	t.Run("synthetic, no timestamps", func(t *testing.T) {
		// No timestamps anywhere. The first incarnation: client ISN 1000
		// sends 10000 bytes, server ISN 5000 answers 1000, the server
		// closes. 50 ms later the client reconnects at ISN 5000 (inside
		// [1000, 11002)); the server answers at ISN 900000. Then a segment
		// of the first incarnation arrives: seq 3000, ack 5001 (the old
		// server's space): nothing can reject it.
		path := twSynth(t, func(w *synth.Writer) error {
			ms := time.Millisecond
			c, s := synth.NewEnd(synthClient, 1000, 0), synth.NewEnd(synthServer, 5000, 0)
			c.NoTS, s.NoTS = true, true
			if err := w.Handshake(c, s, ms); err != nil {
				return err
			}
			if err := w.Exchange(c, s, 10000, 1000, ms); err != nil {
				return err
			}
			if err := w.Close(s, c, ms); err != nil {
				return err
			}
			w.Advance(50 * ms)
			c2, s2 := synth.NewEnd(synthClient, 5000, 0), synth.NewEnd(synthServer, 900000, 0)
			c2.NoTS, s2.NoTS = true, true
			if err := w.Handshake(c2, s2, ms); err != nil {
				return err
			}
			if err := w.SendAt(c2, s2, synth.ACK|synth.PSH, 3000, 5001, 1000); err != nil {
				return err
			}
			w.Advance(ms)
			return w.Close(c2, s2, ms)
		})
		res, _ := reuseRun(t, "linux", path)
		got := twKind(res, KindOldDuplicate)
		if len(got) != 1 {
			t.Fatalf("%d old_duplicate findings, want 1", len(got))
		}
		f, ev := got[0], evidenceOf[*OldDuplicateEvidence](t, got[0])
		if f.Severity != SeverityCritical || ev.PAWSRejects == nil || *ev.PAWSRejects || ev.Reason != "ack" ||
			ev.Seq != 3000 || ev.Ack != 5001 {
			t.Errorf("got severity %s evidence %v", f.Severity, ev)
		}
		// The overlap that let it in is reported too, without PAWS.
		ov := twKind(res, KindSeqOverlap)
		if len(ov) != 1 || seqOverlapEv(ov[0]).Direction != "client" || seqOverlapEv(ov[0]).PAWS == nil || *seqOverlapEv(ov[0]).PAWS ||
			seqOverlapEv(ov[0]).OverlapBytes != int64(11002-5000) || ov[0].Severity != SeverityWarning {
			t.Errorf("seq_overlap: %+v", ov)
		}
		if tr := twKind(res, KindTupleReuse); len(tr) != 1 || tr[0].Severity != SeverityCritical {
			t.Errorf("tuple_reuse with an old duplicate seen: %+v", tr)
		}
	})
}

// TestSeqOverlapSynthetic: ISNs against the old ranges, on synthetic
// captures of two incarnations of 10.0.0.1:40000 > 10.0.0.2:8080 (client
// ISN 1000, 100 bytes up; server ISN 5000, 1000 down; client closes).
func TestSeqOverlapSynthetic(t *testing.T) {
	tests := []struct {
		name       string
		gap        time.Duration
		client     uint32 // new ISNs
		server     uint32
		directions []string
		within     bool
	}{
		// Both new ISNs past the old final sequence numbers (1102, 6002).
		{name: "ISN beyond the old range", gap: time.Second, client: 90000000, server: 70000000},
		// The server's new ISN 5500 lies in [5000, 6002): 502 bytes in.
		{name: "server inside", gap: time.Second, client: 90000000, server: 5500, directions: []string{"server"}, within: true},
		// Both inside, and the gap (61 s) past TIME_WAIT: still a fact of
		// the sequence spaces, reported as info outside the window.
		{name: "both inside past the window", gap: 61 * time.Second, client: 1050, server: 5500, directions: []string{"client", "server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, func(w *synth.Writer) error {
				if err := synthConn(w, synth.NewEnd(synthClient, 1000, 100), synth.NewEnd(synthServer, 5000, 900), true); err != nil {
					return err
				}
				w.Advance(tt.gap)
				return synthConn(w, synth.NewEnd(synthClient, tt.client, 90100), synth.NewEnd(synthServer, tt.server, 90900), true)
			})
			res, _ := reuseRun(t, "linux", path)
			got := twKind(res, KindSeqOverlap)
			var dirs []string
			for _, f := range got {
				ev := seqOverlapEv(f)
				dirs = append(dirs, ev.Direction)
				into := map[string]int64{"client": 1102 - 1050, "server": 6002 - 5500}[ev.Direction]
				if ev.OverlapBytes != into || ev.WithinTimeWait != tt.within ||
					f.Severity != SeverityInfo || !slices.Equal(f.Conns, []int{1, 2}) {
					t.Errorf("got %s %v %+v", f.Severity, f.Conns, ev)
				}
			}
			slices.Sort(dirs)
			if !slices.Equal(dirs, tt.directions) {
				t.Errorf("directions %v, want %v", dirs, tt.directions)
			}
		})
	}
}

// TestSeqWrap: one connection whose client sends fast enough to wrap its
// sequence numbers. synth writes real payload, so the capture stands for a
// sampled one: the client sends 1000 bytes, then nine more segments each
// 2^29 sequence numbers further (what a fast sender covers between two
// captured packets), one every step; ISN 0xFFFF0000 so that the numbers
// cross 0 at once.
func TestSeqWrap(t *testing.T) {
	tests := []struct {
		name string
		step time.Duration
		ts   bool
		want Severity // severity, "" for no finding
	}{
		// 2^32 in 8 steps of 100 ms: wrap in 0.8 s.
		{name: "fast with timestamps", step: 100 * time.Millisecond, ts: true, want: SeverityInfo},
		{name: "fast without timestamps", step: 100 * time.Millisecond, want: SeverityWarning},
		// 8 steps of 10 s: 80 s per wrap, longer than 60 s of TIME_WAIT.
		{name: "slow", step: 10 * time.Second, ts: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, func(w *synth.Writer) error {
				c, s := synth.NewEnd(synthClient, 0xFFFF0000, 100), synth.NewEnd(synthServer, 5000, 900)
				c.NoTS, s.NoTS = !tt.ts, !tt.ts
				if err := w.Handshake(c, s, time.Millisecond); err != nil {
					return err
				}
				for i := 0; i < 10; i++ {
					if i > 0 {
						c.Seq += 1 << 29
					}
					if err := w.Send(c, s, synth.ACK, 1000); err != nil {
						return err
					}
					if err := w.Send(s, c, synth.ACK, 0); err != nil {
						return err
					}
					w.Advance(tt.step)
				}
				return w.Close(c, s, time.Millisecond)
			})
			res, _ := reuseRun(t, "linux", path)
			got := twKind(res, KindSeqWrap)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("unexpected: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d seq_wrap findings, want 1", len(got))
			}
			f, ev := got[0], evidenceOf[*SeqWrapEvidence](t, got[0])
			wrap := ev.WrapS
			if f.Severity != tt.want || ev.Direction != "client" || ev.PAWS == nil || *ev.PAWS != tt.ts ||
				wrap <= 0.7 || wrap > 0.8 || ev.Wraps != 1 || ev.Bytes != 10000 {
				t.Errorf("got %s %+v", f.Severity, ev)
			}
		})
	}
}

// seqOverlapEv is a seq_overlap finding's evidence.
func seqOverlapEv(f Finding) *SeqOverlapEvidence {
	ev, _ := f.Evidence.(*SeqOverlapEvidence)
	if ev == nil {
		return &SeqOverlapEvidence{}
	}
	return ev
}
