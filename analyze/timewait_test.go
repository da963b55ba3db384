package analyze

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestHostsCorpus checks the hosts section on Linux 6.18 lab captures.
func TestHostsCorpus(t *testing.T) {
	tests := []struct {
		file                      string
		ip                        string // the first host listed
		conns, held, peak, closes int
		rsts                      int
	}{
		// The client closes all 10 connections; their final ACKs are lost
		// before the server's capture point, so each TIME_WAIT starts at
		// the client's re-ACK; the last re-ACK is the last packet.
		{"lost_final_ack.pcap", "10.1.1.2", 10, 10, 10, 10, 0},
		// The resent FINs get RSTs: nobody holds TIME_WAIT.
		{"tw_bucket_overflow_rst.pcap", "10.1.1.2", 10, 0, 0, 10, 10},
		// The server closes 20 connections a few ms apart: all 20 in
		// TIME_WAIT on the server at once.
		{"server_close_first.pcap", "10.2.0.2", 20, 20, 20, 20, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res := twRun(t, Options{}, lab(tt.file))
			if len(res.Hosts) != 2 {
				t.Fatalf("%d hosts, want 2: %+v", len(res.Hosts), res.Hosts)
			}
			h := res.Hosts[0]
			if h.IP != tt.ip || h.Connections != tt.conns || h.TimeWaitHeld != tt.held || h.PeakTimeWait != tt.peak ||
				h.ClosesInitiated != tt.closes || h.RSTsSent != tt.rsts {
				t.Errorf("host %+v, want %s conns %d held %d peak %d closes %d rsts %d",
					h, tt.ip, tt.conns, tt.held, tt.peak, tt.closes, tt.rsts)
			}
			if (tt.peak > 0) != (h.PeakAt != nil) || (tt.peak > 0) != (len(res.TimeWait) == 1) {
				t.Errorf("peak_at %v, series %d", h.PeakAt, len(res.TimeWait))
			}
		})
	}
}

// TestPortPressureCorpus: fast_port_reuse_tw_reuse ran with a client port
// range of two ports (40000-40001) and tcp_tw_reuse=1; 12 connections reuse
// the two four-tuples about 1 s after each close. Each reuse ends the old
// TIME_WAIT, so the peak is 2 ports (both, 100 %: critical), not 12. With
// Linux's default range the same traffic is no pressure at all.
func TestPortPressureCorpus(t *testing.T) {
	res := twRun(t, Options{PortRange: [2]int{40000, 40001}}, lab("fast_port_reuse_tw_reuse.pcap"))
	got := twKind(res, KindPortPressure)
	if len(got) != 1 {
		t.Fatalf("%d port_pressure findings, want 1", len(got))
	}
	f := got[0]
	ev := evidenceOf[*PortPressureEvidence](t, f)
	if f.Severity != SeverityCritical || ev.Peak != 2 || ev.PortRangeSize != 2 || ev.Fraction != 1.0 ||
		ev.ClientIP != "10.1.1.2" || ev.Server != "10.2.0.2:8080" || ev.Basis != "observed" || len(f.Conns) != 2 {
		t.Errorf("finding %+v", f)
	}
	// 12 connections over about 5 s, all closed by the client.
	if r := ev.ConnRatePerS; r < 2 || r > 3 {
		t.Errorf("conn_rate_per_s %v, want about 2.2", r)
	}
	if ev.ExhaustionS == nil || *ev.ExhaustionS != 0.0 {
		t.Errorf("exhaustion_s %v, want 0 (the range is full)", ev.ExhaustionS)
	}
	if h := res.Hosts[0]; h.IP != "10.1.1.2" || h.PeakTimeWait != 2 || h.TimeWaitHeld != 12 {
		t.Errorf("host %+v", h)
	}
	if ev.PortRangeSeen || ev.TWReuseSeen != 10 || strings.Contains(f.Advice, "tcp_tw_reuse=1") {
		t.Errorf("range seen %v, tw_reuse seen %d, advice %q", ev.PortRangeSeen, ev.TWReuseSeen, f.Advice)
	}
	// With Linux's default range the client is seen to use two ports for
	// its 12 connections: the range it was seen to use is judged by, and
	// the finding says so.
	got = twKind(twRun(t, Options{}, lab("fast_port_reuse_tw_reuse.pcap")), KindPortPressure)
	if len(got) != 1 {
		t.Fatalf("%d port_pressure findings with the default range, want 1 by the range seen", len(got))
	}
	ev = evidenceOf[*PortPressureEvidence](t, got[0])
	if !ev.PortRangeSeen || ev.PortRange != [2]int{40000, 40001} || ev.ConfiguredPortRange != DefaultPortRange ||
		ev.PortRangeSize != 2 || got[0].Severity != SeverityCritical ||
		!strings.Contains(got[0].Summary, "seen to use, 40000-40001") {
		t.Errorf("finding %+v, evidence %+v", got[0], ev)
	}
}

