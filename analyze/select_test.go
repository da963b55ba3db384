package analyze

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestPortPressureSeenRange generates n connections from 10.0.0.1 that
// cycle through ports 40000 up to 40000+ports-1, 100 ms apart, each closed
// by the client, and judges them with Linux's default --port-range. When
// twReuse is set, a reused port's new ISN is the old next sequence +
// 65537 (the tcp_tw_reuse fingerprint), else a fresh one.
func TestPortPressureSeenRange(t *testing.T) {
	tests := []struct {
		name      string
		ports, n  int
		twReuse   bool
		narrowed  bool     // judged by the range seen
		severity  Severity // "" no finding
		adviseTWR bool     // advises enabling tcp_tw_reuse
	}{
		{"4 ports cycled 3 times, tw_reuse on", 4, 12, true, true, SeverityCritical, false},
		{"4 ports cycled 3 times, fresh ISNs", 4, 12, false, true, SeverityCritical, true},
		{"5 ports, 9 connections: too few to tell", 5, 9, false, false, "", false},
		{"one port: bind(), not a range", 1, 6, false, false, "", false},
		{"no port used twice", 12, 12, false, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := twSynth(t, func(w *synth.Writer) error {
				ms := time.Millisecond
				final := map[int]uint32{}
				for i := range tt.n {
					port := 40000 + i%tt.ports
					isn := uint32(1000 + i*1000003)
					if old, ok := final[port]; ok && tt.twReuse {
						isn = old + 65537
					}
					c := synth.NewEnd(fmt.Sprintf("10.0.0.1:%d", port), isn, uint32(100+i*1000))
					s := synth.NewEnd(twServer, uint32(5000+i*7919), 900)
					if err := w.Handshake(c, s, ms); err != nil {
						return err
					}
					if err := w.Exchange(c, s, 10, 100, ms); err != nil {
						return err
					}
					if err := w.Close(c, s, ms); err != nil {
						return err
					}
					final[port] = c.Seq
					w.Advance(100 * ms)
				}
				return nil
			})
			got := twKind(twRun(t, Options{}, path), KindPortPressure)
			if tt.severity == "" {
				if len(got) != 0 {
					t.Errorf("port_pressure %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.severity {
				t.Fatalf("port_pressure %+v, want one %s", got, tt.severity)
			}
			f := got[0]
			ev := evidenceOf[*PortPressureEvidence](t, f)
			want := [2]int{40000, 40000 + tt.ports - 1}
			if ev.PortRangeSeen != tt.narrowed || ev.PortRange != want || ev.PortRangeSize != tt.ports ||
				ev.ConfiguredPortRange != DefaultPortRange || ev.Peak != tt.ports {
				t.Errorf("evidence %+v, want range %v seen", ev, want)
			}
			if said := strings.Contains(f.Summary, fmt.Sprintf("seen to use, %d-%d", want[0], want[1])); said != tt.narrowed {
				t.Errorf("summary says the range seen: %v, want %v: %s", said, tt.narrowed, f.Summary)
			}
			if advised := strings.Contains(f.Advice, "tcp_tw_reuse=1"); advised != tt.adviseTWR {
				t.Errorf("advises tcp_tw_reuse=1: %v, want %v: %s", advised, tt.adviseTWR, f.Advice)
			}
			if on := strings.Contains(f.Advice, "already on"); on != tt.twReuse || (ev.TWReuseSeen > 0) != tt.twReuse {
				t.Errorf("says tcp_tw_reuse is on: %v (tw_reuse_seen %d), want %v: %s", on, ev.TWReuseSeen, tt.twReuse, f.Advice)
			}
		})
	}
}
