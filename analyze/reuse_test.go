package analyze

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// reuseRun analyzes captures through the real pipeline (reassembly.Open,
// Run) under a profile, and returns the result and a copy of every record.
func reuseRun(t *testing.T, profile string, files ...string) (*Result, []reassembly.Record) {
	t.Helper()
	p, err := LookupProfile(profile, 0)
	if err != nil {
		t.Fatal(err)
	}
	var recs []reassembly.Record
	res := twAnalyze(t, Options{Profile: p}, func(r *reassembly.Record) { recs = append(recs, *r) }, files, nil)
	return res, recs
}

// synthConn writes a whole connection: handshake, one request and
// response, and a FIN close started by the client or the server.
func synthConn(w *synth.Writer, c, s *synth.End, clientCloses bool) error {
	ms := time.Millisecond
	if err := w.Handshake(c, s, ms); err != nil {
		return err
	}
	if err := w.Exchange(c, s, 100, 1000, ms); err != nil {
		return err
	}
	if clientCloses {
		return w.Close(c, s, ms)
	}
	return w.Close(s, c, ms)
}

func near(g, want float64) bool {
	return math.Abs(g-want) < 1e-3
}

const (
	synthClient = "10.0.0.1:40000"
	synthServer = "10.0.0.2:8080"
)

// TestTupleReuseCorpus checks the reuses in captures of the Linux 6.18
// lab (see testdata/README.md) and that public traces with repeated SYNs
// on one four-tuple give none.
func TestTupleReuseCorpus(t *testing.T) {
	type want struct {
		conns     []int
		gap       float64 // the truth's secs_since_prev_close
		mechanism string
		holder    string
		reuse     string
		severity  Severity
	}
	tests := []struct {
		name  string
		file  string
		count int
		check []want // findings checked in full, by the conns they name
	}{
		{
			// Client port range of two ports, tcp_tw_reuse=1: each port is
			// reused ~1 s after its close; the client's new ISN is its old
			// final sequence + 65537 (truth isn_minus_prev_final_seq).
			name: "tcp_tw_reuse", file: "lab/fast_port_reuse_tw_reuse.pcap", count: 10,
			check: []want{
				{[]int{1, 3}, 1.001908, mechTWReuse, "client", "outbound", SeverityInfo},
				{[]int{10, 12}, 1.005980, mechTWReuse, "client", "outbound", SeverityInfo},
			},
		},
		{
			// The server closes first and accepts the client's SYN 50 ms
			// later from TIME_WAIT: its SYN+ACK is at old final + 65537.
			name: "server TIME_WAIT accepts SYN", file: "lab/server_side_tw_reuse_syn.pcap", count: 9,
			check: []want{
				{[]int{1, 2}, 0.050364, mechSYNAccept, "server", "inbound", SeverityInfo},
				{[]int{9, 10}, 0.050326, mechSYNAccept, "server", "inbound", SeverityInfo},
			},
		},
		{
			// One case of each after a 150 MiB transfer (TSO super-segments).
			name: "seq overlap incarnations", file: "lab/seq_overlap_incarnations.pcap.gz", count: 2,
			check: []want{
				{[]int{1, 2}, 1.001684, mechTWReuse, "client", "outbound", SeverityInfo},
				{[]int{3, 4}, 0.010391, mechSYNAccept, "server", "inbound", SeverityInfo},
			},
		},
		{
			// Crafted with scapy: reuse 50 ms after a server close, and one
			// old segment replayed in the new incarnation: critical.
			name: "old duplicate seen", file: "lab/crafted/old_duplicate_in_new_window.pcap.gz", count: 1,
			check: []want{{[]int{1, 2}, 0.050200, mechSYNAccept, "server", "inbound", SeverityCritical}},
		},
		// SO_LINGER 0 closes, each on a new client port: no four-tuple reuse.
		{name: "abortive closes, no reuse", file: "lab/abortive_close_linger0.pcap"},
		// Frames 1-3: SYN (Seq=1111), bare RST from the server, SYN with a
		// new ISN (3333) 1.5 ms later that connects. The first attempt was
		// refused, never connected: nothing of it can come back as an old
		// duplicate, so it is not a reuse finding.
		{name: "SYN refused then new SYN", file: "public/suricata-verify_bug-3844.pcap"},
		// 24 SYNs from 100.73.5.8:45511 every ~160 ms with new ISNs (a scan
		// with Win=512, plus one real SYN sent three times), none answered
		// but the last: no incarnation before the last was ever closed.
		{name: "SYN scan on one port", file: "public/suricata-verify_bug-7657-01.pcap"},
		// The same SYN (Seq=3145310914) sent three times, each refused by
		// RST+ACK: one attempt, not reuse.
		{name: "same SYN after RST", file: "public/zeek_pop3.pcap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := reuseRun(t, "linux", filepath.Join("..", "testdata", "corpus", tt.file))
			got := twKind(res, KindTupleReuse)
			if len(got) != tt.count {
				t.Fatalf("%d tuple_reuse findings, want %d: %+v", len(got), tt.count, got)
			}
			for _, w := range tt.check {
				i := slices.IndexFunc(got, func(f Finding) bool { return slices.Equal(f.Conns, w.conns) })
				if i < 0 {
					t.Fatalf("no finding about conns %v", w.conns)
				}
				f := got[i]
				ev := evidenceOf[*TupleReuseEvidence](t, f)
				if !near(ev.GapS, w.gap) || ev.LimitS != 60.0 || ev.Mechanism != w.mechanism ||
					ev.Holder != w.holder || ev.Reuse != w.reuse || f.Severity != w.severity {
					t.Errorf("conns %v: severity %s evidence %+v, want gap %v limit 60 %s holder %s %s %s",
						w.conns, f.Severity, ev, w.gap, w.mechanism, w.holder, w.reuse, w.severity)
				}
				if !slices.Contains(ev.ProtectedBy, "timestamps") {
					t.Errorf("conns %v: protected_by %v, want timestamps", w.conns, ev.ProtectedBy)
				}
				if len(f.Frames) < 3 || f.Filter == "" {
					t.Errorf("conns %v: frames %v filter %q, want the old close, SYN and SYN+ACK", w.conns, f.Frames, f.Filter)
				}
			}
		})
	}
}

