package analyze

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly"
)

// qa is a capture of real servers made for the QA of twscope
// (testdata/README.md says how each was made).
func qa(name string) string { return filepath.Join("..", "testdata", "qa", name) }

// TestQACaptures checks the close facts of real Linux 6.18 traffic
// (nginx, redis, postgres on loopback; nginx behind a NAT in network
// namespaces; provoked final-ACK losses, RSTs, SO_LINGER 0, packet loss
// with SACK, zero windows, keep-alive probes, a capture begun
// mid-connection, snaplens of 60 to 128 bytes) against what tshark shows
// of the same packets: the first FIN of each tcp.stream and whether its
// sender's peer acknowledged the other FIN. Every segment is one the
// receiver accepted (the stacks went on with them), so none is suspect;
// per-connection timestamp offsets (Linux 6.x) are no NAT finding.
func TestQACaptures(t *testing.T) {
	for _, tc := range []struct {
		file                  string
		conns, partial        int
		byCloser, byKind      string // "side:n ..." sorted
		findings              string // "kind/severity:n ..." sorted
		suspect, natAddresses int
		cause                 Cause
	}{
		// 20 HTTP/1.0 requests (nginx closes), curl keep-alive, wrk's 5
		// connections, a 20 MB download (64 KB TSO super-segments), a
		// keep-alive connection nginx closes after its 5 s timeout.
		{"nginx-lo-s96.pcap.gz", 28, 0, "client:7 server:21", "fin:28", "", 0, 1, CauseServerCloses},
		{"redis-lo.pcap.gz", 220, 0, "client:220", "fin:220", "", 0, 1, CauseClientCloses},
		// pgbench -C: the client sends Terminate and closes; the server
		// wins the race 3 times.
		{"pgbench-C.pcap.gz", 101, 0, "client:98 server:3", "fin:101", "", 0, 1, CauseClientCloses},
		// Two hosts behind one MASQUERADE address, tcp_timestamps=1 (an
		// offset per four-tuple), one four-tuple used twice 0.3 s apart:
		// the server accepted the SYN in TIME_WAIT (ISN = old + 65537).
		{"nat-ts1.pcap.gz", 27, 0, "client:2 server:25", "fin:27", "tuple_reuse/info:1", 0, 1, CauseServerCloses},
		// tcp_timestamps=2 on both (no offset: one kernel clock), and a
		// four-tuple the server still held from nat-ts1 (challenge ACK).
		{"nat-ts2.pcap.gz", 27, 0, "client:2 server:25", "fin:27", "tuple_reuse/info:1", 0, 0, CauseServerCloses},
		// One host with tcp_timestamps=1, the other with 0.
		{"nat-tsmix.pcap.gz", 27, 0, "client:2 server:25", "fin:27", "tuple_reuse/info:1", 0, 1, CauseServerCloses},
		// The server's pure ACKs dropped at the client for 0.6 s: three
		// final ACKs lost after the capture point, FINs resent 208 ms
		// later, ACKed again from TIME_WAIT, or (tcp_max_tw_buckets=0)
		// answered by RST.
		{"lostack-reack.pcap.gz", 8, 0, "server:8", "fin:8", "lost_final_ack/info:3", 0, 1, CauseServerCloses},
		{"lostack-rst-twbuckets0.pcap.gz", 8, 0, "server:8", "fin:8", "final_ack_rst/critical:3", 0, 1, CauseFinalAckRST},
		// 10% of the server's data segments dropped behind the capture
		// point (SACK, retransmissions, D-SACK), zero windows of a slow
		// reader, keep-alive probes, a connection begun before the capture
		// (whose close was a race: the client's close() after its first
		// read, and nginx's after the response; frames 277 and 321).
		{"hard-loss10-s60.pcap.gz", 4, 1, "client:3 server:1", "fin:4", "", 0, 0, CauseClientCloses},
		{"hard-loss10-nat-s96.pcap.gz", 4, 1, "client:2 server:2", "fin:4", "", 0, 0, CauseServerCloses}, // a tie: the server first
		// Begun 0.4 s into a 30 MB download (no handshake: window scale
		// unknown), 5% of the data dropped behind the capture point,
		// curl --limit-rate 20M (zero windows, window updates).
		{"midbulk-s96.pcap.gz", 1, 1, "client:1", "fin:1", "", 0, 0, CauseClientCloses},
		// Closes with unread data, SO_LINGER 0, connections refused.
		{"rst-s128.pcap.gz", 8, 0, "none:8", "rst:8", "", 0, 1, CauseAbortiveCloses},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := twRun(t, Options{}, qa(tc.file))
			if res.Totals.Connections != tc.conns || res.Totals.Partial != tc.partial {
				t.Errorf("%d connections (%d partial), want %d (%d)", res.Totals.Connections, res.Totals.Partial, tc.conns, tc.partial)
			}
			if got := counts(res.Closes.ByCloser); got != tc.byCloser {
				t.Errorf("by closer %q, want %q", got, tc.byCloser)
			}
			if got := counts(res.Closes.ByKind); got != tc.byKind {
				t.Errorf("by kind %q, want %q", got, tc.byKind)
			}
			var fs []string
			for _, c := range res.Counts() {
				fs = append(fs, fmt.Sprintf("%s/%s:%d", c.Kind, c.Severity, c.Count))
			}
			sort.Strings(fs)
			if got := strings.Join(fs, " "); got != tc.findings {
				t.Errorf("findings %q, want %q", got, tc.findings)
			}
			if res.Totals.Suspect != tc.suspect {
				t.Errorf("%d suspect segments, want %d", res.Totals.Suspect, tc.suspect)
			}
			if n := natAddresses(res); n != tc.natAddresses {
				t.Errorf("%d addresses with SYNs behind under per-connection offsets, want %d", n, tc.natAddresses)
			}
			if res.Verdict.Cause != tc.cause {
				t.Errorf("cause %s, want %s", res.Verdict.Cause, tc.cause)
			}
		})
	}
}

