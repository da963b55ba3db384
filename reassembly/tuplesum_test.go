package reassembly

import (
	"bytes"
	"testing"
	"time"
	"unsafe"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestSummarySize keeps what the tracker remembers per four-tuple as small
// as the packed form it replaced (80 bytes on 64-bit machines): the
// remembered four-tuples are the bulk of the tracker's memory.
func TestSummarySize(t *testing.T) {
	if n := unsafe.Sizeof(Summary{}); n > 80 {
		t.Errorf("a Summary takes %d bytes, want at most 80", n)
	}
}

// TestPrevSummary checks that the next incarnation of a four-tuple gets
// its predecessor's summary, endpoints included, both when the same client
// connects again and when the old server connects back.
func TestPrevSummary(t *testing.T) {
	for _, turned := range []bool{false, true} {
		recs := trackSynth(t, Config{}, func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Close(c, s, ms) },
				func() error {
					w.Advance(1500 * ms)
					c.Seq += 65537
					s.Seq += 65537
					c.Ack, s.Ack = 0, 0
					if turned {
						return w.Handshake(s, c, ms)
					}
					return w.Handshake(c, s, ms)
				})
		})
		if len(recs) != 2 || !recs[1].HasPrev {
			t.Fatalf("turned %v: %d records, want 2, the second with a predecessor", turned, len(recs))
		}
		old, r := &recs[0], &recs[1]
		p := r.Prev
		if p.Turned != turned || r.PrevClient() != old.Client || r.PrevServer() != old.Server {
			t.Errorf("turned %v: Turned %v, previous %v -> %v, want %v -> %v",
				turned, p.Turned, r.PrevClient(), r.PrevServer(), old.Client, old.Server)
		}
		want := summarize(old, p.lo)
		want.Turned = turned
		if p != want {
			t.Errorf("turned %v: prev\n got %+v\nwant %+v", turned, p, want)
		}
		if p.ID != old.ID || p.Final[SideServer.Index()] != old.S.NextSeq || p.Close != CloseFIN || !p.SYNSeen[SideClient.Index()] {
			t.Errorf("turned %v: prev %+v does not describe %d", turned, p, old.ID)
		}
	}
}

// TestTupleSlabBounded checks that the summaries' slab holds exactly the
// remembered four-tuples, when the count bound forgets some.
func TestTupleSlabBounded(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 9, Packets: 60000}); err != nil {
		t.Fatal(err)
	}
	src, err := Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := NewDecoder()
	tr := NewTracker(Config{MaxTuples: 1000}, func(*Record) {})
	var (
		p   Packet
		seg Segment
	)
	for src.Next(&p) == nil {
		if dec.Decode(&p, &seg) == KindTCP {
			tr.Feed(&seg)
		}
		if used := len(tr.tuples.slab.s) - len(tr.tuples.slab.holes); used != tr.tuples.len() {
			t.Fatalf("frame %d: %d summaries in the slab, %d four-tuples remembered", p.Frame, used, tr.tuples.len())
		}
	}
	if tr.Stats().TuplesForgotten == 0 || len(tr.tuples.slab.s) > 3000 { // a sweep may finish many at once
		t.Fatalf("forgotten %d, slab %d", tr.Stats().TuplesForgotten, len(tr.tuples.slab.s))
	}
}

// TestTupleNeedNotCounted checks that four-tuples forgotten past MaxTuples
// count as forgotten early only while the consumer still needs them
// (Config.TupleNeed): older ones go first, and silently.
func TestTupleNeedNotCounted(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 9, Packets: 150000}); err != nil {
		t.Fatal(err)
	}
	run := func(cfg Config) TrackerStats {
		src, err := Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		_, st, err := Run(src, cfg, func(*Record) {})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// 1000 connections a second: the 750 four-tuples kept span 0.75 s.
	if st := run(Config{MaxTuples: 1000}); st.TuplesForgotten == 0 {
		t.Fatalf("without TupleNeed: none counted forgotten")
	}
	if st := run(Config{MaxTuples: 1000, TupleNeed: 100 * time.Millisecond}); st.TuplesForgotten != 0 {
		t.Fatalf("TupleNeed 100ms: %d counted forgotten, want 0", st.TuplesForgotten)
	}
}
