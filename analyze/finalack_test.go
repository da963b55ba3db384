package analyze

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

func lab(name string) string { return filepath.Join("..", "testdata", "corpus", "lab", name) }

// TestFinalAckCorpus checks lost final ACKs in the Linux 6.18 lab
// captures and in public traces (testdata/README.md).
func TestFinalAckCorpus(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		kind     string
		count    int
		severity Severity
		point    string
		next     string
		frames   []int // of the first finding
	}{
		// Captured on the server: the client's final ACK was dropped
		// between client and server, so it is not in the capture. Frames
		// 8 client FIN, 9 server FIN, 91 server FIN again, 92 re-ACK.
		{"server side, re-ACK", "lost_final_ack.pcap", KindLostFinalAck, 10, SeverityInfo, captureAfterLoss, nextReAck, []int{8, 9, 91, 92}},
		// The same traffic on the client's interface: frame 10 is the
		// final ACK the client sent, lost after this capture point.
		{"client side, re-ACK", "lost_final_ack.c1-eth0.pcap", KindLostFinalAck, 10, SeverityInfo, captureBeforeLoss, nextReAck, []int{8, 9, 10, 101, 102}},
		// tcp_max_tw_buckets=0 on the client: the resent FIN (91) gets a
		// bare RST (92) well within TIME_WAIT: critical.
		{"bucket overflow RST", "tw_bucket_overflow_rst.pcap", KindFinalAckRST, 10, SeverityCritical, captureAfterLoss, nextRST, []int{8, 9, 91, 92}},
		// scapy: the final ACK (9) is in the capture, the server's FIN
		// comes again (10) and is re-ACKed (11).
		{"crafted after final ACK", "crafted/fin_retransmitted_after_final_ack.pcap", KindLostFinalAck, 1, SeverityInfo, captureBeforeLoss, nextReAck, []int{7, 8, 9, 10, 11}},
		// Normal closes: no FIN is sent again.
		{"client closes first", "client_close_first.pcap", KindLostFinalAck, 0, "", "", "", nil},
		{"simultaneous close", "simultaneous_close.pcap", KindLostFinalAck, 0, "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := twRun(t, Options{}, lab(tt.file))
			got := twKind(res, tt.kind)
			other := KindFinalAckRST
			if tt.kind == KindFinalAckRST {
				other = KindLostFinalAck
			}
			if n := len(twKind(res, other)); n != 0 {
				t.Errorf("%d %s findings, want none", n, other)
			}
			if len(got) != tt.count {
				t.Fatalf("%d %s findings, want %d", len(got), tt.kind, tt.count)
			}
			if tt.count == 0 {
				return
			}
			for _, f := range got {
				ev := evidenceOf[*FinalAckEvidence](t, f)
				if f.Severity != tt.severity || ev.CapturePoint != tt.point || ev.Next != tt.next {
					t.Errorf("conn %v: severity %s capture_point %v next %v, want %s %s %s",
						f.Conns, f.Severity, ev.CapturePoint, ev.Next, tt.severity, tt.point, tt.next)
				}
				if len(f.Conns) != 1 || f.Filter == "" || f.Summary == "" || f.Advice == "" {
					t.Errorf("incomplete finding %+v", f)
				}
				// A veth round trip of tens of microseconds: the hosts'
				// own turnaround is as large as the path, so the
				// handshake measures a round trip but no position.
				if ev.RTTS == nil || deref(ev.RTTS) > 0.001 || ev.CapturePosition != "unknown" {
					t.Errorf("conn %v: rtt_s %v position %s, want below 1 ms and unknown", f.Conns, deref(ev.RTTS), ev.CapturePosition)
				}
			}
			if !slices.Equal(got[0].Frames, tt.frames) || !slices.Equal(got[0].Conns, []int{1}) {
				t.Errorf("first finding conns %v frames %v, want [1] %v", got[0].Conns, got[0].Frames, tt.frames)
			}
		})
	}
}

