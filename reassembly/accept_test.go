package reassembly

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/twscope/twscope/reassembly/synth"
)

// The captures below are written by package synth (gopacket serializers,
// pcapgo writer) in the shapes domain.md 2 names; each test is one rule of
// accept.go, timejump.go or deriveClose.

// closeWant is the close facts a test expects of its one record.
type closeWant struct {
	closer, close, rstBy, holder string
	suspect, verdicts            int
}

func checkClose(t *testing.T, r *Record, w closeWant) {
	t.Helper()
	got := closeWant{r.Closer.String(), r.Close.String(), r.RSTBy.String(), r.TimeWaitHolder.String(),
		r.SuspectSegments, r.SuspectVerdicts}
	if got != w {
		t.Errorf("got %+v\nwant %+v", got, w)
	}
}

func TestAcceptCloseFacts(t *testing.T) {
	tests := []struct {
		name    string
		build   func(w *synth.Writer, c, s *synth.End) error
		want    closeWant
		verdict Verdict
		reason  SuspectReason
	}{{
		// As in Zeek's irc-starttls trace: the client closes, data still
		// comes, the client resets, the server's FIN follows. The RST came
		// before the last FIN was acknowledged: abortive, nobody holds
		// TIME_WAIT (before: "fin").
		name: "FIN, RST, FIN is rst",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(s, c, synth.PSH|synth.ACK, 30) },
				func() error { return w.Send(c, s, synth.RST, 0) },
				func() error { return w.Send(s, c, synth.FIN|synth.ACK, 0) },
				func() error { return w.SendAt(c, s, synth.RST, c.Seq, 0, 0) })
		},
		want: closeWant{"client", "rst", "client", "none", 0, 0},
	}, {
		// The passive closer resends its FIN, the active closer (no
		// TIME_WAIT state) answers RST: the close had completed at the RST's
		// sender, so it stays fin (domain.md 3), and nobody holds TIME_WAIT.
		name:  "RST answering a resent last FIN is fin",
		build: resentFINAnsweredByRST,
		want:  closeWant{"client", "fin", "client", "none", 0, 0},
	}, {
		name: "RST after the final ACK is fin",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Close(c, s, ms) },
				func() error { return w.SendAt(s, c, synth.RST, s.Seq, 0, 0) })
		},
		want: closeWant{"client", "fin", "server", "none", 0, 0},
	}, {
		// RFC 5961 3: a RST outside the window is dropped. 10 MB past what
		// the client acknowledged, with a 64 KiB window.
		name: "RST far outside the window is ignored",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 100, 1000, ms) },
				func() error { return w.SendAt(s, c, synth.RST, s.Seq+10_000_000, 0, 0) },
				func() error { return w.Close(c, s, ms) })
		},
		want:    closeWant{"client", "fin", "none", "client", 1, 1},
		verdict: VerdictClose, reason: SuspectSeq,
	}, {
		// Inside the window it counts (the capture cannot tell exact).
		name: "RST inside the window counts",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 100, 1000, ms) },
				func() error { return w.SendAt(s, c, synth.RST, s.Seq+100, 0, 0) })
		},
		want: closeWant{"none", "rst", "server", "none", 0, 0},
	}, {
		// A FIN at a sequence number the peer never reached: 5 MB past
		// anything acknowledged. The client's close stands.
		name: "FIN beyond reach is ignored",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 100, 1000, ms) },
				func() error { return w.SendAt(s, c, synth.FIN|synth.ACK, s.Seq+5_000_000, s.Ack, 0) },
				func() error { return w.Close(c, s, ms) })
		},
		want:    closeWant{"client", "fin", "none", "client", 1, 1},
		verdict: VerdictCloser, reason: SuspectSeq,
	}, {
		// The server closes; a forged ACK from the client acknowledges
		// 600 MB past its FIN: no final ACK.
		name: "ACK 600 MB ahead is ignored",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 100, 1000, ms) },
				func() error { return w.Send(s, c, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(c, s, synth.ACK, 0) },
				func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { return w.SendAt(s, c, synth.ACK, s.Seq, c.Seq+600_000_000, 0) })
		},
		want:    closeWant{"server", "fin", "none", "server", 1, 1},
		verdict: VerdictHolder, reason: SuspectAck,
	}, {
		// The capture missed 100 MB of the server's data (a trimmed or
		// lossy capture): its sequence numbers jump, and the client's ACK
		// confirms the jump. Not suspect, and the close is the server's.
		name: "a jump the peer confirms is a capture gap",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Handshake(c, s, ms) },
				func() error { return w.Exchange(c, s, 100, 1000, ms) },
				func() error { s.Seq += 100_000_000; return w.Send(s, c, synth.FIN|synth.PSH|synth.ACK, 500) },
				func() error { return w.Send(c, s, synth.ACK, 0) },
				func() error { return w.Send(c, s, synth.FIN|synth.ACK, 0) },
				func() error { return w.Send(s, c, synth.ACK, 0) })
		},
		want: closeWant{"server", "fin", "none", "server", 0, 0},
	}, {
		// No handshake: the window is unknown, so a 10 MB jump is no
		// evidence of anything.
		name: "partial capture: no suspects without a window",
		build: func(w *synth.Writer, c, s *synth.End) error {
			return steps(func() error { return w.Exchange(c, s, 100, 1000, ms) },
				func() error { s.Seq += 10_000_000; return w.Exchange(c, s, 100, 1000, ms) },
				func() error { return w.Close(s, c, ms) })
		},
		want: closeWant{"server", "fin", "none", "server", 0, 0},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := trackSynth(t, Config{}, tt.build)
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := &recs[0]
			checkClose(t, r, tt.want)
			if tt.want.verdicts > 0 && (r.Suspect == nil || r.Suspect.Verdict != tt.verdict || r.Suspect.Reason != tt.reason || !r.Suspect.Seen()) {
				t.Errorf("suspect %+v, want verdict %v reason %v", r.Suspect, tt.verdict, tt.reason)
			}
		})
	}
}

