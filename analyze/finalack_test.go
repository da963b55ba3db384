package analyze

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

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
