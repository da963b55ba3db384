package reassembly

import (
	"bytes"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// trackSynth writes a capture with build (package synth: real Ethernet/IPv4
// /TCP frames serialized by gopacket into a nanosecond pcap), reads it back
// through Open, the decoder and the tracker, and returns the records in the
// order they were finished.
func trackSynth(t *testing.T, cfg Config, build func(w *synth.Writer, c, s *synth.End) error) []Record {
	t.Helper()
	buf, w, c, s := synthCapture(t)
	if err := build(w, c, s); err != nil {
		t.Fatal(err)
	}
	recs, _, _ := track(t, cfg, buf)
	return recs
}

// synthCapture starts a capture written with synth, with the tests' usual
// client (10.0.0.1:40000, ISN 1000) and server (10.0.0.2:80, ISN 900000).
func synthCapture(t *testing.T) (*bytes.Buffer, *synth.Writer, *synth.End, *synth.End) {
	t.Helper()
	buf := new(bytes.Buffer)
	w, err := synth.NewWriter(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf, w, synth.NewEnd("10.0.0.1:40000", 1000, 5000), synth.NewEnd("10.0.0.2:80", 900000, 70000)
}

const ms = time.Millisecond

// steps runs synth calls in order, stopping at the first error.
func steps(fns ...func() error) error {
	for _, f := range fns {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func TestTrackerCloses(t *testing.T) {
	type want struct {
		closer, close, rstBy, holder, finalAck string
		finRetrans                             int
	}
	tests := []struct {
		name  string
		build func(w *synth.Writer, c, s *synth.End) error
		want  want
	}{{
		name: "client closes: FIN, FIN+ACK, ACK",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 100, 2000, ms) },
				func() error { return w.Close(c, s, ms) })
		},
		want: want{"client", "fin", "", "client", "seen", 0},
	}, {
		name: "server closes first, four segments",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Send(s, c, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(c, s, synth.ACK, 0) },
				func() error { w.Advance(50 * ms); return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(s, c, synth.ACK, 0) })
		},
		want: want{"server", "fin", "", "server", "seen", 0},
	}, {
		name: "FIN rides on the last data segment",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Send(s, c, synth.FIN|synth.PSH|synth.ACK, 1200) },
				func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(s, c, synth.ACK, 0) })
		},
		want: want{"server", "fin", "", "server", "seen", 0},
	}, {
		// Both FINs are sent before either side saw the other's: neither
		// FIN acknowledges the other, whatever the order in the file.
		name: "simultaneous: FINs cross",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.SendAt(c, s, synth.FIN|synth.ACK, c.Seq, c.Ack, 0) },
				func() error { s.Ack--; return w.Send(s, c, synth.FIN|synth.ACK, 0) }, // does not ack the client's FIN
				func() error { s.Ack++; return w.Send(c, s, synth.ACK, 0) },
				func() error { return w.Send(s, c, synth.ACK, 0) })
		},
		want: want{"both", "simultaneous", "", "both", "seen", 0},
	}, {
		// The file shows the client's FIN first, but it acknowledges the
		// server's FIN, which the capture (e.g. two interfaces merged)
		// holds later: the server closed first.
		name: "closer by acknowledgement, not file order",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error {
					return w.SendAt(c, s, synth.FIN|synth.ACK, c.Seq, s.Seq+1, 0) // acks the server FIN to come
				},
				func() error { return w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq, c.Seq-1, 0) }, // before the client's FIN
				func() error { return w.SendAt(s, c, synth.ACK, s.Seq, c.Seq, 0) })
		},
		want: want{"server", "fin", "", "server", "seen", 0},
	}, {
		name: "abortive close: RST with ACK from the client",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 10, 10, ms) },
				func() error { return w.Send(c, s, synth.RST|synth.ACK, 0) })
		},
		want: want{"none", "rst", "client", "none", "n/a", 0},
	}, {
		name: "half-closed: the server never sends its FIN",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(s, c, synth.ACK, 0) })
		},
		want: want{"client", "half", "", "none", "n/a", 0},
	}, {
		name: "open at the end of the capture",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return w.Handshake(c, s, ms)
		},
		want: want{"none", "open", "", "none", "n/a", 0},
	}, {
		// The final ACK is in the capture, then the server's FIN comes
		// again (the ACK was lost after the capture point) and the client
		// ACKs it again from TIME_WAIT.
		name: "lost final ACK, captured before the loss",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Close(c, s, ms) },
				func() error { w.Advance(200 * ms); return w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq-1, s.Ack, 0) },
				func() error { return w.Send(c, s, synth.ACK, 0) })
		},
		want: want{"client", "fin", "", "client", "lost", 1},
	}, {
		// The client kept no TIME_WAIT: its answer to the resent FIN is a
		// bare RST (no ACK), as Linux sends for a segment with no socket.
		name:  "resent FIN answered by RST",
		build: resentFINAnsweredByRST,
		want:  want{"client", "fin", "client", "none", "lost", 1},
	}, {
		// Linux's tail loss probe sends the active closer's own FIN again
		// before the peer answers: a FIN retransmission, not a lost ACK.
		name: "active closer's FIN sent again is not a lost final ACK",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { w.Advance(20 * ms); return w.SendAt(c, s, synth.FIN|synth.ACK, c.Seq-1, c.Ack, 0) },
				func() error { return w.Send(s, c, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(c, s, synth.ACK, 0) })
		},
		want: want{"client", "fin", "", "client", "seen", 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := trackSynth(t, Config{}, tt.build)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			r := recs[0]
			rst := r.RSTBy.String()
			if r.RSTBy == SideNone {
				rst = ""
			}
			got := want{r.Closer.String(), r.Close.String(), rst, r.TimeWaitHolder.String(), r.FinalAck.String(), r.FINRetransmits}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if r.Partial {
				t.Error("partial, but the handshake is in the capture")
			}
		})
	}
}