// TestAcceptBadDataOffset writes, with pcapgo, a RST whose data offset
// says 60 bytes in a packet whose IP length leaves 20 for TCP: no stack
// takes it, so it is counted and the close stays the client's FIN.
func TestAcceptBadDataOffset(t *testing.T) {
	var buf bytes.Buffer
	pw := pcapgo.NewWriterNanos(&buf)
	if err := pw.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	at := synth.Epoch
	write := func(fromClient bool, flags uint8, seq, ack uint32, dataOffset uint8) {
		t.Helper()
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, Ack: ack, Window: 64240,
			FIN: flags&FlagFIN != 0, SYN: flags&FlagSYN != 0, RST: flags&FlagRST != 0, ACK: flags&FlagACK != 0}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
		if !fromClient {
			tcp.SrcPort, tcp.DstPort = 80, 40000
			ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
		}
		eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
			t.Fatal(err)
		}
		data := sb.Bytes()
		if dataOffset != 0 {
			data[14+20+12] = dataOffset << 4
		}
		at = at.Add(ms)
		if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
	}
	const ack = FlagACK
	write(true, FlagSYN, 100, 0, 0)
	write(false, FlagSYN|ack, 500, 101, 0)
	write(true, ack, 101, 501, 0)
	write(false, FlagRST|ack, 501, 101, 15) // 60-byte header in a 20-byte TCP packet
	write(true, FlagFIN|ack, 101, 501, 0)
	write(false, FlagFIN|ack, 501, 102, 0)
	write(true, ack, 102, 502, 0)

	recs, st, _ := track(t, Config{}, &buf)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	checkClose(t, &recs[0], closeWant{"client", "fin", "none", "client", 1, 1})
	if sg := recs[0].Suspect; sg == nil || sg.Reason != SuspectHeader || sg.Frame.N != 4 || st.Suspect != 1 {
		t.Errorf("suspect %+v, stats %d, want the header of frame 4, 1", recs[0].Suspect, st.Suspect)
	}
}

// TestAcceptTwoSequenceViews captures one connection on both sides of a
// firewall that randomises the client's sequence numbers: every client
// segment appears first as sent (inside) and then shifted by delta
// (outside), every server segment first with its ACK shifted (outside),
// then as delivered (inside); IP IDs and TSvals are the same in both views.
// One incarnation, closed by the client, in the inside numbers.
func TestAcceptTwoSequenceViews(t *testing.T) {
	const delta = 0x40000000
	recs := trackSynth(t, Config{}, func(w *synth.Writer, c, s *synth.End) error {
		c.IPID, s.IPID, c.TSStep, s.TSStep = 7000, 3000, 0, 0
		client := func(flags, n int) error {
			seq, ack, id := c.Seq, c.Ack, c.IPID
			if err := w.Send(c, s, flags, n); err != nil {
				return err
			}
			c.IPID = id // the same packet, rewritten (the TSval did not move: TSStep 0)
			c.NoUpdate = true
			defer func() { c.NoUpdate = false; c.IPID = id + 1; c.TSval++ }()
			return w.SendAt(c, s, flags, seq+delta, ack, n)
		}
		server := func(flags, n int) error {
			seq, ack, id := s.Seq, s.Ack, s.IPID
			s.NoUpdate = true
			if err := w.SendAt(s, c, flags, seq, ack+delta, n); err != nil {
				return err
			}
			s.NoUpdate, s.IPID = false, id
			defer func() { s.TSval++ }()
			return w.Send(s, c, flags, n)
		}
		return steps(func() error { return client(synth.SYN, 0) },
			func() error { return server(synth.SYN|synth.ACK, 0) },
			func() error { return client(synth.ACK, 0) },
			func() error { return client(synth.PSH|synth.ACK, 100) },
			func() error { return server(synth.PSH|synth.ACK, 1000) },
			func() error { return client(synth.FIN|synth.ACK, 0) },
			func() error { return server(synth.FIN|synth.ACK, 0) },
			func() error { return client(synth.ACK, 0) })
	})
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := &recs[0]
	if r.Closer != SideClient || r.Close != CloseFIN || r.TimeWaitHolder != SideClient || r.Partial {
		t.Errorf("closer %v close %v holder %v partial %v, want client fin client", r.Closer, r.Close, r.TimeWaitHolder, r.Partial)
	}
	if r.C.ISN != 1000 || r.SuspectSegments == 0 || r.SuspectVerdicts == 0 {
		t.Errorf("ISN %d suspects %d (%d verdicts), want 1000 and the outside view counted", r.C.ISN, r.SuspectSegments, r.SuspectVerdicts)
	}
}