// counts renders a count map as sorted "key:n" words, zeros left out.
func counts(m map[string]int) string {
	var w []string
	for k, n := range m {
		if n > 0 {
			w = append(w, fmt.Sprintf("%s:%d", k, n))
		}
	}
	sort.Strings(w)
	return strings.Join(w, " ")
}

// TestQAFinalAck: the frames tshark shows for the provoked losses: the
// server's FIN, the client's FIN, the server's final ACK (dropped behind
// the capture point), the client's FIN again 208 ms later, and the
// server's answer: an ACK from TIME_WAIT, or with tcp_max_tw_buckets=0 a
// bare RST (no TIME_WAIT socket).
func TestQAFinalAck(t *testing.T) {
	for _, tc := range []struct {
		file, kind, next string
		filters          []string
	}{
		{"lostack-reack.pcap.gz", KindLostFinalAck, "reack", []string{"frame.number in {38..40,61,62}", "frame.number in {48..50,63,64}", "frame.number in {58..60,65,66}"}},
		{"lostack-rst-twbuckets0.pcap.gz", KindFinalAckRST, "rst", []string{"frame.number in {38..40,61,62}", "frame.number in {48..50,63,64}", "frame.number in {58..60,65,66}"}},
	} {
		res := twRun(t, Options{}, qa(tc.file))
		fs := twKind(res, tc.kind)
		if len(fs) != len(tc.filters) {
			t.Fatalf("%s: %d %s, want %d", tc.file, len(fs), tc.kind, len(tc.filters))
		}
		for i, f := range fs {
			ev := evidenceOf[*FinalAckEvidence](t, f)
			if f.Filter != tc.filters[i] || ev.Next != tc.next || ev.CapturePoint != "before_loss" || ev.Active != "server" {
				t.Errorf("%s: %s next %s capture point %s active %s", tc.file, f.Filter, ev.Next, ev.CapturePoint, ev.Active)
			}
		}
	}
}

// TestQAChallengeACK: in nat-ts2 the SYN of 10.9.0.254:40001 (frame 241,
// TSval 4644194 without offset) came to a four-tuple the server still
// held in TIME_WAIT from nat-ts1, whose last TSval (with its offset) was
// far ahead: PAWS refused it, the server answered with an ACK of the old
// state (frame 242, RFC 5961 4), the client reset it (243) and sent the
// same SYN again (244), which was accepted. One connection attempt; the
// RST is not its close.
func TestQAChallengeACK(t *testing.T) {
	var got []*reassembly.Record
	twAnalyze(t, Options{}, func(r *reassembly.Record) {
		if r.FirstFrame.N == 241 {
			c := *r
			got = append(got, &c)
		}
	}, []string{qa("nat-ts2.pcap.gz")}, nil)
	if len(got) != 1 {
		t.Fatalf("%d records starting at frame 241", len(got))
	}
	r := got[0]
	if !r.StaleState.Seen() || r.StaleState.ChallengeACK.Frame.N != 242 || r.StaleState.RST.Frame.N != 243 || !r.StaleState.SYNAgain {
		t.Errorf("stale state %+v", r.StaleState)
	}
	if r.Close != reassembly.CloseFIN || r.Closer != reassembly.SideServer || r.TimeWaitHolder != reassembly.SideServer || r.RSTBy != reassembly.SideNone {
		t.Errorf("close %s closer %s holder %s rst by %s, want fin server server none", r.Close, r.Closer, r.TimeWaitHolder, r.RSTBy)
	}
}

