package analyze

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// natRun analyzes captures through the real pipeline, as the CLI does, and
// returns the nat_ts_regression findings by source IP.
func natRun(t *testing.T, files ...string) map[string]Finding {
	t.Helper()
	res := twRun(t, Options{}, files...)
	out := map[string]Finding{}
	for _, f := range res.Findings {
		if f.Kind != KindNATTSRegression {
			continue
		}
		ip := natEv(f).IP
		if _, dup := out[ip]; dup {
			t.Errorf("two nat_ts_regression findings for %s", ip)
		}
		out[ip] = f
	}
	return out
}

func natSYNs(f Finding) []NATSYN { return natEv(f).SYNs }

// natEv is a nat_ts_regression finding's evidence.
func natEv(f Finding) *NATEvidence {
	ev, _ := f.Evidence.(*NATEvidence)
	if ev == nil {
		return &NATEvidence{}
	}
	return ev
}

// natClock is one host's timestamp clock in a synthetic capture: offset +
// rate x (time since synth.Epoch), as old Linux kept one per address pair.
type natClock struct {
	offset uint32
	rate   float64 // Hz
}

func (c natClock) at(w *synth.Writer) uint32 {
	return c.offset + uint32(int64(c.rate*w.Now.Sub(synth.Epoch).Seconds()))
}

// natConn writes one short connection (handshake, request, response, close)
// whose client sends TSval ts throughout (it lasts 10 ms: a tick or ten).
func natConn(w *synth.Writer, client, server string, isn, ts uint32, serverCloses bool) error {
	c := synth.NewEnd(client, isn, ts)
	s := synth.NewEnd(server, isn^0x5a5a5a5a, ts^0x77777777)
	c.TSStep, s.TSStep = 0, 0
	if err := w.Handshake(c, s, time.Millisecond); err != nil {
		return err
	}
	if err := w.Exchange(c, s, 100, 300, time.Millisecond); err != nil {
		return err
	}
	if serverCloses {
		return w.Close(s, c, time.Millisecond)
	}
	return w.Close(c, s, time.Millisecond)
}

// serialBehind is RFC 1982 "a before b", written out again here so that the
// test does not lean on the code it checks.
func serialBehind(a, b uint32) bool { return a != b && (b-a) < 1<<31 }