// TestFinalAckCrossedFINs is the justification for public traces: in
// Zeek's ftp/bruteforce.pcap, connections 54019 and 54020 close with
// crossed FINs (frame 58 server FIN seq 1581382107; frame 59 client FIN
// acking only 1581382107, not the FIN), the client's later dup ACK (61)
// still acknowledges 1581382107, and the server resends its FIN 404 ms
// later (73), which the client ACKs for the first time (74). The client
// never had the first FIN: the FIN was lost, not a final ACK, so neither
// the records nor the findings say a final ACK was lost.
func TestFinalAckCrossedFINs(t *testing.T) {
	res := twRun(t, Options{}, filepath.Join("..", "testdata", "corpus", "public", "zeek_ftp-bruteforce.pcap"))
	if res.Closes.FinalAck["lost"] != 0 || res.Closes.ByKind["simultaneous"] == 0 {
		t.Errorf("final ACK counts %v, closes %v: want no lost final ACK after crossed FINs", res.Closes.FinalAck, res.Closes.ByKind)
	}
	if n := len(twKind(res, KindLostFinalAck)) + len(twKind(res, KindFinalAckRST)); n != 0 {
		t.Errorf("%d final ACK findings for crossed FINs resent without any ACK in the capture", n)
	}
}

// TestFinalAckClientFINResent: in Zeek's tcp/fin_retransmission.pcap the
// client sends its FIN (frame 2) and again (4), the server ACKs it and
// answers with RST (5), never with a FIN: the active closer's own FIN sent
// again is no evidence of a lost final ACK (domain.md 3).
func TestFinalAckClientFINResent(t *testing.T) {
	var rec reassembly.Record
	res := twAnalyze(t, Options{}, func(r *reassembly.Record) { rec = *r },
		[]string{filepath.Join("..", "reassembly", "testdata", "zeek_tcp-fin-retransmission.pcap")}, nil)
	if n := len(twKind(res, KindLostFinalAck)) + len(twKind(res, KindFinalAckRST)); n != 0 || rec.FinalAck != reassembly.FinalAckNA {
		t.Errorf("%d final ACK findings, final_ack %s: want none, n/a", n, rec.FinalAck)
	}
	if rec.C.FINRetrans != 1 || !rec.RTT.Known {
		t.Errorf("client FIN resent %d times, handshake %+v: want 1 and a round trip", rec.C.FINRetrans, rec.RTT)
	}
}

// TestFinalAckSynthetic covers what the corpus lacks. Each capture: a
// handshake and one exchange between 10.0.0.1:40000 and 10.0.0.2:8080, the
// client's FIN, the server's FIN+ACK, the client's final ACK (written, so
// the capture point is before the loss), then the server's FIN again with
// its original sequence number 200 ms later, and the client's answer.
func TestFinalAckSynthetic(t *testing.T) {
	tests := []struct {
		name     string
		answer   int // flags of the client's answer; 0: none
		timeWait time.Duration
		kind     string
		severity Severity
		next     string
		withAck  *bool
	}{
		{"re-ACK", synth.ACK, 0, KindLostFinalAck, SeverityInfo, nextReAck, nil},
		{"no answer", 0, 0, KindLostFinalAck, SeverityInfo, nextUnknown, nil},
		// An application abort: the RST carries an ACK.
		{"RST with ACK", synth.RST | synth.ACK, 0, KindFinalAckRST, SeverityWarning, nextRST, ptr(true)},
		{"bare RST", synth.RST, 0, KindFinalAckRST, SeverityCritical, nextRST, ptr(false)},
		// The FIN comes back after a 100 ms TIME_WAIT ran out: expired.
		{"bare RST after TIME_WAIT", synth.RST, 100 * time.Millisecond, KindFinalAckRST, SeverityWarning, nextRST, ptr(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, func(w *synth.Writer) error {
				c, s := synth.NewEnd(twClient, 1000, 100), synth.NewEnd(twServer, 5000, 900)
				ms := time.Millisecond
				if err := w.Handshake(c, s, ms); err != nil {
					return err
				}
				if err := w.Exchange(c, s, 10, 100, ms); err != nil {
					return err
				}
				if err := w.Close(c, s, ms); err != nil {
					return err
				}
				w.Advance(200 * ms)
				if err := w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq-1, s.Ack, 0); err != nil {
					return err
				}
				w.Advance(ms)
				if tt.answer == 0 {
					return nil
				}
				return w.Send(c, s, tt.answer, 0)
			})
			opts := Options{}
			if tt.timeWait > 0 {
				opts.Profile = Profile{Name: "test", TimeWait: tt.timeWait}
			}
			res := twRun(t, opts, path)
			got := twKind(res, tt.kind)
			if len(got) != 1 {
				t.Fatalf("%d %s findings, want 1 (all: %+v)", len(got), tt.kind, res.Findings)
			}
			f := got[0]
			ev := evidenceOf[*FinalAckEvidence](t, f)
			if f.Severity != tt.severity || ev.Next != tt.next || ev.CapturePoint != captureBeforeLoss {
				t.Errorf("severity %s next %v capture_point %v, want %s %s before_loss",
					f.Severity, ev.Next, ev.CapturePoint, tt.severity, tt.next)
			}
			if (ev.RSTWithAck == nil) != (tt.withAck == nil) || deref(ev.RSTWithAck) != deref(tt.withAck) {
				t.Errorf("rst_with_ack %v, want %v", ev.RSTWithAck, tt.withAck) // pointers: nil or not is the point
			}
			// Frames 1-3 handshake, 4-7 exchange, 8 client FIN, 9 server
			// FIN, 10 final ACK, 11 resent FIN, 12 answer.
			want := []int{8, 9, 10, 11, 12}
			if tt.answer == 0 {
				want = want[:4]
			}
			if !slices.Equal(f.Frames, want) || deref(ev.FinalAckFrame) != 10 || deref(ev.ResentFINFrame) != 11 {
				t.Errorf("frames %v (final ACK %v, resent %v), want %v", f.Frames, ev.FinalAckFrame, ev.ResentFINFrame, want)
			}
			if !twNear(ev.FINResendDelayS, 0.202) {
				t.Errorf("fin_resend_delay_s %v, want 0.202", ev.FINResendDelayS)
			}
		})
	}
}

