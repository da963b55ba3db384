package reassembly

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestTupleSumRoundTrip checks that a remembered four-tuple gives back
// exactly the Summary it was made from.
func TestTupleSumRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 5, Packets: 20000, Clients: 40}); err != nil {
		t.Fatal(err)
	}
	src, err := Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var sums []Summary
	if _, _, err := Run(src, Config{}, func(r *Record) { sums = append(sums, summarize(r)) }); err != nil {
		t.Fatal(err)
	}
	sums = append(sums, Summary{
		ID: 7, Client: netip.MustParseAddrPort("[2001:db8::1]:40000"), Server: netip.MustParseAddrPort("[2001:db8::2]:443"),
		CloseFrame: Frame{File: 2, N: 1 << 40}, Close: CloseFIN, Closer: SideServer, TimeWaitHolder: SideServer,
	}, Summary{
		ID: 8, Client: netip.MustParseAddrPort("[::ffff:10.0.0.9]:80"), Server: netip.MustParseAddrPort("[::ffff:10.0.0.1]:50000"),
	})
	for _, s := range sums {
		seg := Segment{Src: s.Client.Addr(), Dst: s.Server.Addr(), SrcPort: s.Client.Port(), DstPort: s.Server.Port()}
		key, clientIsLo := keyOf(&seg)
		p := packTuple(&s, clientIsLo)
		if got := p.unpack(&key); got != s {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, s)
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
		if used := len(tr.tupleSlab.s) - len(tr.tupleSlab.holes); used != tr.tuples.n {
			t.Fatalf("frame %d: %d summaries in the slab, %d four-tuples remembered", p.Frame, used, tr.tuples.n)
		}
	}
	if tr.Stats().TuplesForgotten == 0 || len(tr.tupleSlab.s) > 3000 { // a sweep may finish many at once
		t.Fatalf("forgotten %d, slab %d", tr.Stats().TuplesForgotten, len(tr.tupleSlab.s))
	}
}

// TestTupleNeedNotCounted checks that four-tuples forgotten past MaxTuples
// count as forgotten early only while the consumer still needs them
// (Config.TupleNeed): older ones go first, and silently.
func TestTupleNeedNotCounted(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 9, Packets: 60000}); err != nil {
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
