package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestCloseWaitCorpus: in the lab's close_wait_leak (Linux 6.18, captured
// on the server) five clients close after the response and the server
// never closes. The capture lasts 90 ms, so a connection counts once it
// has sat half-closed for a quarter of that (22.6 ms): connections 1-3
// (the oldest for 48 ms); 4 and 5 are too recent to judge.
func TestCloseWaitCorpus(t *testing.T) {
	res := twRun(t, Options{}, lab("close_wait_leak.pcap"))
	got := twKind(res, KindCloseWait)
	if len(got) != 1 {
		t.Fatalf("%d close_wait findings, want 1", len(got))
	}
	f := got[0]
	ev := evidenceOf[*CloseWaitEvidence](t, f)
	if f.Severity != SeverityWarning || !slices.Equal(f.Conns, []int{1, 2, 3}) ||
		ev.Server != "10.2.0.2:8080" || ev.StuckSide != "server" ||
		!slices.Equal(ev.TooRecent, []int{4, 5}) || ev.OldestConn != 1 {
		t.Errorf("finding %+v", f)
	}
	// Client FINs 8, 16, 24 and the server's ACKs of them 9, 17, 25... as
	// Wireshark numbers them: FIN then ACK.
	if fins := ev.FINFrames; !slices.Equal(fins, []int{8, 16, 24}) {
		t.Errorf("fin_frames %v", fins)
	}
	if !twNear(ev.OldestAgeS, 0.047992) {
		t.Errorf("oldest_age_s %v", ev.OldestAgeS)
	}
	for _, name := range []string{"client_close_first.pcap", "server_close_first.pcap", "lost_final_ack.pcap", "abortive_close_linger0.pcap"} {
		if n := len(twKind(twRun(t, Options{}, lab(name)), KindCloseWait)); n != 0 {
			t.Errorf("%s: %d close_wait findings, want none", name, n)
		}
	}
}

// TestCloseWaitSynthetic writes connections that half-close and then a
// tail of other traffic that sets how long the capture goes on.
func TestCloseWaitSynthetic(t *testing.T) {
	tests := []struct {
		name     string
		n        int           // half-closed connections
		server   bool          // the server sends the FIN (the client is stuck)
		ack      bool          // the passive side ACKs the FIN
		tail     time.Duration // capture time after the last FIN
		findings int
		severity Severity
		stuck    string
	}{
		// 3 s capture, FINs ACKed 2 s before its end: stuck.
		{"server stuck", 2, false, true, 2 * time.Second, 1, SeverityWarning, "server"},
		{"many", 12, false, true, 2 * time.Second, 1, SeverityCritical, "server"},
		// More than a finding lists: the first MaxListedConns, all counted.
		{"past the listing bound", 3 * MaxListedConns, false, true, 2 * time.Second, 1, SeverityCritical, "server"},
		{"client stuck", 1, true, true, 2 * time.Second, 1, SeverityWarning, "client"},
		// The capture ends 5 ms after the ACK: too short to judge.
		{"too short", 2, false, true, 5 * time.Millisecond, 0, "", ""},
		// FIN never acknowledged: the peer may not have it.
		{"FIN not ACKed", 2, false, false, 2 * time.Second, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, func(w *synth.Writer) error {
				ms := time.Millisecond
				// A normal connection first: the capture starts 1 s
				// before the half-closes.
				c0, s0 := synth.NewEnd("10.0.0.9:39999", 1, 1), synth.NewEnd(twServer, 2, 2)
				if err := w.Handshake(c0, s0, ms); err != nil {
					return err
				}
				w.Advance(time.Second)
				for i := range tt.n {
					c := synth.NewEnd(fmt.Sprintf("10.0.0.1:%d", 40000+i), 1000, 100)
					s := synth.NewEnd(twServer, 5000, 900)
					if err := w.Handshake(c, s, ms); err != nil {
						return err
					}
					if err := w.Exchange(c, s, 10, 100, ms); err != nil {
						return err
					}
					a, p := c, s
					if tt.server {
						a, p = s, c
					}
					if err := w.Send(a, p, synth.FIN|synth.ACK, 0); err != nil {
						return err
					}
					w.Advance(ms)
					if tt.ack {
						if err := w.Send(p, a, synth.ACK, 0); err != nil {
							return err
						}
					}
					w.Advance(ms)
				}
				w.Advance(tt.tail)
				return w.Send(s0, c0, synth.ACK, 0)
			})
			got := twKind(twRun(t, Options{}, path), KindCloseWait)
			if len(got) != tt.findings {
				t.Fatalf("%d close_wait findings, want %d", len(got), tt.findings)
			}
			if tt.findings == 0 {
				return
			}
			f := got[0]
			ev := evidenceOf[*CloseWaitEvidence](t, f)
			listed := min(tt.n, MaxListedConns)
			if f.Severity != tt.severity || ev.StuckSide != tt.stuck || ev.Count != tt.n || len(f.Conns) != listed {
				t.Errorf("severity %s stuck %v count %v conns %v, want %s %s %d",
					f.Severity, ev.StuckSide, ev.Count, f.Conns, tt.severity, tt.stuck, tt.n)
			}
			if f.ConnsTotal != tt.n || ev.ConnectionsTotal != tt.n || len(ev.Connections) != listed ||
				len(ev.FINFrames) != listed || len(f.Frames) != 2*listed || ev.OldestConn != 2 {
				t.Errorf("conns_total %d connections_total %d, %d connections, %d fin_frames, %d frames, oldest %d; want %d of %d, oldest 2",
					f.ConnsTotal, ev.ConnectionsTotal, len(ev.Connections), len(ev.FINFrames), len(f.Frames), ev.OldestConn, listed, tt.n)
			}
			if ev.TooRecent == nil || ev.TooRecentTotal != len(ev.TooRecent) { // [] in the JSON when none, as the schema has it
				t.Errorf("too_recent %v, too_recent_total %d", ev.TooRecent, ev.TooRecentTotal)
			}
			if tt.stuck == "client" && ev.ClientIP != "10.0.0.1" {
				t.Errorf("client_ip %v", ev.ClientIP)
			}
		})
	}
}