// TestQASharedAddress: on loopback every client is the server's address
// too. The host's TIME_WAIT table holds both roles' sockets, so the
// clients' part of the verdict names that host (it used to name none,
// with a peak of 0), says the peak counts both roles and claims no share
// of the port range.
func TestQASharedAddress(t *testing.T) {
	for _, tc := range []struct {
		file        string
		sides, peak int
	}{
		{"nginx-lo-s96.pcap.gz", 2, 28},
		{"pgbench-C.pcap.gz", 2, 101},
		{"redis-lo.pcap.gz", 1, 220},
	} {
		v := twRun(t, Options{}, qa(tc.file)).Verdict
		if len(v.Sides) != tc.sides {
			t.Fatalf("%s: %d sides, want %d", tc.file, len(v.Sides), tc.sides)
		}
		for _, sd := range v.Sides {
			if sd.PeakHost != "127.0.0.1" || sd.Peak != tc.peak || sd.PeakAt == nil || !sd.PeakShared {
				t.Errorf("%s: side %+v, want 127.0.0.1 with %d, shared", tc.file, sd, tc.peak)
			}
		}
	}
	// Clients on their own addresses are not shared.
	for _, sd := range twRun(t, Options{}, qa("nat-ts1.pcap.gz")).Verdict.Sides {
		if sd.PeakShared || sd.PeakHost == "" {
			t.Errorf("nat-ts1: side %+v", sd)
		}
	}
}

// natAddresses is the count of addresses in the per-connection summary line.
func natAddresses(res *Result) int {
	if res.NATTimestamps == nil {
		return 0
	}
	return res.NATTimestamps.Addresses
}

// TestQASuspectWhy: the summary gives the rule that refused the segment.
// In suricata-verify bug-3844 the server answers the SYN with a bare RST
// (no ACK flag, frame 2): RFC 9293 3.10.7.3 drops it in SYN-SENT whatever
// its ACK field holds (here 1112, the SYN's ISN + 1, which a summary that
// compared the number called "not in what the peer sent (up to 1112)").
func TestQASuspectWhy(t *testing.T) {
	res := twRun(t, Options{}, filepath.Join("..", "testdata", "corpus", "public", "suricata-verify_bug-3844.pcap"))
	fs := twKind(res, KindSuspectSegment)
	if len(fs) != 1 || fs[0].Frames[0] != 2 {
		t.Fatalf("suspect findings %+v", fs)
	}
	if want := "a RST without the ACK flag answering a SYN"; !strings.Contains(fs[0].Summary, want) {
		t.Errorf("summary %q does not say %q", fs[0].Summary, want)
	}
}

// TestQAPortsAndCloseWait: c2's ip_local_port_range set to 40000-40099
// and 110 curl requests (curl closes first: 100 ports in TIME_WAIT, and
// the last 10 connect() calls failed with EADDRNOTAVAIL, so no SYN of
// theirs is in the capture), after 12 connections to a server that reads
// and never closes (CLOSE_WAIT; tshark: the clients' FINs are frames 6,
// 13, ... 83, each ACKed).
func TestQAPortsAndCloseWait(t *testing.T) {
	res := twRun(t, Options{PortRange: [2]int{40000, 40099}}, qa("ports-closewait-s128.pcap.gz"))
	if res.Totals.Connections != 112 || res.Verdict.Cause != CausePortExhaustion || res.Verdict.Severity != SeverityCritical {
		t.Errorf("%d connections, cause %s %s", res.Totals.Connections, res.Verdict.Cause, res.Verdict.Severity)
	}
	pp := twKind(res, KindPortPressure)
	if len(pp) != 1 {
		t.Fatalf("%d port_pressure", len(pp))
	}
	ev := evidenceOf[*PortPressureEvidence](t, pp[0])
	if pp[0].Severity != SeverityCritical || ev.Peak != 100 || ev.Fraction != 1 || ev.ClientIP != "10.9.0.254" {
		t.Errorf("port_pressure %s peak %d fraction %v client %s", pp[0].Severity, ev.Peak, ev.Fraction, ev.ClientIP)
	}
	cw := twKind(res, KindCloseWait)
	if len(cw) != 1 {
		t.Fatalf("%d close_wait", len(cw))
	}
	cev := evidenceOf[*CloseWaitEvidence](t, cw[0])
	if want := []int{6, 13, 20, 27, 34, 41, 48, 55, 62, 69, 76, 83}; cev.Count != 12 || cev.StuckSide != "server" || fmt.Sprint(cev.FINFrames) != fmt.Sprint(want) {
		t.Errorf("close_wait count %d stuck %s fin frames %v", cev.Count, cev.StuckSide, cev.FINFrames)
	}
}