// natGenerate writes a capture with synth.Generate (the generator of
// cmd/twscope-gen) into the test's directory.
func natGenerate(t *testing.T, cfg synth.GenConfig) (string, synth.GenStats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := synth.Generate(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

// TestNATCorpus checks the detector on captures of real stacks and on the
// crafted lab capture. Lab captures: Linux 6.18 kernel traffic made for
// this project (see ../shared/corpus/README.md), taken on the server's
// interface; on that kernel every four-tuple has its own TSval offset, so
// a client's SYNs jump behind its previous connections' TSvals with no
// NAT: no finding, only the summary count. The lab truth of each expects
// no nat_ts_regression (corpus-score's per_connection_clock_ips).
func TestNATCorpus(t *testing.T) {
	tests := []struct {
		name, file string
		// summary: addresses and SYNs of Result.NATTimestamps (0: nil).
		addrs, syns, recycle int
	}{
		// Two clients behind MASQUERADE with per-four-tuple offsets: 26
		// connections on 26 clocks, one per four-tuple: per-connection
		// offsets explain them; the truth's
		// tsval_went_backwards_between_consecutive_syns lists the ten SYNs,
		// all under the exact rule (the server closed first).
		{"nat_timestamps", "lab/nat_timestamps.pcap", 1, 10, 10},
		// One client, 20 connections, the client closes first: the
		// server never holds TIME_WAIT, so tcp_tw_recycle had no stamp.
		{"client_close_first", "lab/client_close_first.pcap", 1, 11, 0},
		// As above but the server closes first and holds TIME_WAIT.
		{"server_close_first", "lab/server_close_first.pcap", 1, 11, 11},
		// zeek ftp/ipv4.pcap: the FTP server's active-mode data SYNs
		// carry TSval 1 (a clock per connection, 2 Hz), behind only what
		// it sent as the control connection's server: as a client it
		// sent nothing before, so nothing is behind.
		{"ftp-ipv4", "public/zeek_ftp-ipv4.pcap", 0, 0, 0},
		{"ftp-ipv6", "public/zeek_ftp-ipv6.pcap", 0, 0, 0},
		// zeek irc-dcc-send.pcapng cut to 96 bytes: 10.0.0.22 serves IRC
		// to 10.0.0.7 and connects out to it twice (DCC, frames 60 and
		// 1155, one 1000 Hz clock) with a clock 591 million ticks below
		// the one it answers IRC with. Judged as a client toward
		// 10.0.0.7, its two connections lie on one clock and neither SYN
		// is behind: no finding, nothing in the summary. (Before, its
		// server-side TSvals counted as a second host.)
		{"irc-dcc-send", "public/zeek_irc-dcc-send.s96.pcap", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := twRun(t, Options{}, filepath.Join("..", "testdata", "corpus", tt.file))
			for _, f := range res.Findings {
				if f.Kind == KindNATTSRegression {
					t.Errorf("finding %s: %s", f.Severity, f.Summary)
				}
			}
			s := res.NATTimestamps
			if tt.addrs == 0 {
				if s != nil {
					t.Errorf("summary %+v, want none", *s)
				}
				return
			}
			if s == nil || s.Addresses != tt.addrs || s.SYNs != tt.syns || s.Recycle != tt.recycle {
				t.Errorf("summary %+v, want %d addresses %d SYNs %d recycle", s, tt.addrs, tt.syns, tt.recycle)
			}
		})
	}
}

// TestNATCraftedPerPair: the crafted lab capture (scapy): the third of
// four SYNs from 10.1.1.2 carries TSval 120000 after the second
// connection's 500300..500303, while the server holds TIME_WAIT for it.
// The other three lie on one clock across three source ports whose ISNs
// are not one four-tuple's: two clocks, per address pair, every SYN
// answered at once: info.
func TestNATCraftedPerPair(t *testing.T) {
	got := natRun(t, filepath.Join("..", "testdata", "corpus", "lab", "crafted", "syn_tsval_lower_than_previous.pcap"))
	f, ok := got["10.1.1.2"]
	if !ok || len(got) != 1 {
		t.Fatalf("want one finding for 10.1.1.2, got %v", got)
	}
	ev := natEv(f)
	if f.Severity != SeverityInfo || ev.Offsets != OffsetsPerAddressPair || deref(ev.Clocks) != 2 || ev.SYNsTotal != 1 || ev.Unanswered != 0 {
		t.Errorf("severity %s offsets %s clocks %v syns %d unanswered %d, want info per_address_pair 2 1 0",
			f.Severity, ev.Offsets, ev.Clocks, ev.SYNsTotal, ev.Unanswered)
	}
	if syns := natSYNs(f); len(syns) != 1 || syns[0].Frame != 17 || deref(syns[0].TSval) != 120000 || !syns[0].Recycle {
		t.Errorf("SYNs %+v, want frame 17 TSval 120000 under the exact rule", syns)
	}
	if s := natSYNs(f)[0]; s.BehindByS == nil || *s.BehindByS != float64(s.BehindBy)/1000 {
		t.Errorf("behind_by_s %v for %d ticks at 1000 Hz", s.BehindByS, s.BehindBy)
	}
}

// TestNATHostsBehindOneAddress: synthetic captures of hosts behind one NAT
// address, each with the single clock old Linux (4.11 to 5.x) keeps per
// address pair, connecting in turn every 200 ms from their own source
// ports; the server closes first. Each round, the first host's SYN is
// behind the last host's TSvals: the clocks must count the hosts, and
// with every SYN answered at once the finding is info. One host alone is
// one clock and no finding.
func TestNATHostsBehindOneAddress(t *testing.T) {
	tests := []struct {
		name   string
		clocks []natClock
		rounds int
	}{
		{"one host", []natClock{{1_000_000_000, 1000}}, 6},
		{"two hosts 1000 Hz", []natClock{{1_000_000_000, 1000}, {3_000_000_000, 1000}}, 4},
		{"two hosts 100 Hz", []natClock{{1_000_000_000, 100}, {3_000_000_000, 100}}, 4},
		{"three hosts 1000 Hz", []natClock{{1_000_000_000, 1000}, {2_000_000_000, 1000}, {3_000_000_000, 1000}}, 4},
		{"three hosts 250 Hz", []natClock{{1_000_000_000, 250}, {2_000_000_000, 250}, {3_000_000_000, 250}}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type sent struct {
				host int
				ts   uint32
			}
			var syns []sent
			path := twSynth(t, func(w *synth.Writer) error {
				for r := 0; r < tt.rounds; r++ {
					for h, clk := range tt.clocks {
						ts := clk.at(w)
						syns = append(syns, sent{h, ts})
						client := fmt.Sprintf("203.0.113.9:%d", 40000+100*h+r)
						if err := natConn(w, client, "198.51.100.10:80", uint32(1000*(r+1)+h), ts, true); err != nil {
							return err
						}
						w.Advance(200 * time.Millisecond)
					}
				}
				return nil
			})
			got := natRun(t, path)
			var want []uint32
			for i := 1; i < len(syns); i++ {
				if serialBehind(syns[i].ts, syns[i-1].ts) {
					want = append(want, syns[i].ts)
				}
			}
			if len(tt.clocks) == 1 {
				if len(got) != 0 || len(want) != 0 {
					t.Fatalf("one host, one clock: want no finding, got %v (behind %v)", got, want)
				}
				return
			}
			f, ok := got["203.0.113.9"]
			if !ok || len(got) != 1 {
				t.Fatalf("want one finding for 203.0.113.9, got %v", got)
			}
			if o := natEv(f).Offsets; o != OffsetsPerAddressPair {
				t.Errorf("offsets %v, want per_address_pair", o)
			}
			if c := natEv(f).Clocks; c == nil || *c != len(tt.clocks) {
				t.Errorf("clocks %v, want %d", c, len(tt.clocks))
			}
			if f.Severity != SeverityInfo {
				t.Errorf("severity %s, want info (several hosts, every SYN answered at once)", f.Severity)
			}
			var gotTS []uint32
			for _, s := range natSYNs(f) {
				gotTS = append(gotTS, *s.TSval)
				if !s.Recycle {
					t.Errorf("SYN frame %d: the server held the newer TSval's connection in TIME_WAIT: recycle must be true", s.Frame)
				}
			}
			if !slices.Equal(gotTS, want) {
				t.Errorf("SYNs behind %v, want %v", gotTS, want)
			}
			clockOf := map[int]int{}
			for _, p := range natEv(f).Points {
				for _, s := range syns {
					if p.SYN && s.ts == p.TSval {
						if c, seen := clockOf[s.host]; seen && c != p.Clock {
							t.Errorf("host %d on clocks %d and %d", s.host, c, p.Clock)
						}
						clockOf[s.host] = p.Clock
					}
				}
			}
			if len(clockOf) != len(tt.clocks) {
				t.Errorf("plot points name %d host clocks, want %d", len(clockOf), len(tt.clocks))
			}
		})
	}
}

