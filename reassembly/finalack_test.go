package reassembly

import (
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestCapturePosition checks where the handshake's parts put the capture
// point: next to a host its part is only the host's own turnaround, a
// small share of a round trip long enough (1 ms) to be mostly path.
func TestCapturePosition(t *testing.T) {
	const us, ms = int64(1e3), int64(1e6)
	tests := []struct {
		name           string
		known          bool
		client, server int64
		want           CapturePosition
	}{
		{"at the server of a WAN path", true, 40 * ms, 20 * us, PositionNearServer},
		{"at the client of a WAN path", true, 30 * us, 40 * ms, PositionNearClient},
		{"in the middle", true, 15 * ms, 25 * ms, PositionUnknown},
		// Linux 6.18 veths of the lab: turnaround and path alike.
		{"loopback-like round trip", true, 13 * us, 60 * us, PositionUnknown},
		{"a fifth exactly", true, 1 * ms, 4 * ms, PositionNearClient},
		{"just above a fifth", true, 1*ms + us, 4 * ms, PositionUnknown},
		{"no handshake", false, 0, 0, PositionUnknown},
	}
	for _, tt := range tests {
		h := HandshakeRTT{Known: tt.known, Client: tt.client, Server: tt.server}
		if got := h.Position(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
		if h.Position().String() != tt.want.String() || h.Part(SideClient) != tt.client || h.Part(SideServer) != tt.server {
			t.Errorf("%s: parts %d %d", tt.name, h.Part(SideClient), h.Part(SideServer))
		}
	}
	if FinalAckLate.String() != "late" || FinalAcks[1] != FinalAckLate || NumFinalAcks != len(FinalAcks) {
		t.Errorf("late: %q at %v of %d", FinalAckLate, FinalAcks, NumFinalAcks)
	}
}

// TestHandshakeRTT checks the handshake's parts when steps are sent again:
// each part is measured from the last SYN (SYN+ACK) before the answer, so
// a retransmitted SYN or SYN+ACK does not add its timeout to the round trip.
func TestHandshakeRTT(t *testing.T) {
	recs := trackSynth(t, Config{}, func(w *synth.Writer, c, s *synth.End) error {
		isn := c.Seq
		return steps(
			func() error { return w.Send(c, s, synth.SYN, 0) },
			func() error { w.Advance(1000 * ms); return w.SendAt(c, s, synth.SYN, isn, 0, 0) }, // SYN again after 1 s
			func() error { w.Advance(3 * ms); return w.Send(s, c, synth.SYN|synth.ACK, 0) },
			func() error { w.Advance(1000 * ms); return w.SendAt(s, c, synth.SYN|synth.ACK, s.Seq-1, s.Ack, 0) }, // SYN+ACK again
			func() error { w.Advance(7 * ms); return w.Send(c, s, synth.ACK, 0) },
		)
	})
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	h := recs[0].RTT
	if !h.Known || h.Server != int64(3*ms) || h.Client != int64(7*ms) || h.Total() != int64(10*ms) {
		t.Errorf("handshake %+v, want server 3 ms client 7 ms", h)
	}
	// Partial: without the SYN nothing is measured.
	recs = trackSynth(t, Config{}, func(w *synth.Writer, c, s *synth.End) error {
		c.Ack, s.Ack = s.Seq, c.Seq
		return w.Send(c, s, synth.PSH|synth.ACK, 10)
	})
	if len(recs) != 1 || recs[0].RTT.Known || recs[0].RTT.Position() != PositionUnknown {
		t.Errorf("mid-stream: %+v, want no round trip", recs[0].RTT)
	}
}