// TestTupleReuseSynthetic covers what the lab corpus lacks. Every capture
// is written with package synth: client 10.0.0.1:40000, server
// 10.0.0.2:8080, a handshake, 100 bytes up and 1000 down, and a FIN close,
// then the same four-tuple again after the gap.
func TestTupleReuseSynthetic(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		build   func(w *synth.Writer) error
		gap     float64 // reuse gap the tracker must see, in s
		want    bool
		mech    string
		holder  string
		sev     Severity
		swapped bool
	}{
		{
			// The client closes; 61 s later the same client port connects
			// again with an unrelated ISN: past Linux's 60 s TIME_WAIT.
			name: "reuse past the window", profile: "linux", gap: 61.001,
			build: func(w *synth.Writer) error {
				if err := synthConn(w, synth.NewEnd(synthClient, 1000, 100), synth.NewEnd(synthServer, 5000, 900), true); err != nil {
					return err
				}
				w.Advance(61 * time.Second)
				return synthConn(w, synth.NewEnd(synthClient, 90000000, 61200), synth.NewEnd(synthServer, 70000000, 62000), true)
			},
		},
		{
			// The same 90 s gap judged by Windows' 120 s TIME_WAIT ...
			name: "90 s under windows", profile: "windows", gap: 90.001, want: true,
			mech: mechOther, holder: "client", sev: SeverityInfo,
			build: reuseAfter(90 * time.Second),
		},
		{
			// ... and by Linux' 60 s.
			name: "90 s under linux", profile: "linux", gap: 90.001,
			build: reuseAfter(90 * time.Second),
		},
		{
			// SO_LINGER 0: the client's RST+ACK ends the first connection,
			// and 100 ms later the port connects again with a lower ISN.
			name: "after RST", profile: "linux", gap: 0.100, want: true,
			mech: mechAfterRST, holder: "none", sev: SeverityWarning,
			build: func(w *synth.Writer) error {
				c, s := synth.NewEnd(synthClient, 1000000, 100), synth.NewEnd(synthServer, 5000, 900)
				if err := w.Handshake(c, s, time.Millisecond); err != nil {
					return err
				}
				if err := w.Exchange(c, s, 100, 1000, time.Millisecond); err != nil {
					return err
				}
				if err := w.Send(c, s, synth.RST|synth.ACK, 0); err != nil {
					return err
				}
				w.Advance(100 * time.Millisecond)
				return synthConn(w, synth.NewEnd(synthClient, 1000, 300), synth.NewEnd(synthServer, 7000000, 1000), true)
			},
		},
		{
			// tcp_tw_reuse without timestamps: the client's new ISN is its
			// old final sequence (1000+1+100+1) + 65537, no TS option.
			name: "tw_reuse without timestamps", profile: "linux", gap: 1.001, want: true,
			mech: mechTWReuse, holder: "client", sev: SeverityWarning,
			build: func(w *synth.Writer) error {
				c, s := synth.NewEnd(synthClient, 1000, 0), synth.NewEnd(synthServer, 5000, 0)
				c.NoTS, s.NoTS = true, true
				if err := synthConn(w, c, s, true); err != nil {
					return err
				}
				w.Advance(time.Second)
				c2, s2 := synth.NewEnd(synthClient, 1102+65537, 0), synth.NewEnd(synthServer, 9000000, 0)
				c2.NoTS, s2.NoTS = true, true
				return synthConn(w, c2, s2, true)
			},
		},
		{
			// Roles turn round: the server closes first (it holds
			// TIME_WAIT), then connects from 10.0.0.2:8080 back to
			// 10.0.0.1:40000 at its old final sequence (5000+1+1000+1) +
			// 65537: outbound tcp_tw_reuse by the old server.
			name: "roles turned round", profile: "linux", gap: 1.001, want: true,
			mech: mechTWReuse, holder: "server", sev: SeverityInfo, swapped: true,
			build: func(w *synth.Writer) error {
				if err := synthConn(w, synth.NewEnd(synthClient, 1000, 100), synth.NewEnd(synthServer, 5000, 900), false); err != nil {
					return err
				}
				w.Advance(time.Second)
				return synthConn(w, synth.NewEnd(synthServer, 6002+65537, 2000), synth.NewEnd(synthClient, 3000000, 1200), true)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, recs := reuseRun(t, tt.profile, twSynth(t, tt.build))
			if len(recs) != 2 || !recs[1].HasPrev || math.Abs(Seconds(recs[1].ReuseGap)-tt.gap) > 1e-3 {
				t.Fatalf("tracker: %d records, second HasPrev %v gap %v s, want 2 records and a %v s gap",
					len(recs), len(recs) > 1 && recs[1].HasPrev, Seconds(recs[len(recs)-1].ReuseGap), tt.gap)
			}
			got := twKind(res, KindTupleReuse)
			if !tt.want {
				if len(got) != 0 {
					t.Fatalf("unexpected finding: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d findings, want 1", len(got))
			}
			f := got[0]
			ev := evidenceOf[*TupleReuseEvidence](t, f)
			limit := Profiles[tt.profile].TimeWait.Seconds()
			if !slices.Equal(f.Conns, []int{1, 2}) || f.Severity != tt.sev || !near(ev.GapS, tt.gap) ||
				ev.LimitS != limit || ev.Mechanism != tt.mech || ev.Holder != tt.holder ||
				ev.RolesSwapped != tt.swapped {
				t.Errorf("got conns %v severity %s evidence %+v", f.Conns, f.Severity, ev)
			}
		})
	}
}

// reuseAfter writes a client-closed connection and, gap after its final
// ACK, a new one whose ISNs and TSvals are all past the old ones: a reuse
// protected by both timestamps and ISNs, by no kernel fingerprint.
func reuseAfter(gap time.Duration) func(w *synth.Writer) error {
	return func(w *synth.Writer) error {
		if err := synthConn(w, synth.NewEnd(synthClient, 1000, 100), synth.NewEnd(synthServer, 5000, 900), true); err != nil {
			return err
		}
		w.Advance(gap)
		return synthConn(w, synth.NewEnd(synthClient, 90000000, 90100), synth.NewEnd(synthServer, 70000000, 90900), true)
	}
}