// TestNATPerServerPair: one host with per-address-pair offsets talks to
// two servers; its offsets toward them differ by 2e9 ticks, so one
// server's SYNs are "behind" the other's TSvals. Judged per (client,
// server) pair, nothing is behind: no finding, no summary. The server A
// closes first (holding TIME_WAIT): the exact tcp_tw_recycle rule must
// not judge SYNs to B by A's stamps.
func TestNATPerServerPair(t *testing.T) {
	toA, toB := natClock{3_000_000_000, 1000}, natClock{1_000_000_000, 1000}
	path := twSynth(t, func(w *synth.Writer) error {
		for i := 0; i < 6; i++ {
			if err := natConn(w, fmt.Sprintf("192.0.2.7:%d", 50000+2*i), "198.51.100.10:80", uint32(100+i), toA.at(w), true); err != nil {
				return err
			}
			w.Advance(100 * time.Millisecond)
			if err := natConn(w, fmt.Sprintf("192.0.2.7:%d", 50001+2*i), "198.51.100.20:80", uint32(200+i), toB.at(w), false); err != nil {
				return err
			}
			w.Advance(100 * time.Millisecond)
		}
		return nil
	})
	res := twAnalyze(t, Options{Profile: Profiles["linux"]}, func(r *reassembly.Record) {
		if r.SYNTS.Behind || r.SYNTS.Recycle {
			t.Errorf("conn %d to %s: behind %v recycle %v: judged against another server's TSvals", r.ID, r.Server, r.SYNTS.Behind, r.SYNTS.Recycle)
		}
	}, []string{path}, nil)
	for _, f := range res.Findings {
		if f.Kind == KindNATTSRegression {
			t.Errorf("finding: %s", f.Summary)
		}
	}
	if res.NATTimestamps != nil {
		t.Errorf("summary %+v, want none", *res.NATTimestamps)
	}
}

