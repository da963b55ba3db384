package analyze

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// TestNATCorpus checks the detector on captures of real stacks and on the
// crafted lab capture. Lab captures: Linux 6.18 kernel traffic made for
// this project (see ../shared/corpus/README.md), taken on the server's
// interface; on that kernel every four-tuple has its own TSval offset, so
// a client's SYNs jump behind its previous connections' TSvals with no NAT.
func TestNATCorpus(t *testing.T) {
	tests := []struct {
		name, file, ip string
		severity       Severity
		offsets        string
		clocks         *int // nil: unknown (null)
		frames         []int
		tsvals         []uint32 // the listed SYNs' TSvals, in SYN order
		recycle        bool     // the exact tcp_tw_recycle rule applies to every listed SYN
	}{
		{
			// Two clients behind MASQUERADE; the truth's
			// tsval_went_backwards_between_consecutive_syns lists these ten
			// SYN TSvals. The server closes first, so it holds TIME_WAIT for
			// the connection that sent the newer TSval: the exact rule applies.
			name: "nat_timestamps", file: "lab/nat_timestamps.pcap", ip: "10.2.0.1",
			severity: SeverityInfo, offsets: OffsetsPerConnection, clocks: nil,
			frames: []int{51, 71, 101, 121, 151, 161, 171, 201, 221, 241},
			tsvals: []uint32{4095273605, 923374416, 3154625058, 1780147869, 3915607185,
				3225774779, 1727868661, 397469897, 3699593902, 3333332993},
			recycle: true,
		},
		{
			// One client, 20 connections, the client closes first: the
			// server never holds TIME_WAIT, so tcp_tw_recycle had no stamp.
			name: "client_close_first", file: "lab/client_close_first.pcap", ip: "10.1.1.2",
			severity: SeverityInfo, offsets: OffsetsPerConnection, clocks: nil,
			frames: []int{11, 31, 51, 61, 71, 91, 101, 111, 151, 171, 191},
			tsvals: []uint32{4054206078, 3814287619, 782731382, 104958612, 3509488186, 3015747208,
				1205276040, 3382431604, 3307125074, 2415851164, 1119863212},
			recycle: false,
		},
		{
			// As above but the server closes first and holds TIME_WAIT.
			name: "server_close_first", file: "lab/server_close_first.pcap", ip: "10.1.1.2",
			severity: SeverityInfo, offsets: OffsetsPerConnection, clocks: nil,
			frames: []int{21, 51, 71, 81, 91, 101, 111, 121, 131, 161, 181},
			tsvals: []uint32{4213381980, 4283483722, 507548391, 4051677621, 3455907924, 2631696245,
				713519462, 4183154648, 3516340311, 40297162, 488481141},
			recycle: true,
		},
		{
			// Written with scapy: the third of four SYNs from 10.1.1.2
			// carries TSval 120000 after the second connection's 500300..500303,
			// while the server holds TIME_WAIT for it. The other three lie on
			// one clock across three source ports: two clocks, per address pair.
			name: "crafted", file: "lab/crafted/syn_tsval_lower_than_previous.pcap", ip: "10.1.1.2",
			severity: SeverityWarning, offsets: OffsetsPerAddressPair, clocks: ptr(2),
			frames: []int{17}, tsvals: []uint32{120000}, recycle: true,
		},
		{
			// zeek/zeek testing/btest/Traces/ftp/ipv4.pcap, checked with
			// tshark: the FTP server 199.233.217.249 opens active-mode data
			// connections (frames 60 and 78) whose SYNs carry TSval 1, 56 ms
			// after its control connection (port 21) sent TSval 65 and 72.
			// Every connection of that stack starts its clock at 1 (its
			// clock ticks at 2 Hz): per connection, nothing to fix.
			name: "ftp-ipv4", file: "public/zeek_ftp-ipv4.pcap", ip: "199.233.217.249",
			severity: SeverityInfo, offsets: OffsetsPerConnection, clocks: nil,
			frames: []int{60, 78}, tsvals: []uint32{1, 1},
		},
		{
			// zeek/zeek testing/btest/Traces/ftp/ipv6.pcap, checked with
			// tshark: the same stack over IPv6, data SYNs at frames 94 and 117
			// with TSval 1 after the control connection's 36 and 45.
			name: "ftp-ipv6", file: "public/zeek_ftp-ipv6.pcap", ip: "2001:470:4867:99::21",
			severity: SeverityInfo, offsets: OffsetsPerConnection, clocks: nil,
			frames: []int{94, 117}, tsvals: []uint32{1, 1},
		},
		{
			// zeek/zeek testing/btest/Traces/irc-dcc-send.pcapng cut to 96
			// bytes a packet, checked with tshark: 10.0.0.22 serves IRC on
			// 6667 with a 1000 Hz clock near 3314.9 million, and connects
			// out twice to 10.0.0.7 (DCC, frames 60 and 1155, source ports
			// 43614 and 38016) with one 1000 Hz clock 591 million ticks lower
			// (2723763068, then 2723825053 61.98 s later). One clock shared
			// by two four-tuples and another one: per address pair, 2
			// clocks (e.g. a container's address pair behind the host's).
			name: "irc-dcc-send", file: "public/zeek_irc-dcc-send.s96.pcap", ip: "10.0.0.22",
			severity: SeverityWarning, offsets: OffsetsPerAddressPair, clocks: ptr(2),
			frames: []int{60, 1155}, tsvals: []uint32{2723763068, 2723825053},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := natRun(t, filepath.Join("..", "testdata", "corpus", tt.file))
			if len(got) != 1 {
				t.Fatalf("findings for %d IPs, want 1 (%s): %v", len(got), tt.ip, got)
			}
			f, ok := got[tt.ip]
			if !ok {
				t.Fatalf("no finding for %s: %v", tt.ip, got)
			}
			if f.Severity != tt.severity {
				t.Errorf("severity %s, want %s", f.Severity, tt.severity)
			}
			if o := natEv(f).Offsets; o != tt.offsets {
				t.Errorf("offsets %v, want %s", o, tt.offsets)
			}
			if c := natEv(f).Clocks; (c == nil) != (tt.clocks == nil) || deref(c) != deref(tt.clocks) {
				t.Errorf("clocks %v, want %v", c, tt.clocks) // pointers: nil or not is the point
			}
			if u := natEv(f).Unanswered; u != 0 {
				t.Errorf("unanswered %v, want 0 (every SYN got a SYN+ACK)", u)
			}
			if !slices.Equal(f.Frames, tt.frames) {
				t.Errorf("frames %v, want %v", f.Frames, tt.frames)
			}
			syns := natSYNs(f)
			if len(syns) != len(tt.tsvals) {
				t.Fatalf("%d SYNs, want %d", len(syns), len(tt.tsvals))
			}
			for i, s := range syns {
				if s.TSval == nil || *s.TSval != tt.tsvals[i] {
					t.Errorf("SYN %d (frame %d): tsval %v, want %d", i, s.Frame, s.TSval, tt.tsvals[i])
					continue
				}
				if s.Latest == nil || !serialBehind(*s.TSval, *s.Latest) || *s.Latest-*s.TSval != s.BehindBy {
					t.Errorf("SYN frame %d: tsval %d latest %v behind_by %d inconsistent", s.Frame, *s.TSval, s.Latest, s.BehindBy)
				}
				if !s.Behind || !s.Answered || s.Recycle != tt.recycle {
					t.Errorf("SYN frame %d: behind %v answered %v recycle %v, want true true %v",
						s.Frame, s.Behind, s.Answered, s.Recycle, tt.recycle)
				}
				if !slices.Contains(f.Conns, s.Conn) || !slices.Contains(f.Conns, s.LatestConn) {
					t.Errorf("conns %v miss SYN conn %d or latest conn %d", f.Conns, s.Conn, s.LatestConn)
				}
			}
		})
	}
}