func TestTrackerLostFinalAckEvidence(t *testing.T) {
	recs := trackSynth(t, Config{}, func(w *synth.Writer, c, s *synth.End) error {
		return steps(func() error { return w.Handshake(c, s, ms) }, // frames 1-3
			func() error { return w.Close(c, s, ms) },                                                           // 4 FIN, 5 FIN+ACK, 6 final ACK
			func() error { w.Advance(200 * ms); return w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq-1, s.Ack, 0) }, // 7
			func() error { return w.Send(c, s, synth.ACK, 0) })                                                  // 8 re-ACK
	})
	la := recs[0].LostAck
	if la.Passive != SideServer || la.Retrans.Frame.N != 7 || la.FinalAck.Frame.N != 6 || la.ReAck.Frame.N != 8 || la.RST.Seen() {
		t.Errorf("lost ACK evidence %+v, want passive server, resent FIN frame 7, final ACK 6, re-ACK 8", la)
	}
	if got := recs[0].CloseAt.Frame.N; got != 6 {
		t.Errorf("close at frame %d, want 6 (the first ACK of the last FIN)", got)
	}
}

func TestTrackerIncarnations(t *testing.T) {
	tests := []struct {
		name    string
		build   func(w *synth.Writer, c, s *synth.End) error
		records int
		check   func(t *testing.T, recs []Record)
	}{{
		name: "SYN sent again with the same ISN is one connection",
		build: func(w *synth.Writer, c, s *synth.End) error {
			isn := c.Seq
			return steps(func() error { return w.Send(c, s, synth.SYN, 0) },
				func() error { w.Advance(time.Second); return w.SendAt(c, s, synth.SYN, isn, 0, 0) },
				func() error { return w.Send(s, c, synth.SYN|synth.ACK, 0) },
				func() error { return w.Send(c, s, synth.ACK, 0) })
		},
		records: 1,
		check: func(t *testing.T, recs []Record) {
			if recs[0].C.SYNRetrans != 1 {
				t.Errorf("SYN retransmissions %d, want 1", recs[0].C.SYNRetrans)
			}
		},
	}, {
		// As in Zeek's pop3 trace: SYN, RST, and the very same SYN again.
		name: "the same SYN after a RST starts a new incarnation",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.SendAt(c, s, synth.SYN, c.Seq, 0, 0) },
				func() error { return w.SendAt(s, c, synth.RST|synth.ACK, 0, c.Seq, 0) },
				func() error { w.Advance(500 * ms); return w.SendAt(c, s, synth.SYN, c.Seq-1, 0, 0) },
				func() error { return w.SendAt(s, c, synth.RST|synth.ACK, 0, c.Seq, 0) })
		},
		records: 2,
		check: func(t *testing.T, recs []Record) {
			for _, r := range recs {
				if r.Close != CloseRST || r.RSTBy != SideServer || r.ZeekState != "REJ" {
					t.Errorf("id %d: close %v by %v zeek %s, want rst by server, REJ", r.ID, r.Close, r.RSTBy, r.ZeekState)
				}
			}
			if !recs[1].HasPrev || recs[1].Prev.ID != recs[0].ID {
				t.Error("second incarnation does not know the first")
			}
		},
	}, {
		name: "a new ISN after a FIN close is a new incarnation with a reuse gap",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Close(c, s, ms) }, // final ACK at t0+5ms
				func() error {
					w.Advance(1500 * ms)
					c.Seq += 65537 // tcp_tw_reuse's ISN
					s.Ack = 0
					return w.Handshake(c, s, ms)
				})
		},
		records: 2,
		check: func(t *testing.T, recs []Record) {
			r := recs[1]
			if !r.HasPrev || r.Partial {
				t.Fatalf("second incarnation: prev %v partial %v", r.HasPrev, r.Partial)
			}
			// Close() advances 1 ms after the final ACK; then 1.5 s.
			if want := 1501 * ms; time.Duration(r.ReuseGap) != want {
				t.Errorf("reuse gap %v, want %v", time.Duration(r.ReuseGap), want)
			}
			if r.C.ISN != r.Prev.Final[0]+65537 {
				t.Errorf("new ISN %d, old final %d", r.C.ISN, r.Prev.Final[0])
			}
		},
	}, {
		// Mid-stream start: the server sends first, but the server is the
		// side with the lower port.
		name: "partial connection: roles from the ports",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Send(s, c, synth.PSH|synth.ACK, 500) },
				func() error { return w.Send(c, s, synth.ACK, 0) })
		},
		records: 1,
		check: func(t *testing.T, recs []Record) {
			r := recs[0]
			if !r.Partial || r.Server.Port() != 80 || r.Client.Port() != 40000 {
				t.Errorf("partial %v client %v server %v", r.Partial, r.Client, r.Server)
			}
		},
	}, {
		// The SYN was not captured; after a RST a SYN+ACK with a new ISN
		// shows that a new incarnation began.
		name: "SYN+ACK with a new ISN where the SYN is missing",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Send(c, s, synth.PSH|synth.ACK, 10) },
				func() error { return w.Send(s, c, synth.RST|synth.ACK, 0) },
				func() error {
					w.Advance(time.Second)
					s.Seq += 1 << 20
					return w.SendAt(s, c, synth.SYN|synth.ACK, s.Seq, c.Seq+5000, 0)
				})
		},
		records: 2,
		check: func(t *testing.T, recs []Record) {
			if !recs[1].S.SYN.Seen() || recs[1].C.SYN.Seen() || !recs[1].Partial {
				t.Errorf("second incarnation: server SYN %v client SYN %v partial %v",
					recs[1].S.SYN.Seen(), recs[1].C.SYN.Seen(), recs[1].Partial)
			}
		},
	}, {
		// Quiet past the idle bound, then on where it stopped: the same
		// incarnation (domain.md 2: no phantom connections).
		name: "an idle connection that continues exactly is one incarnation",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { w.Advance(6 * time.Minute); return w.Exchange(c, s, 10, 10, ms) },
				func() error { return w.Close(c, s, ms) })
		},
		records: 1,
		check: func(t *testing.T, recs []Record) {
			if recs[0].Evicted || recs[0].Partial || recs[0].Close != CloseFIN || recs[0].Closer != SideClient {
				t.Errorf("evicted %v partial %v close %v closer %v, want one fin record closed by the client",
					recs[0].Evicted, recs[0].Partial, recs[0].Close, recs[0].Closer)
			}
		},
	}, {
		// Quiet past the idle bound, then sequence numbers elsewhere: a
		// new (partial) incarnation, the old one closed out as open.
		name: "an idle connection followed by other numbers is closed out as open",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { w.Advance(6 * time.Minute); c.Seq += 5000; return w.Exchange(c, s, 10, 10, ms) })
		},
		records: 2,
		check: func(t *testing.T, recs []Record) {
			if !recs[0].Evicted || recs[0].Close != CloseOpen || !recs[1].Partial {
				t.Errorf("first evicted %v close %v; second partial %v", recs[0].Evicted, recs[0].Close, recs[1].Partial)
			}
		},
	}, {
		// Sequence numbers wrap through zero during the connection: the
		// FIN's sequence number is small, the ISN near 2^32.
		name: "serial arithmetic across the wrap",
		build: func(w *synth.Writer, c, s *synth.End) error {
			c.Seq, s.Seq = 0xFFFFFF00, 0xFFFFFFF0
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 1000, 1000, ms) },
				func() error { return w.Close(s, c, ms) })
		},
		records: 1,
		check: func(t *testing.T, recs []Record) {
			r := recs[0]
			if r.Closer != SideServer || r.FinalAck != FinalAckSeen || r.C.Bytes != 1000 || r.S.Bytes != 1000 {
				t.Errorf("closer %v final ack %v bytes %d/%d", r.Closer, r.FinalAck, r.C.Bytes, r.S.Bytes)
			}
			if want := uint32(0xFFFFFF00 + 1002 - 1<<32); r.C.NextSeq != want {
				t.Errorf("client final seq %#x", r.C.NextSeq)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := trackSynth(t, Config{}, tt.build)
			if len(recs) != tt.records {
				t.Fatalf("got %d records, want %d", len(recs), tt.records)
			}
			tt.check(t, recs)
		})
	}
}

// resentFINAnsweredByRST is a client close whose final ACK is lost: the
// server sends its FIN again 200 ms later and the client, which kept no
// TIME_WAIT state, answers with a bare RST.
func resentFINAnsweredByRST(w *synth.Writer, c, s *synth.End) error {
	return steps(func() error { return w.Handshake(c, s, ms) },
		func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
		func() error { return w.Send(s, c, synth.FIN|synth.ACK, 0) },
		func() error { w.Advance(200 * ms); return w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq-1, s.Ack, 0) },
		func() error { return w.SendAt(c, s, synth.RST, c.Seq, 0, 0) })
}