// TestNATDropPattern: two hosts behind 203.0.113.9 (per-address-pair
// offsets) alternate; the server closes first. With drop, the server
// behaves as Linux before 4.12 with tcp_tw_recycle=1: every SYN behind is
// ignored, and its client sends it again at 1 s and 3 s (TSval moving
// with its clock) and gives up: the pattern, critical. Without, the same
// SYNs are answered: info. With one SYN lost once among many (chance),
// the finding stays below critical.
func TestNATDropPattern(t *testing.T) {
	for _, mode := range []string{"drop", "answer", "chance"} {
		t.Run(mode, func(t *testing.T) {
			a, b := natClock{1_000_000_000, 1000}, natClock{3_000_000_000, 1000}
			server := "198.51.100.10:80"
			rounds := 4
			if mode == "chance" {
				rounds = 40
			}
			path := twSynth(t, func(w *synth.Writer) error {
				for i := 0; i < 2*rounds; i++ {
					h, port := a, uint16(41000+i)
					if i%2 == 1 {
						h = b
					}
					client := fmt.Sprintf("203.0.113.9:%d", port)
					behind := i%2 == 0 && i > 0
					if mode == "drop" && behind || mode == "chance" && i == 6 {
						c := synth.NewEnd(client, uint32(7000+i), h.at(w))
						s := synth.NewEnd(server, 19000, 5)
						if err := w.Send(c, s, synth.SYN, 0); err != nil {
							return err
						}
						waits := []time.Duration{time.Second, 2 * time.Second}
						if mode == "chance" {
							waits = waits[:1]
						}
						for _, d := range waits {
							w.Advance(d)
							c.TSval = h.at(w)
							if err := w.SendAt(c, s, synth.SYN, uint32(7000+i), 0, 0); err != nil {
								return err
							}
						}
						if mode == "chance" {
							s.Seq, c.Seq = 19000, uint32(7000+i)+1
							c.TSStep, s.TSStep = 0, 0
							if err := w.Send(s, c, synth.SYN|synth.ACK, 0); err != nil {
								return err
							}
							w.Advance(time.Millisecond)
							if err := w.Send(c, s, synth.ACK, 0); err != nil {
								return err
							}
							if err := w.Close(s, c, time.Millisecond); err != nil {
								return err
							}
						}
					} else if err := natConn(w, client, server, uint32(7000+i), h.at(w), true); err != nil {
						return err
					}
					w.Advance(100 * time.Millisecond)
				}
				return nil
			})
			f, ok := natRun(t, path)["203.0.113.9"]
			if !ok {
				t.Fatal("no finding for 203.0.113.9")
			}
			ev := natEv(f)
			want := map[string]Severity{"drop": SeverityCritical, "answer": SeverityInfo, "chance": SeverityWarning}[mode]
			if f.Severity != want {
				t.Errorf("severity %s, want %s: %s", f.Severity, want, f.Summary)
			}
			if deref(ev.Clocks) != 2 || ev.Offsets != OffsetsPerAddressPair {
				t.Errorf("clocks %v offsets %s, want 2 per_address_pair", ev.Clocks, ev.Offsets)
			}
			wantUn := map[string]int{"drop": rounds - 1, "answer": 0, "chance": 1}[mode]
			if ev.Unanswered != wantUn {
				t.Errorf("unanswered %d, want %d", ev.Unanswered, wantUn)
			}
			if mode == "drop" {
				for _, s := range natSYNs(f) {
					if s.Answered || s.SentAgain != 2 || !s.Recycle {
						t.Errorf("SYN frame %d: answered %v sent_again %d recycle %v, want false 2 true", s.Frame, s.Answered, s.SentAgain, s.Recycle)
					}
				}
				if len(ev.Servers) != 1 || !ev.Servers[0].Pattern {
					t.Errorf("servers %+v: the pattern must be marked", ev.Servers)
				}
			}
		})
	}
}