// TestNATHostsBehindOneAddress: synthetic captures of hosts behind one NAT
// address, each with the single clock old Linux (4.11 to 5.x, or before
// with an uptime clock) keeps per address pair, connecting in turn every
// 200 ms from their own source ports; the server closes first. Each
// round, the first host's SYN is behind the last host's TSvals: the clocks
// must count the hosts. One host alone is one clock and no finding.
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
			// The SYNs behind: each round's first host after the last one,
			// whose clock is ahead (offsets 1e9, 2e9, 3e9 apart by 1e9-2e9).
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
			if len(want) != tt.rounds-1 {
				t.Fatalf("test capture: %d SYNs behind, meant %d", len(want), tt.rounds-1)
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
			if f.Severity != SeverityWarning {
				t.Errorf("severity %s, want warning (several hosts, nothing dropped)", f.Severity)
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
			// The plot points: every connection's TSval on its host's clock.
			pts := natEv(f).Points
			clockOf := map[uint32]int{}
			for _, p := range pts {
				if !p.SYN {
					continue
				}
				for i, s := range syns {
					if s.ts == p.TSval {
						if c, seen := clockOf[uint32(syns[i].host)]; seen && c != p.Clock {
							t.Errorf("host %d on clocks %d and %d", s.host, c, p.Clock)
						}
						clockOf[uint32(syns[i].host)] = p.Clock
					}
				}
			}
			if len(clockOf) != len(tt.clocks) {
				t.Errorf("plot points name %d host clocks, want %d", len(clockOf), len(tt.clocks))
			}
		})
	}
}