const (
	twClient = "10.0.0.1:40000"
	twServer = "10.0.0.2:8080"
)

func twNear(g, want float64) bool {
	return g-want < 1e-3 && want-g < 1e-3
}

// finAckScript writes one connection between twClient and twServer as a
// capture point sees it: a handshake whose round trip (40 ms) lies on the
// client's side of the capture (nearServer: SYN+ACK 10 µs after the SYN,
// the client's ACK 40 ms later) or on the server's (the reverse), a
// request and its ACK, then the client's FIN and what close writes. The
// client is the active closer throughout. Times are the capture point's.
func finAckScript(nearServer bool, close func(w *synth.Writer, c, s *synth.End) error) func(w *synth.Writer) error {
	return func(w *synth.Writer) error {
		c, s := synth.NewEnd(twClient, 1000, 100), synth.NewEnd(twServer, 5000, 900)
		far, near := 40*time.Millisecond, 10*time.Microsecond
		first, second := near, far // SYN -> SYN+ACK, SYN+ACK -> ACK
		if !nearServer {
			first, second = far, near
		}
		steps := []struct {
			from, to *synth.End
			flags    int
			payload  int
			after    time.Duration
		}{{c, s, synth.SYN, 0, first}, {s, c, synth.SYN | synth.ACK, 0, second}, {c, s, synth.ACK, 0, time.Millisecond},
			{c, s, synth.PSH | synth.ACK, 10, 0}}
		for _, st := range steps {
			if err := w.Send(st.from, st.to, st.flags, st.payload); err != nil {
				return err
			}
			w.Advance(st.after)
		}
		w.Advance(far)
		if err := w.Send(s, c, synth.ACK, 0); err != nil {
			return err
		}
		w.Advance(far)
		return close(w, c, s)
	}
}