// TestNATPattern checks the pattern rule on counts alone: a SYN lost once
// or a few times among hundreds is chance; every SYN behind dropped and
// sent again while the others pass is the pattern.
func TestNATPattern(t *testing.T) {
	tests := []struct {
		name                   string
		txB, lostB, txO, lostO int
		pattern                bool
	}{
		{"one loss among hundreds", 101, 1, 100, 0, false},
		{"one SYN lost three times among hundreds", 103, 3, 100, 0, false},
		{"losses everywhere alike", 120, 20, 120, 20, false},
		{"every SYN behind dropped three times", 40, 30, 100, 0, true},
		{"three SYNs dropped twice, few others", 9, 6, 4, 0, true},
		{"one SYN dropped twice, three others", 3, 2, 3, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := binomialTail(tt.txB, tt.lostB, float64(tt.lostO+1)/float64(tt.txO+2))
			if got := tt.lostB >= 2 && p < natPatternP; got != tt.pattern {
				t.Errorf("pattern %v (p=%.3g), want %v", got, p, tt.pattern)
			}
		})
	}
}

// TestNATModernFleet: clients with per-connection offsets (Linux 6.x,
// Linux ISNs), no NAT, to several server IPs, generated by synth: about
// half their SYNs are behind, and none is a finding; the summary counts
// them.
func TestNATModernFleet(t *testing.T) {
	path, _ := natGenerate(t, synth.GenConfig{Packets: 60000, Clients: 500, Servers: 16, NATClients: -1,
		TS: synth.TSModel{Offsets: synth.OffsetsPerConn}})
	res := twRun(t, Options{}, path)
	for _, f := range res.Findings {
		if f.Kind == KindNATTSRegression {
			t.Errorf("finding: %s", f.Summary)
		}
	}
	if s := res.NATTimestamps; s == nil || s.Addresses < 100 || s.SYNs < s.Addresses {
		t.Errorf("summary %+v, want most of the 500 addresses and their SYNs", s)
	}
}

// TestNATMasqueradeRemap: two hosts behind each of three MASQUERADE
// addresses, per-connection offsets, each host binding a few fixed source
// ports, the NAT giving every connection a new public port: one pre-NAT
// four-tuple leaves under several public ports on its one clock, its ISNs
// following Linux's ISN clock. Both models explain that with as many
// clocks: unknown, no host count, no finding. Under per-address-pair
// offsets the same NAT gives one finding per address with 3 hosts.
func TestNATMasqueradeRemap(t *testing.T) {
	for _, offsets := range []string{synth.OffsetsPerConn, synth.OffsetsPerPair} {
		t.Run(offsets, func(t *testing.T) {
			hosts := 2
			if offsets == synth.OffsetsPerPair {
				hosts = 3
			}
			path, _ := natGenerate(t, synth.GenConfig{Packets: 60000, Clients: 50, Servers: 8, NATClients: 3,
				TS: synth.TSModel{Offsets: offsets, NATHosts: hosts, FixedPorts: 9, NATRemap: true, LinuxISN: true}})
			got := natRun(t, path)
			if offsets == synth.OffsetsPerConn {
				if len(got) != 0 {
					for ip, f := range got {
						t.Errorf("%s: %s", ip, f.Summary)
					}
				}
				return
			}
			if len(got) != 3 {
				t.Fatalf("findings for %d addresses, want the 3 NAT addresses", len(got))
			}
			for ip, f := range got {
				if ev := natEv(f); deref(ev.Clocks) != hosts || ev.Offsets != OffsetsPerAddressPair {
					t.Errorf("%s: clocks %v offsets %s, want %d per_address_pair", ip, ev.Clocks, ev.Offsets, hosts)
				}
			}
		})
	}
}

