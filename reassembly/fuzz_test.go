package reassembly

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fuzzSegBytes is how many input bytes make one segment in FuzzTracker.
const fuzzSegBytes = 8

// fuzzSegments turns fuzz bytes into a segment sequence over a few
// addresses and ports, so that four-tuples collide and incarnations follow
// each other: arbitrary flags, sequence and acknowledgement numbers near
// each end's own base (so that FINs, ACKs of FINs and retransmissions
// happen), timestamps that may go backwards, and time steps from
// microseconds to minutes, backwards too. The first byte picks the
// tracker's bounds, small so that eviction and forgetting happen.
func fuzzSegments(b []byte) (Config, []Segment) {
	cfg := Config{
		IdleTimeout: 30 * time.Second, CloseLinger: 2 * time.Second, ResetLinger: time.Second,
		TupleMemory: 20 * time.Second, DupWindow: time.Millisecond,
	}
	if len(b) > 0 {
		cfg.MaxHalfOpen = int(b[0]&3) + 1
		cfg.MaxTuples = int(b[0]>>2&3) + 1
		cfg.MaxClocks = int(b[0]>>4&3) + 1
		if b[0]&0x40 != 0 {
			cfg = Config{} // the defaults
		}
		b = b[1:]
	}
	addrs := [...]netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("fd00::1"),
	}
	ports := [...]uint16{80, 40000, 40001, 80}
	var base [4]uint32 // per address, its sequence space
	for i := range base {
		base[i] = uint32(i) * 0x40000000
	}
	now := int64(1_700_000_000) * 1e9
	var segs []Segment
	for frame := 1; len(b) >= fuzzSegBytes; frame++ {
		x := b[:fuzzSegBytes]
		b = b[fuzzSegBytes:]
		src, dst := int(x[0]&3), int(x[0]>>2&3)
		if addrs[src].Is4() != addrs[dst].Is4() {
			dst = (src + 1) % 3 // keep one address family
		}
		// Time step: x[1] is a signed step scaled by a power of ten µs.
		step := int64(int8(x[1]&0xf8)) / 8 * int64(time.Microsecond)
		for range x[1] & 7 {
			step *= 10
		}
		now += step
		seg := Segment{
			File: 0, Frame: frame, Time: now,
			SrcPort: ports[x[0]>>4&3], DstPort: ports[x[0]>>6&3],
			Flags: x[2],
			// Small offsets from each end's base, so that an ACK can be
			// exactly the peer's ISN+1 or FIN+1.
			Seq: base[src] + uint32(int8(x[3])),
			Ack: base[dst] + uint32(int8(x[4])),
			// Window and IP ID from one byte: equal bytes make copies.
			Window: uint16(x[5]), IPID: uint16(x[5] >> 4), Checksum: uint16(x[7]),
			PayloadLen:   int(x[5] & 0x1f),
			OptionsKnown: x[6]&1 == 0,
			HasTS:        x[6]&2 != 0,
		}
		seg.Captured = seg.PayloadLen
		seg.SetAddrs(addrs[src], addrs[dst])
		if seg.OptionsKnown && seg.HasTS {
			seg.TSval = base[src]>>8 + uint32(int8(x[7]))
			seg.TSecr = base[dst] >> 8
		} else {
			seg.HasTS = false
		}
		if x[6]&4 != 0 { // a jump: the end's sequence space moves on
			base[src] += uint32(x[6]) << 20
		}
		segs = append(segs, seg)
	}
	return cfg, segs
}