// TestNATUnansweredSYN: a synthetic capture where two hosts behind
// 203.0.113.9 alternate and the server (as Linux before 4.12 with
// tcp_tw_recycle=1 would) ignores the SYN whose TSval is behind: the
// client sends it again at 1 s and 3 s (TSval moving with its clock) and
// gives up. That is the failure happening: critical, unanswered 1. The
// control capture answers the same SYN: warning, unanswered 0.
func TestNATUnansweredSYN(t *testing.T) {
	for _, drop := range []bool{true, false} {
		t.Run(fmt.Sprintf("drop=%v", drop), func(t *testing.T) {
			a, b := natClock{1_000_000_000, 1000}, natClock{3_000_000_000, 1000}
			server := "198.51.100.10:80"
			path := twSynth(t, func(w *synth.Writer) error {
				for i, h := range []natClock{a, b, a, b} {
					if err := natConn(w, fmt.Sprintf("203.0.113.9:%d", 41000+i), server, uint32(7000+i), h.at(w), true); err != nil {
						return err
					}
					w.Advance(100 * time.Millisecond)
				}
				c := synth.NewEnd("203.0.113.9:42000", 9000, a.at(w))
				s := synth.NewEnd(server, 19000, 5)
				if !drop {
					c.TSStep, s.TSStep = 0, 0
					return w.Handshake(c, s, time.Millisecond)
				}
				if err := w.Send(c, s, synth.SYN, 0); err != nil {
					return err
				}
				for _, d := range []time.Duration{time.Second, 2 * time.Second} {
					w.Advance(d)
					c.TSval = a.at(w)
					if err := w.SendAt(c, s, synth.SYN, 9000, 0, 0); err != nil {
						return err
					}
				}
				return nil
			})
			f, ok := natRun(t, path)["203.0.113.9"]
			if !ok {
				t.Fatal("no finding for 203.0.113.9")
			}
			syns := natSYNs(f)
			last := syns[len(syns)-1]
			if last.Frame != 41 {
				t.Fatalf("last SYN listed is frame %d, want 41 (the fifth connection's)", last.Frame)
			}
			wantSev, wantUn, wantAgain := SeverityWarning, 0, 0
			if drop {
				wantSev, wantUn, wantAgain = SeverityCritical, 1, 2
			}
			if f.Severity != wantSev {
				t.Errorf("severity %s, want %s", f.Severity, wantSev)
			}
			if u := natEv(f).Unanswered; u != wantUn {
				t.Errorf("unanswered %v, want %d", u, wantUn)
			}
			if last.SentAgain != wantAgain || last.Answered == drop || !last.Recycle {
				t.Errorf("SYN frame 41: sent_again %d answered %v recycle %v, want %d %v true",
					last.SentAgain, last.Answered, last.Recycle, wantAgain, !drop)
			}
			if drop && !slices.Contains(f.Frames, 41) {
				t.Errorf("frames %v miss the dropped SYN 41", f.Frames)
			}
		})
	}
}