// TestNATRecycleServer: generated NAT addresses (three hosts, per-pair
// offsets) to tcp_tw_recycle servers that drop the SYNs behind: critical
// findings for exactly the NAT addresses, with the evidence bounded.
func TestNATRecycleServer(t *testing.T) {
	path, st := natGenerate(t, synth.GenConfig{Packets: 150000, Clients: 100, Servers: 8, NATClients: 3,
		TS: synth.TSModel{Recycle: true}})
	if st.RecycleDrops == 0 {
		t.Fatal("test capture: no SYN dropped")
	}
	got := natRun(t, path)
	if len(got) != 3 {
		t.Fatalf("findings for %d addresses, want 3", len(got))
	}
	for ip, f := range got {
		ev := natEv(f)
		if f.Severity != SeverityCritical || ev.Unanswered == 0 || deref(ev.Clocks) != 3 {
			t.Errorf("%s: severity %s unanswered %d clocks %v, want critical >0 3", ip, f.Severity, ev.Unanswered, ev.Clocks)
		}
		if len(ev.SYNs) > natMaxSYNs || ev.SYNsTotal < len(ev.SYNs) || len(ev.Points) > natMaxPoints ||
			len(f.Frames) > natMaxFrames || len(ev.Servers) > natMaxServers || ev.ServersTotal < len(ev.Servers) {
			t.Errorf("%s: unbounded evidence: %d SYNs (total %d of %d), %d points, %d frames", ip,
				len(ev.SYNs), ev.SYNsTotal, ev.SYNsTotal, len(ev.Points), len(f.Frames))
		}
	}
}

// TestFitPair checks the clustering and the model on samples alone:
// connections that wrap around 2^32 stay on their clock, a connection
// that measured its own rate decides the rate, too few connections give
// no verdict, a clock shared by four-tuples open at once is per address
// pair, one clock per four-tuple is per connection, and a clock shared by
// public ports that one four-tuple's ISNs link is unknown.
func TestFitPair(t *testing.T) {
	sec := int64(time.Second)
	c := func(id int, port uint16, first, last uint32, firstAt, lastAt int64) stampConn {
		return stampConn{id: id, peerPort: 80, port: port, first: first, last: last,
			firstAt: firstAt, lastAt: lastAt, start: firstAt, end: lastAt, isn: uint32(id) * 1e8, next: uint32(id)*1e8 + 100, isnKnown: true}
	}
	// linked: the ISN of a later incarnation of one pre-NAT four-tuple.
	linked := func(sc stampConn, prev stampConn) stampConn {
		sc.isn = prev.isn + uint32(float64(sc.start-prev.start)/64)
		return sc
	}
	c1 := c(1, 1, 1000, 1010, 0, sec/100)
	tests := []struct {
		name    string
		conns   []stampConn
		offsets string
		lines   int
		rate    float64
	}{
		{"two connections", []stampConn{c(1, 1, 10, 20, 0, 10e6), c(2, 2, 9e8, 9e8, sec, sec)}, OffsetsUnknown, 2, 1000},
		{"one clock across the wrap", []stampConn{
			c(1, 1, 1<<32-500, 1<<32-400, 0, sec/10), c(2, 2, 500, 510, sec, sec+10e6), c(3, 3, 1500, 1510, 2*sec, 2*sec+10e6),
		}, OffsetsPerAddressPair, 1, 1000},
		{"rate from a long connection", []stampConn{
			// 10 Hz: a 100 s connection advances 1000 ticks; at 1000 Hz
			// the short ones, 30 s apart, would be 29,700 ticks off.
			c(1, 1, 5000, 6000, 0, 100*sec), c(2, 2, 5300, 5300, 30*sec, 30*sec), c(3, 3, 5600, 5600, 60*sec, 60*sec),
		}, OffsetsPerAddressPair, 1, 10},
		{"one clock per four-tuple", []stampConn{
			c(1, 1, 1e9, 1e9, 0, 0), c(2, 2, 3e9, 3e9, sec, sec), c(3, 3, 2e9, 2e9, 2*sec, 2*sec), c(4, 1, 1e9+3000, 1e9+3000, 3*sec, 3*sec),
		}, OffsetsPerConnection, 3, 1000},
		{"one four-tuple under three public ports", []stampConn{
			c1, linked(c(2, 2, 2000, 2010, sec, sec+sec/100), c1), linked(c(3, 3, 3000, 3010, 2*sec, 2*sec+sec/100), c1),
		}, OffsetsUnknown, 1, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit := fitPair(tt.conns)
			if fit.offsets != tt.offsets || fit.lines != tt.lines || fit.rate != tt.rate {
				t.Errorf("offsets %s lines %d rate %g, want %s %d %g", fit.offsets, fit.lines, fit.rate, tt.offsets, tt.lines, tt.rate)
			}
		})
	}
}