// checkRecords checks what holds for every record of a run whatever the
// input: fed is the number of segments given to the tracker, frames the
// highest frame number read.
func checkRecords(t *testing.T, recs []Record, st TrackerStats, fed, frames int) {
	t.Helper()
	if st.Connections != len(recs) {
		t.Fatalf("%d connections counted, %d records", st.Connections, len(recs))
	}
	packets, halfOpen, evicted, dups, partial := 0, 0, 0, 0, 0
	ids := map[int]bool{}
	for i := range recs {
		r := &recs[i]
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("record %d: %s\n%+v", r.ID, fmt.Sprintf(format, args...), *r)
		}
		if ids[r.ID] || r.ID < 1 || r.ID > len(recs) {
			fail("id repeated or out of range")
		}
		ids[r.ID] = true
		packets += r.Packets
		dups += r.Duplicates
		if r.HalfOpenEvicted {
			halfOpen++
		}
		if r.Evicted {
			evicted++
		}
		if r.Partial {
			partial++
		}
		if r.Packets < 1 || r.Packets != r.C.Packets+r.S.Packets {
			fail("packets %d = %d + %d", r.Packets, r.C.Packets, r.S.Packets)
		}
		if !r.FirstFrame.Seen() || !r.LastFrame.Seen() || r.End < r.Start {
			fail("frames %v %v, start %d end %d", r.FirstFrame, r.LastFrame, r.Start, r.End)
		}
		if r.Partial != !r.C.SYN.Seen() {
			fail("partial %v with client SYN %v", r.Partial, r.C.SYN)
		}
		cf, sf := r.C.FIN.Seen(), r.S.FIN.Seen()
		rst := r.C.RST.Seen() || r.S.RST.Seen()
		ok := false
		switch r.Close {
		case CloseSimultaneous:
			ok = cf && sf && r.Closer == SideBoth
		case CloseFIN:
			ok = cf && sf && (r.Closer == SideClient || r.Closer == SideServer)
		case CloseRST:
			// Before both FINs, or before the last was acknowledged
			// (domain.md 2): never without a RST, never held TIME_WAIT.
			ok = rst && (!(cf && sf) || abortedBeforeDone(r, r.Closer == SideBoth)) && r.TimeWaitHolder == SideNone
		case CloseHalf:
			ok = cf != sf && !rst
		case CloseOpen:
			ok = !cf && !sf && !rst
		}
		if !ok {
			fail("close %v with FINs %v/%v and RST %v", r.Close, cf, sf, rst)
		}
		if (r.RSTBy&SideClient != 0) != r.C.RST.Seen() || (r.RSTBy&SideServer != 0) != r.S.RST.Seen() {
			fail("rst_by %v", r.RSTBy)
		}
		if r.FINRetransmits != r.C.FINRetrans+r.S.FINRetrans {
			fail("fin retransmits %d", r.FINRetransmits)
		}
		if r.FinalAck == FinalAckLost && (r.FINRetransmits == 0 || !r.LostAck.Retrans.Seen()) {
			fail("final ACK lost without a FIN sent again")
		}
		if (r.FinalAck == FinalAckNA) == (cf && sf) {
			fail("final ack %v with FINs %v/%v", r.FinalAck, cf, sf)
		}
		if r.TimeWaitHolder != SideNone && (rst || !(cf && sf)) {
			fail("time_wait_holder %v", r.TimeWaitHolder)
		}
		if !r.CloseAt.Seen() {
			fail("no close event")
		}
		for _, f := range [2]*Flow{&r.C, &r.S} {
			for _, e := range []Event{f.SYN, f.FIN, f.RST, f.AckOfPeerFIN, f.FINRetransAfterAck} {
				if e.Seen() && (e.Frame.N > frames || e.Time == 0) {
					fail("event %+v", e)
				}
			}
			if f.FINRetrans > 0 && !f.FIN.Seen() || f.RSTCount > 0 != f.RST.Seen() {
				fail("FIN/RST counts without the event")
			}
			if f.HasTS && !f.TSKnown {
				fail("timestamps without known options")
			}
			if f.TSUnknown() && f.HasTS {
				fail("timestamps unknown and seen")
			}
		}
		if r.HasPrev && r.Prev.ID >= r.ID {
			fail("previous incarnation %d", r.Prev.ID)
		}
	}
	if packets+st.Duplicates != fed || dups != st.Duplicates {
		t.Fatalf("%d packets in records + %d duplicates (%d in records) != %d segments fed", packets, st.Duplicates, dups, fed)
	}
	if halfOpen != st.HalfOpenEvicted || evicted != st.Evicted || partial != st.Partial {
		t.Fatalf("records: %d half-open evicted, %d idle evicted, %d partial; stats %+v", halfOpen, evicted, partial, st)
	}
}