// TestNATPerConnectionOffsets: a synthetic capture of one modern client
// (no NAT) that draws a random TSval offset per four-tuple, as Linux 6.x
// does, making 8 connections 100 ms apart and closing first. Its SYNs
// are behind whenever the new offset is below the previous one: a finding
// of low severity that says the host count is unknown.
func TestNATPerConnectionOffsets(t *testing.T) {
	offsets := []uint32{3_500_000_000, 120_000_000, 2_900_000_000, 700_000_000,
		4_000_000_000, 1_500_000_000, 250_000_000, 3_100_000_000}
	var ts []uint32
	path := twSynth(t, func(w *synth.Writer) error {
		for i, off := range offsets {
			clk := natClock{off, 1000}
			ts = append(ts, clk.at(w))
			if err := natConn(w, fmt.Sprintf("192.0.2.7:%d", 50000+i), "198.51.100.10:443", uint32(100+i), ts[i], false); err != nil {
				return err
			}
			w.Advance(100 * time.Millisecond)
		}
		return nil
	})
	var want []uint32
	for i := 1; i < len(ts); i++ {
		if serialBehind(ts[i], ts[i-1]) {
			want = append(want, ts[i])
		}
	}
	f, ok := natRun(t, path)["192.0.2.7"]
	if !ok {
		t.Fatal("no finding for 192.0.2.7")
	}
	if o := natEv(f).Offsets; o != OffsetsPerConnection {
		t.Errorf("offsets %v, want per_connection", o)
	}
	if c := natEv(f).Clocks; c != nil {
		t.Errorf("clocks %v, want null (host count unknown)", c)
	}
	if f.Severity != SeverityInfo {
		t.Errorf("severity %s, want info", f.Severity)
	}
	var got []uint32
	for _, s := range natSYNs(f) {
		got = append(got, *s.TSval)
		if s.Recycle {
			t.Errorf("SYN frame %d: the client closed first, the server held no TIME_WAIT: recycle must be false", s.Frame)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("SYNs behind %v, want %v", got, want)
	}
}

// TestFitClocks checks the clustering on samples alone: connections that
// wrap around 2^32 stay on their clock, a connection that measured its own
// rate decides the rate, and too few connections give no verdict.
func TestFitClocks(t *testing.T) {
	peer := func(port uint16) addrPort16 {
		return packAddrPort(netip.AddrPortFrom(netip.MustParseAddr("198.51.100.10"), port))
	}
	sec := int64(time.Second)
	tests := []struct {
		name    string
		conns   []stampConn
		offsets string
		lines   int
		rate    float64
	}{
		{"two connections", []stampConn{
			{id: 1, peer: peer(80), port: 1, first: 10, last: 20, lastAt: 10e6},
			{id: 2, peer: peer(80), port: 2, first: 9e8, last: 9e8, firstAt: sec, lastAt: sec},
		}, OffsetsUnknown, 2, 1000},
		{"one clock across the wrap", []stampConn{
			{id: 1, peer: peer(80), port: 1, first: 1<<32 - 500, last: 1<<32 - 400, lastAt: sec / 10},
			{id: 2, peer: peer(80), port: 2, first: 500, last: 510, firstAt: sec, lastAt: sec + 10e6},
			{id: 3, peer: peer(80), port: 3, first: 1500, last: 1510, firstAt: 2 * sec, lastAt: 2*sec + 10e6},
		}, OffsetsPerAddressPair, 1, 1000},
		{"rate from a long connection", []stampConn{
			// 10 Hz: a 100 s connection advances 1000 ticks; at 1000 Hz
			// the short ones, 30 s apart, would be 29,700 ticks off.
			{id: 1, peer: peer(80), port: 1, first: 5000, last: 6000, lastAt: 100 * sec},
			{id: 2, peer: peer(80), port: 2, first: 5300, last: 5300, firstAt: 30 * sec, lastAt: 30 * sec},
			{id: 3, peer: peer(80), port: 3, first: 5600, last: 5600, firstAt: 60 * sec, lastAt: 60 * sec},
		}, OffsetsPerAddressPair, 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit := fitClocks(tt.conns)
			if fit.offsets != tt.offsets || fit.lines != tt.lines || fit.rate != tt.rate {
				t.Errorf("offsets %s lines %d rate %g, want %s %d %g", fit.offsets, fit.lines, fit.rate, tt.offsets, tt.lines, tt.rate)
			}
		})
	}
}