// TestQATWReuse: c2 with net.ipv4.tcp_tw_reuse=1, timestamps on and a
// port range of 40000-40009 (connect() took the four odd ports it could),
// 24 curl requests: after the first four, each port came back 1.05-1.21 s
// after its TIME_WAIT began (Linux waits 1 s), with the client's ISN at
// its old next sequence + 65537 (tshark: frame 41's 2222553793 =
// 2222488256 + 65537, the final sequence of the connection of frame 11).
func TestQATWReuse(t *testing.T) {
	res := twRun(t, Options{}, qa("twreuse-s128.pcap.gz"))
	fs := twKind(res, KindTupleReuse)
	if res.Totals.Connections != 12 || len(fs) != 8 {
		t.Fatalf("%d connections, %d tuple_reuse", res.Totals.Connections, len(fs))
	}
	for _, f := range fs {
		ev := evidenceOf[*TupleReuseEvidence](t, f)
		if f.Severity != SeverityInfo || ev.Mechanism != "tw_reuse" || ev.Holder != "client" || ev.GapS < 1 || ev.GapS > 1.25 {
			t.Errorf("%s: %s mechanism %s holder %s gap %v", f.Filter, f.Severity, ev.Mechanism, ev.Holder, ev.GapS)
		}
	}
}

// TestQAFinalAckAfterLoss: the client (the active closer: curl closes
// first) had its pure ACKs dropped in the NAT for 0.7 s, so its final ACKs
// never reached the server's capture. nginx sent its FIN again at about
// 206 ms, 414 ms and 830 ms (tshark: frames 25, 27, 29 for port 39606);
// the ACKs of the first two were dropped too, and the re-ACK the capture
// holds (frame 30) answers the third. The summary must not tie it to the
// first resend. With tcp_max_tw_buckets=0 on the client, its RSTs answer
// the first resend (frames 58 and 60).
func TestQAFinalAckAfterLoss(t *testing.T) {
	res := twRun(t, Options{}, qa("lostack-after-s128.pcap.gz"))
	lost, rst := twKind(res, KindLostFinalAck), twKind(res, KindFinalAckRST)
	if len(lost) != 2 || len(rst) != 2 {
		t.Fatalf("%d lost_final_ack, %d final_ack_rst, want 2 and 2", len(lost), len(rst))
	}
	for i, want := range []string{"frame 25; twice more after that", "frame 26; twice more after that"} {
		ev := evidenceOf[*FinalAckEvidence](t, lost[i])
		if !strings.Contains(lost[i].Summary, want) || !strings.Contains(lost[i].Summary, "after the first resend") ||
			ev.CapturePoint != "after_loss" || ev.Next != "reack" || ev.FINRetransmits != 3 || ev.Active != "client" {
			t.Errorf("%s: %q (capture point %s, next %s, %d resends)", lost[i].Filter, lost[i].Summary, ev.CapturePoint, ev.Next, ev.FINRetransmits)
		}
	}
	for i, want := range []string{"frame.number in {48,49,57,58}", "frame.number in {55,56,59,60}"} {
		ev := evidenceOf[*FinalAckEvidence](t, rst[i])
		if rst[i].Filter != want || rst[i].Severity != SeverityCritical || ev.FINRetransmits != 1 || strings.Contains(rst[i].Summary, "more after that") {
			t.Errorf("%s: %s %q", rst[i].Filter, rst[i].Severity, rst[i].Summary)
		}
	}
}