// TestAcceptChallengeACK is RFC 5961 4 as a capture shows it: the server
// still holds an older incarnation, answers the SYN with an ACK of that
// state, the client resets it (RST at that ACK number) and sends the same
// SYN again, which is then answered. One connection attempt, not an
// incarnation "reset by the client".
func TestAcceptChallengeACK(t *testing.T) {
	recs := trackSynth(t, Config{}, func(w *synth.Writer, c, s *synth.End) error {
		const oldAck = 777777
		return steps(func() error { return w.SendAt(c, s, synth.SYN, c.Seq, 0, 0) },
			func() error { return w.SendAt(s, c, synth.ACK, 123456, oldAck, 0) },
			func() error { return w.SendAt(c, s, synth.RST, oldAck, 0, 0) },
			func() error { w.Advance(time.Second); return w.SendAt(c, s, synth.SYN, c.Seq-1, 0, 0) },
			func() error { return w.Send(s, c, synth.SYN|synth.ACK, 0) },
			func() error { return w.Send(c, s, synth.ACK, 0) },
			func() error { return w.Exchange(c, s, 10, 10, ms) },
			func() error { return w.Close(c, s, ms) })
	})
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := &recs[0]
	checkClose(t, r, closeWant{"client", "fin", "none", "client", 0, 0})
	if !r.StaleState.Seen() || !r.StaleState.RST.Seen() || r.StaleState.Ack != 777777 || !r.StaleState.SYNAgain || r.C.SYNRetrans != 1 || r.Partial {
		t.Errorf("stale state %+v, SYN resent %d, partial %v", r.StaleState, r.C.SYNRetrans, r.Partial)
	}
}

// TestTimeJump puts one packet of a connection three years ahead (a stray
// record): the connection's times stay those of its neighbours, and the
// jump is reported with its frame. Then the capture moves on by years for
// good (merged captures): the next connection lies in the new time.
func TestTimeJump(t *testing.T) {
	buf, w, c, s := synthCapture(t)
	c2 := synth.NewEnd("10.0.0.1:40001", 5000, 9000)
	const years = 3 * 365 * 24 * time.Hour
	if err := steps(func() error { return w.Handshake(c, s, ms) },
		func() error { w.Advance(years); return w.Send(c, s, synth.PSH|synth.ACK, 10) }, // frame 4
		func() error { w.Advance(-years); return w.Send(s, c, synth.ACK, 0) },
		func() error { return w.Close(s, c, ms) },
		func() error { w.Advance(years); return w.Handshake(c2, s, ms) }, // frames 9-11
		func() error { return w.Close(c2, s, ms) }); err != nil {
		t.Fatal(err)
	}
	recs, st, _ := track(t, Config{}, buf)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	if d := recs[0].End - recs[0].Start; d < 0 || d > int64(time.Second) {
		t.Errorf("first connection lasts %v, want milliseconds", time.Duration(d))
	}
	if d := recs[1].End - recs[1].Start; d < 0 || d > int64(time.Second) || recs[1].Start-recs[0].End < int64(years)/2 {
		t.Errorf("second connection lasts %v from %v after the first", time.Duration(d), time.Duration(recs[1].Start-recs[0].End))
	}
	if recs[0].Close != CloseFIN || recs[0].Closer != SideServer || recs[0].Evicted {
		t.Errorf("first: close %v closer %v evicted %v", recs[0].Close, recs[0].Closer, recs[0].Evicted)
	}
	if st.TimeJumpCount != 2 || st.TimeJumps[0].Frame.N != 4 || st.TimeJumps[1].Frame.N != 9 {
		t.Errorf("time jumps %d %+v, want frames 4 and 9", st.TimeJumpCount, st.TimeJumps)
	}
}