// trackAll feeds segs to a tracker and flushes it.
func trackAll(t *testing.T, cfg Config, segs []Segment) ([]Record, TrackerStats) {
	t.Helper()
	var recs []Record
	tr := NewTracker(cfg, func(r *Record) { recs = append(recs, *r) })
	for i := range segs {
		seg := segs[i]
		tr.Feed(&seg)
		if h := tr.HalfOpen(); h > intOr(cfg.MaxHalfOpen, defaultMaxHalfOpen) || h > tr.Live() {
			t.Fatalf("after segment %d: %d half-open of %d live", i+1, h, tr.Live())
		}
		if tr.tuples.len() > intOr(cfg.MaxTuples, defaultMaxTuples) || tr.clocks.len() > intOr(cfg.MaxClocks, defaultMaxClocks) {
			t.Fatalf("after segment %d: %d tuples, %d clocks held", i+1, tr.tuples.len(), tr.clocks.len())
		}
	}
	tr.Flush()
	if tr.Live() != 0 || tr.HalfOpen() != 0 {
		t.Fatalf("after Flush: %d live, %d half-open", tr.Live(), tr.HalfOpen())
	}
	return recs, tr.Stats()
}

// FuzzTracker feeds arbitrary segment sequences to the tracker and checks
// the records: no panic, every record consistent, every segment accounted
// for, nothing held after Flush, and the same output twice.
func FuzzTracker(f *testing.F) {
	// A handshake, data, both FINs and ACKs; the same again with the
	// passive FIN resent; a flood of SYNs; a segment copied.
	f.Add([]byte{0x03,
		0x14, 0x10, 0x02, 0, 0, 0, 0, 1, // 1->2 SYN
		0x41, 0x10, 0x12, 0, 1, 0, 0, 2, // 2->1 SYN+ACK
		0x14, 0x10, 0x10, 1, 1, 0, 0, 3, // ACK
		0x14, 0x10, 0x11, 1, 1, 0, 0, 4, // FIN
		0x41, 0x10, 0x11, 1, 2, 0, 0, 5, // FIN
		0x14, 0x10, 0x10, 2, 2, 0, 0, 6, // ACK
		0x41, 0x13, 0x11, 1, 2, 0, 0, 5, // FIN again, 100 ms later
	})
	f.Add([]byte{0x00,
		0x14, 0x08, 0x02, 0, 0, 0x22, 2, 9, 0x24, 0x08, 0x02, 0, 0, 0x22, 2, 9,
		0x34, 0x08, 0x02, 0, 0, 0x22, 2, 9, 0x54, 0x08, 0x02, 0, 0, 0x22, 2, 9,
		0x94, 0x08, 0x02, 0, 0, 0x22, 2, 9, 0x14, 0x00, 0x02, 0, 0, 0x22, 2, 9,
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, segs := fuzzSegments(b)
		recs, st := trackAll(t, cfg, segs)
		checkRecords(t, recs, st, len(segs), len(segs))
		again, _ := trackAll(t, cfg, segs)
		if !reflect.DeepEqual(recs, again) {
			t.Fatal("two runs over the same segments differ")
		}
	})
}

// FuzzRun runs the whole reading pipeline, Open to Run, over arbitrary
// bytes taken as a capture file, with small tracker bounds, and checks the
// counts and records.
func FuzzRun(f *testing.F) {
	for _, name := range []string{
		"zeek_tcp-fin-retransmission.pcap", "zeek_tcp-syn-then-rst.pcap", "zeek_tcp-miss-end-data.pcap",
		"zeek_tcp-rst-inject-rae.pcap", "zeek_tcp-http-on-irc-port-missing-syn.pcapng",
	} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(gzipBytes(f, pcapBytes(f, true, 1, []rec{{ns: 1, data: testFrames(f, 1)[0]}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := Open([]string{"-"}, bytes.NewReader(b))
		if err != nil {
			return
		}
		defer src.Close()
		cfg := Config{MaxHalfOpen: 2, MaxTuples: 2, MaxClocks: 2, ReorderWindow: time.Millisecond}
		var recs []Record
		n, st, err := Run(src, cfg, func(r *Record) { recs = append(recs, *r) })
		if err != nil && !IsFatal(err) {
			t.Fatalf("Run returned a non-fatal error %v", err)
		}
		if n.Packets != n.TCP+n.NonTCP+n.Fragments+n.Truncated+n.Filtered || n.Packets != src.Files()[0].Packets {
			t.Fatalf("counts %+v, file %+v", n, src.Files()[0])
		}
		if st.Segments != n.TCP {
			t.Fatalf("%d segments tracked of %d", st.Segments, n.TCP)
		}
		checkRecords(t, recs, st, n.TCP, n.Packets)
	})
}