// TestFinalAckRules checks each rule of domain.md 3 beyond the plain lost
// final ACK, on captures written here with gopacket (synth, pcapgo): what
// the record says (final_ack, LostAck.Recovery, the handshake's parts and
// the capture position) and which finding is raised.
func TestFinalAckRules(t *testing.T) {
	ms := time.Millisecond
	// lostData: the server ACKs the client's FIN, sends 100 bytes that are
	// lost and 100 more with its FIN; the client's duplicate ACK (still
	// acknowledging the server's first byte, 40 ms later: the FIN arrived
	// out of order) is its highest ACK, below the FIN's sequence number;
	// the server resends the lost data and then the data+FIN after 200 ms;
	// answer is the client's reply.
	lostData := func(answer int) func(w *synth.Writer, c, s *synth.End) error {
		return func(w *synth.Writer, c, s *synth.End) error {
			if err := w.Send(c, s, synth.FIN|synth.ACK, 0); err != nil {
				return err
			}
			w.Advance(40 * ms)
			if err := w.Send(s, c, synth.ACK, 0); err != nil {
				return err
			}
			hole, ack := s.Seq, c.Ack
			s.Seq += 100 // the first 100 bytes are lost before the client
			w.Advance(ms)
			if err := w.SendAt(s, c, synth.PSH|synth.ACK|synth.FIN, hole+100, s.Ack, 100); err != nil {
				return err
			}
			w.Advance(40 * ms)
			if err := w.SendAt(c, s, synth.ACK, c.Seq, ack, 0); err != nil { // duplicate ACK
				return err
			}
			w.Advance(200 * ms)
			if err := w.SendAt(s, c, synth.PSH|synth.ACK, hole, s.Ack, 100); err != nil {
				return err
			}
			w.Advance(ms)
			if err := w.SendAt(s, c, synth.PSH|synth.ACK|synth.FIN, hole+100, s.Ack, 100); err != nil {
				return err
			}
			w.Advance(40 * ms)
			return w.SendAt(c, s, answer, c.Seq, hole+201, 0)
		}
	}
	// lostDataFIN: the server ACKs the client's FIN and sends 100 bytes
	// with its FIN, lost after the capture point; no ACK from the client
	// comes back, and a tail loss probe resends the data+FIN 90 ms later
	// (past 2 x 40 ms), which the client ACKs a round trip later.
	lostDataFIN := func(w *synth.Writer, c, s *synth.End) error {
		if err := w.Send(c, s, synth.FIN|synth.ACK, 0); err != nil {
			return err
		}
		w.Advance(40 * ms)
		if err := w.Send(s, c, synth.ACK, 0); err != nil {
			return err
		}
		w.Advance(ms)
		seq, ack := s.Seq, c.Ack
		if err := w.Send(s, c, synth.PSH|synth.ACK|synth.FIN, 100); err != nil {
			return err
		}
		c.Ack = ack // the client never got it
		w.Advance(90 * ms)
		if err := w.SendAt(s, c, synth.PSH|synth.ACK|synth.FIN, seq, s.Ack, 100); err != nil {
			return err
		}
		w.Advance(40 * ms)
		return w.SendAt(c, s, synth.ACK, c.Seq, seq+101, 0)
	}
	// lostAck: FIN, FIN+ACK, the client's final ACK written only when the
	// capture sits before the loss (finalAck), the server's FIN again
	// after resend, the client's answer after answerAfter.
	lostAck := func(finalAck bool, finalAckAfter, resend time.Duration, answer int, answerAfter time.Duration) func(w *synth.Writer, c, s *synth.End) error {
		return func(w *synth.Writer, c, s *synth.End) error {
			if err := w.Send(c, s, synth.FIN|synth.ACK, 0); err != nil {
				return err
			}
			w.Advance(40 * ms)
			if err := w.Send(s, c, synth.FIN|synth.ACK, 0); err != nil {
				return err
			}
			finSeq := s.Seq - 1
			if finalAck && finalAckAfter < resend {
				w.Advance(finalAckAfter)
				if err := w.Send(c, s, synth.ACK, 0); err != nil {
					return err
				}
				w.Advance(resend - finalAckAfter)
			} else {
				w.Advance(resend)
			}
			if err := w.SendAt(s, c, synth.FIN|synth.ACK, finSeq, s.Ack, 0); err != nil {
				return err
			}
			w.Advance(answerAfter)
			if answer == 0 {
				return nil
			}
			return w.SendAt(c, s, answer, c.Seq, finSeq+1, 0)
		}
	}
	tests := []struct {
		name       string
		nearServer bool
		close      func(w *synth.Writer, c, s *synth.End) error
		finalAck   string
		recovery   bool
		kind       string // the one final-ACK finding, "" for none
		severity   Severity
		point      string
		delayS     float64 // final ACK after the server's FIN, when seen
	}{
		// The client's ACKs stop below the server's FIN: the resent
		// data+FIN is loss recovery, and the client's final ACK (now of
		// everything) is the first ACK of the FIN.
		{"data lost before the FIN, FIN resent", true, lostData(synth.ACK), "seen", true, "", "", "", 0.281},
		// The data+FIN itself lost: the client's highest ACK is below
		// the FIN's sequence number, the resent data+FIN recovers it.
		{"data+FIN lost, data+FIN resent", true, lostDataFIN, "seen", true, "", "", "", 0.130},
		// The same, answered by a RST: data on a socket the client had
		// closed, not a missing TIME_WAIT (no final_ack_rst).
		{"RST after data to a closed socket", true, lostData(synth.RST), "not_observed", true, "", "", "", 0},
		// The server resends its FIN 50 ms after it (before any timer:
		// RTO 200 ms, TLP 2 x 40 ms); the final ACK comes 10 ms later,
		// less than the client's 40 ms part of the round trip: it was
		// on its way, late, not lost.
		{"FIN resent before RTO, final ACK 10 ms later", true, lostAck(false, 0, 50*ms, synth.ACK, 10*ms), "late", false, "", "", "", 0.060},
		// Seen next to the client: its final ACK left 10 µs after the
		// server's FIN, and the server resent 30 ms later, less than its
		// 40 ms part of the round trip: the ACK had not reached it yet.
		{"near client: FIN resent before the final ACK arrived", false, lostAck(true, 10*time.Microsecond, 30*ms, synth.ACK, 10*time.Microsecond), "late", false, "", "", "", 0.00001},
		// tcp_max_tw_buckets overflow: the final ACK is lost before the
		// capture point near the server, the FIN comes again after
		// 200 ms and gets a bare RST: still final_ack_rst.
		{"lost final ACK, bare RST", true, lostAck(false, 0, 200*ms, synth.RST, 40*ms), "lost", false, KindFinalAckRST, SeverityCritical, captureAfterLoss, 0},
		// The same seen next to the client: its final ACK is in the capture.
		{"lost final ACK, bare RST, near client", false, lostAck(true, 10*time.Microsecond, 200*ms, synth.RST, 10*time.Microsecond), "lost", false, KindFinalAckRST, SeverityCritical, captureBeforeLoss, 0.00001},
		// Capture near the server, no final ACK, FIN again, re-ACK: the
		// final ACK was lost between the client and the capture point.
		{"near server: ACK lost before the capture point", true, lostAck(false, 0, 200*ms, synth.ACK, 40*ms), "lost", false, KindLostFinalAck, SeverityInfo, captureAfterLoss, 0},
		// The same packets next to the client: had the client sent a
		// final ACK it would be in the capture, so none was lost; the FIN
		// was lost after the capture point and its resend is recovery.
		{"near client: no final ACK was sent", false, lostAck(false, 0, 200*ms, synth.ACK, 10*time.Microsecond), "seen", true, "", "", "", 0.20001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, finAckScript(tt.nearServer, tt.close))
			var rec reassembly.Record
			res := twAnalyze(t, Options{}, func(r *reassembly.Record) { rec = *r }, []string{path}, nil)
			if rec.FinalAck.String() != tt.finalAck || rec.LostAck.Recovery != tt.recovery {
				t.Errorf("final_ack %s recovery %v, want %s %v", rec.FinalAck, rec.LostAck.Recovery, tt.finalAck, tt.recovery)
			}
			wantPos, client, server := reassembly.PositionNearServer, 40*ms, 10*time.Microsecond
			if !tt.nearServer {
				wantPos, client, server = reassembly.PositionNearClient, 10*time.Microsecond, 40*ms
			}
			if !rec.RTT.Known || rec.RTT.Client != int64(client) || rec.RTT.Server != int64(server) || rec.RTT.Position() != wantPos {
				t.Errorf("handshake %+v position %s, want client %v server %v %s", rec.RTT, rec.RTT.Position(), client, server, wantPos)
			}
			if a := rec.C.AckOfPeerFIN; tt.delayS > 0 && (!a.Seen() || !twNear(Seconds(a.Time-rec.S.FIN.Time), tt.delayS)) {
				t.Errorf("final ACK %v after the server's FIN, want %v s", Seconds(a.Time-rec.S.FIN.Time), tt.delayS)
			}
			got := append(twKind(res, KindLostFinalAck), twKind(res, KindFinalAckRST)...)
			if tt.kind == "" {
				if len(got) != 0 {
					t.Fatalf("findings %+v, want none", got)
				}
				if res.Closes.FinalAck[tt.finalAck] != 1 {
					t.Errorf("final ACK counts %v, want %s 1", res.Closes.FinalAck, tt.finalAck)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != tt.kind || got[0].Severity != tt.severity {
				t.Fatalf("findings %+v, want one %s %s", got, tt.kind, tt.severity)
			}
			ev := evidenceOf[*FinalAckEvidence](t, got[0])
			if ev.CapturePoint != tt.point || ev.CapturePosition != wantPos.String() ||
				!twNear(deref(ev.RTTS), 0.04001) || !twNear(deref(ev.RTTClientS), Seconds(int64(client))) {
				t.Errorf("capture_point %s position %s rtt %v client %v, want %s %s 0.04001",
					ev.CapturePoint, ev.CapturePosition, deref(ev.RTTS), deref(ev.RTTClientS), tt.point, wantPos)
			}
			wantAck := int64(0) // the client had acknowledged all but the FIN
			if tt.point == captureBeforeLoss {
				wantAck = 1
			}
			if deref(ev.ActiveAckToFIN) != wantAck {
				t.Errorf("active_ack_to_fin %v, want %d", ev.ActiveAckToFIN, wantAck)
			}
		})
	}
}