// TestTimeWaitSynthetic writes n connections from 10.0.0.1, ports 40000
// up, to 10.0.0.2:8080, one every gap, each closed as told.
func TestTimeWaitSynthetic(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		gap        time.Duration
		close      string // "client", "server", "both"
		timeWait   time.Duration
		portRange  [2]int
		clientPeak int
		serverPeak int
		severity   Severity // of port_pressure; "" none
	}{
		{"client holds, 8 of 10 ports", 8, 10 * time.Millisecond, "client", 0, [2]int{40000, 40009}, 8, 0, SeverityWarning},
		{"client holds, 8 of 100 ports", 8, 10 * time.Millisecond, "client", 0, [2]int{40000, 40099}, 8, 0, ""},
		{"client holds, 10 of 10 ports", 10, 10 * time.Millisecond, "client", 0, [2]int{40000, 40009}, 10, 0, SeverityCritical},
		// The server closes: its TIME_WAIT is no port pressure on the client.
		{"server holds", 8, 10 * time.Millisecond, "server", 0, [2]int{40000, 40009}, 0, 8, ""},
		// Crossed FINs: both sides hold TIME_WAIT.
		{"simultaneous", 4, 10 * time.Millisecond, "both", 0, [2]int{40000, 40099}, 4, 4, ""},
		// A 100 ms TIME_WAIT with connections 1 s apart never overlaps.
		{"expired", 8, time.Second, "client", 100 * time.Millisecond, [2]int{40000, 40009}, 1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, func(w *synth.Writer) error {
				ms := time.Millisecond
				for i := range tt.n {
					c := synth.NewEnd(fmt.Sprintf("10.0.0.1:%d", 40000+i), 1000, 100)
					s := synth.NewEnd(twServer, 5000, 900)
					if err := w.Handshake(c, s, ms); err != nil {
						return err
					}
					if err := w.Exchange(c, s, 10, 100, ms); err != nil {
						return err
					}
					switch tt.close {
					case "client":
						if err := w.Close(c, s, ms); err != nil {
							return err
						}
					case "server":
						if err := w.Close(s, c, ms); err != nil {
							return err
						}
					default: // FINs cross, then each is ACKed
						cAck, sAck := c.Ack, s.Ack // neither has seen the other's FIN
						if err := w.SendAt(c, s, synth.FIN|synth.ACK, c.Seq, cAck, 0); err != nil {
							return err
						}
						if err := w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq, sAck, 0); err != nil {
							return err
						}
						w.Advance(ms)
						if err := w.Send(c, s, synth.ACK, 0); err != nil {
							return err
						}
						if err := w.Send(s, c, synth.ACK, 0); err != nil {
							return err
						}
					}
					w.Advance(tt.gap)
				}
				return nil
			})
			opts := Options{PortRange: tt.portRange}
			if tt.timeWait > 0 {
				opts.Profile = Profile{Name: "test", TimeWait: tt.timeWait}
			}
			res := twRun(t, opts, path)
			peaks := map[string]int{}
			for _, h := range res.Hosts {
				peaks[h.IP] = h.PeakTimeWait
			}
			if peaks["10.0.0.1"] != tt.clientPeak || peaks["10.0.0.2"] != tt.serverPeak {
				t.Errorf("peaks %v, want client %d server %d", peaks, tt.clientPeak, tt.serverPeak)
			}
			got := twKind(res, KindPortPressure)
			if tt.severity == "" {
				if len(got) != 0 {
					t.Errorf("port_pressure %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.severity || evidenceOf[*PortPressureEvidence](t, got[0]).Peak != tt.clientPeak || len(got[0].Conns) != tt.clientPeak {
				t.Fatalf("port_pressure %+v, want one %s with peak %d", got, tt.severity, tt.clientPeak)
			}
		})
	}
}

// sortChanges orders by time, leaving before entering, whatever the span
// of times (a capture's clock may jump by years) and the number of changes.
func TestSortChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tmp []twChange
	for _, span := range []int64{1, 1000, 10e9, math.MaxInt64} {
		for _, n := range []int{0, 1, 2, 17, 5000, twRadixMax + 1} {
			ev := make([]twChange, n)
			for i := range ev {
				host := int32(1 + rng.IntN(4))
				if rng.IntN(2) == 0 {
					host = -host
				}
				ev[i] = twChange{t: math.MinInt64/2 + rng.Int64N(span), host: host, group: int32(i)}
			}
			byTime := func(a, b twChange) int {
				if a.t != b.t {
					return cmp.Compare(a.t, b.t)
				}
				return a.delta() - b.delta()
			}
			whole := func(a, b twChange) int { // a total order, to compare the sets
				return cmp.Or(byTime(a, b), cmp.Compare(a.host, b.host), cmp.Compare(a.group, b.group))
			}
			want := slices.Clone(ev)
			slices.SortFunc(want, whole)
			got := sortChanges(ev, &tmp)
			if !slices.IsSortedFunc(got, byTime) {
				t.Errorf("span %d, %d changes: not in time order, leaving first", span, n)
			}
			if slices.SortFunc(got, whole); !slices.Equal(got, want) {
				t.Errorf("span %d, %d changes: not the same changes", span, n)
			}
		}
	}
}
