package reassembly

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// closeFacts is what must not change when every packet is captured twice.
func closeFacts(r *Record) string {
	return fmt.Sprintf("%v-%v packets %d/%d close %v closer %v rst %v tw %v final %v finretx %d/%d synretx %d/%d lost %v bytes %d/%d seq %d/%d zeek %s %s",
		r.Client, r.Server, r.C.Packets, r.S.Packets, r.Close, r.Closer, r.RSTBy, r.TimeWaitHolder, r.FinalAck,
		r.C.FINRetrans, r.S.FINRetrans, r.C.SYNRetrans, r.S.SYNRetrans, r.LostAck.Passive,
		r.C.Bytes, r.S.Bytes, r.C.NextSeq, r.S.NextSeq, r.ZeekState, r.History)
}

// runFile runs Run over one capture held in memory, which must read
// without a warning.
func runFile(t *testing.T, b []byte) ([]Record, TrackerStats) {
	t.Helper()
	recs, st, warnings := track(t, Config{}, bytes.NewReader(b))
	if len(warnings) > 0 {
		t.Fatalf("warnings %v", warnings)
	}
	return recs, st
}

// track runs Run with cfg over one capture read from r, and returns its
// records, the tracker's counts and the reader's warnings.
func track(t *testing.T, cfg Config, r io.Reader) ([]Record, TrackerStats, []error) {
	t.Helper()
	src, err := Open([]string{"-"}, r)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var recs []Record
	_, st, err := Run(src, cfg, func(r *Record) { recs = append(recs, *r) })
	if err != nil {
		t.Fatal(err)
	}
	return recs, st, src.Warnings()
}

// TestDuplicateCaptures writes every packet of real captures twice into a
// pcapng with two interfaces, the second copy on another link type, a few
// microseconds later or on a clock a little behind, and the interfaces'
// packets written out of time order in blocks: the connections must close
// exactly as with one copy (no false FIN or SYN retransmissions, no lost
// final ACK), with every copy counted as a duplicate.
func TestDuplicateCaptures(t *testing.T) {
	files := []string{
		"../testdata/corpus/lab/lost_final_ack.pcap",
		"../testdata/corpus/lab/simultaneous_close.pcap",
		"../testdata/corpus/lab/client_close_first.pcap",
		"../testdata/corpus/lab/abortive_close_linger0.pcap",
		"testdata/zeek_tcp-fin-retransmission.pcap",
	}
	layouts := []struct {
		name  string
		skew  int64 // time of the copy minus the original's, ns
		block int   // packets per interface written before the other's
	}{
		{"copy-3us-later-interleaved", 3000, 1},
		{"copy-3us-later-blocks-of-4", 3000, 4},
		{"copy-clock-2ms-behind-blocks-of-3", -2_000_000, 3},
	}
	for _, file := range files {
		src, err := Open([]string{file}, nil)
		if err != nil {
			t.Fatal(err)
		}
		pkts, err := readAll(t, src)
		src.Close()
		if err != nil || len(pkts) == 0 || pkts[0].LinkType != layers.LinkTypeEthernet {
			t.Fatalf("%s: %d packets, %v", file, len(pkts), err)
		}
		var one []rec
		for _, p := range pkts {
			one = append(one, rec{ns: p.Time, data: p.Data, wire: p.Length})
		}
		lts := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL}
		want, wantSt := runFile(t, pcapngBytes(t, lts[:1], one))
		for _, l := range layouts {
			t.Run(filepath.Base(file)+"/"+l.name, func(t *testing.T) {
				var two []rec
				for i := 0; i < len(one); i += l.block {
					blk := one[i:min(i+l.block, len(one))]
					two = append(two, blk...)
					for _, r := range blk {
						// The copy on a Linux cooked interface: other
						// link-layer bytes, the same IP packet.
						two = append(two, rec{ns: r.ns + l.skew, data: sll(layers.EthernetTypeIPv4, r.data[14:]), wire: r.wire - 14 + 16, iface: 1})
					}
				}
				got, st := runFile(t, pcapngBytes(t, lts, two))
				if st.Duplicates != len(one) {
					t.Errorf("%d duplicates, want %d", st.Duplicates, len(one))
				}
				if len(got) != len(want) || st.Connections != wantSt.Connections {
					t.Fatalf("%d records, want %d", len(got), len(want))
				}
				for i := range want {
					if g, w := closeFacts(&got[i]), closeFacts(&want[i]); g != w {
						t.Errorf("record %d:\n got %s\nwant %s", i+1, g, w)
					}
					if got[i].Duplicates != got[i].Packets {
						t.Errorf("record %d: %d duplicates of %d packets", i+1, got[i].Duplicates, got[i].Packets)
					}
				}
			})
		}
	}
}

// TestDuplicateNotRetransmission checks that real retransmissions are not
// taken for copies: the same segment sent again with a new IP ID, or after
// the window, counts as a retransmission.
func TestDuplicateNotRetransmission(t *testing.T) {
	base := Segment{SrcPort: 40000, DstPort: 80,
		Seq: 100, Ack: 200, Flags: FlagFIN | FlagACK, IPID: 7, Checksum: 0xabcd, OptionsKnown: true}
	base.SetAddrs(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"))
	tests := []struct {
		name   string
		second func(s *Segment)
		dup    bool
	}{
		{"same-packet-10us-later", func(s *Segment) { s.Time += 10_000 }, true},
		{"same-packet-earlier", func(s *Segment) { s.Time -= 1_000_000 }, true},
		{"new-ip-id", func(s *Segment) { s.Time += 10_000; s.IPID++ }, false},
		{"new-checksum", func(s *Segment) { s.Time += 10_000; s.Checksum++ }, false},
		{"new-tsval", func(s *Segment) { s.Time += 10_000; s.HasTS, s.TSval = true, 9 }, false},
		{"after-the-window", func(s *Segment) { s.Time += 200_000_000 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []Record
			tr := NewTracker(Config{}, func(r *Record) { recs = append(recs, *r) })
			a := base
			a.Time, a.Frame = 1e18, 1
			b := a
			b.Frame = 2
			tt.second(&b)
			tr.Feed(&a)
			tr.Feed(&b)
			tr.Flush()
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if wantRetx := map[bool]int{true: 0, false: 1}[tt.dup]; r.Duplicates != 1-wantRetx || r.FINRetransmits != wantRetx {
				t.Errorf("%d duplicates, %d FIN retransmits; duplicate %v", r.Duplicates, r.FINRetransmits, tt.dup)
			}
		})
	}
}