// A listed SYN stays narrow, and an address's list never holds room past
// natMaxSYNs: tens of thousands of addresses keep one each.
func TestNATSYNListBounded(t *testing.T) {
	if n := unsafe.Sizeof(natSYN{}); n > 64 {
		t.Errorf("natSYN is %d bytes, want at most 64", n)
	}
	var ip ipStamps
	for i := range natMaxSYNs {
		ip.listSYN(natSYN{conn: int32(i)})
	}
	if len(ip.syns) != natMaxSYNs || cap(ip.syns) != natMaxSYNs {
		t.Errorf("%d SYNs listed in a capacity of %d, want %d in %d", len(ip.syns), cap(ip.syns), natMaxSYNs, natMaxSYNs)
	}
	for i, s := range ip.syns {
		if s.conn != int32(i) {
			t.Fatalf("SYN %d is conn %d: the order seen is lost", i, s.conn)
		}
	}
}

// TestNATClockStoodStill: the default generated mix has hosts behind NAT
// addresses, each with its own clock per address pair, which the fit
// finds; written with every packet at the first one's time (a capture
// whose clock stood still, twscope-gen -frozen-clock) the same TSvals
// cannot be put on lines over time, so there is no NAT finding, and a
// warning says why, instead of one address of hosts for every client.
func TestNATClockStoodStill(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		var buf bytes.Buffer
		cfg := synth.GenConfig{Seed: 7, Packets: 60000, Clients: 300, FrozenClock: frozen}
		if _, err := synth.Generate(&buf, cfg); err != nil {
			t.Fatal(err)
		}
		res := twRunBytes(t, Options{Profile: Profiles["linux"]}, buf.Bytes())
		nat := len(twKind(res, KindNATTSRegression))
		warned := slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "clock stood still") })
		if frozen && (nat != 0 || !warned) {
			t.Errorf("frozen clock: %d nat_ts_regression findings, warned %v; want none and the warning", nat, warned)
		}
		if !frozen && (nat == 0 || warned) {
			t.Errorf("moving clock: %d nat_ts_regression findings, warned %v; want some and no warning", nat, warned)
		}
	}
}

func TestStoodStill(t *testing.T) {
	at := int64(1e9)
	conn := func(first, last uint32, firstAt, lastAt int64) stampConn {
		return stampConn{first: first, last: last, firstAt: firstAt, lastAt: lastAt}
	}
	cases := []struct {
		name  string
		conns []stampConn
		want  bool
	}{
		{"one connection", []stampConn{conn(1000, 900000, at, at)}, false},
		{"one time, TSvals apart", []stampConn{conn(1000, 1100, at, at), conn(900000, 900100, at, at)}, true},
		{"one time, TSvals across the wrap", []stampConn{conn(1<<32-1000, 1<<32-900, at, at), conn(900000, 900100, at, at)}, true},
		{"one time, one burst", []stampConn{conn(1000, 1100, at, at), conn(1200, 1300, at, at)}, false},
		{"time moves", []stampConn{conn(1000, 1100, at, at+1e8), conn(900000, 900100, at, at)}, false},
	}
	for _, c := range cases {
		g := make([]*stampConn, len(c.conns))
		for i := range c.conns {
			g[i] = &c.conns[i]
		}
		if got := stoodStill(g); got != c.want {
			t.Errorf("%s: stoodStill = %v, want %v", c.name, got, c.want)
		}
	}
}
