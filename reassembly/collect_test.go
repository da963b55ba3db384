package reassembly

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestCollectFrames writes a capture (package synth: gopacket-serialized
// frames) of one connection, a handshake then 40 data segments from the
// client (frames 1 to 43), and another connection's packets after it, and
// collects windows of the first around anchor frames: the window starts
// Before packets before the first anchor, ends After packets past the
// last, keeps at most Max with the anchors, and is empty when its anchor
// is not in the capture. With Head, it starts at the SYN and leaves out
// the packets between the Head and the Before packets, and says so; the
// relative numbers are Wireshark's (ISN 1000 and 900000: the SYN has
// relative seq 0, the first data segment seq 1 ack 1).
func TestCollectFrames(t *testing.T) {
	buf, w, c, s := synthCapture(t)
	other := synth.NewEnd("10.0.0.3:40000", 1000, 5000)
	if err := w.Handshake(c, s, ms); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		w.Advance(ms)
		if err := w.Send(c, s, synth.ACK|synth.PSH, 100); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Handshake(other, s, ms); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "collect.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	frames := func(ns ...int) []Frame {
		out := make([]Frame, len(ns))
		for i, n := range ns {
			out[i] = Frame{N: n}
		}
		return out
	}
	span := func(from, to int) []int {
		var out []int
		for n := from; n <= to; n++ {
			out = append(out, n)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		w             Window
		want          []int // frame numbers collected
		gaps          []Gap
		complete      bool
		fromClientAll bool
		fromSYN       bool
	}{
		{"around two frames", Window{Frames: frames(12, 10), Before: 3, After: 2, Max: 28},
			span(7, 14), []Gap{{0, 6}}, true, true, false},
		{"from the handshake", Window{Frames: frames(2), Before: 6, After: 1, Max: 28},
			span(1, 3), nil, true, false, false},
		{"past the bound", Window{Frames: frames(5, 40), Before: 2, After: 1, Max: 10},
			append(span(3, 7), span(37, 41)...), []Gap{{0, 2}, {5, 29}}, true, false, false},
		{"from the SYN", Window{Frames: frames(12), Before: 3, After: 1, Head: 4, Max: 28},
			append(span(1, 4), span(9, 13)...), []Gap{{4, 4}}, true, false, true},
		{"from the SYN, nothing left out", Window{Frames: frames(8), Before: 3, After: 1, Head: 4, Max: 28},
			span(1, 9), nil, true, false, true},
		{"anchor not in the capture", Window{Frames: frames(999), Before: 2, After: 1, Max: 10},
			nil, nil, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.w.Client, tc.w.Server = c.Addr, s.Addr
			asked := slices.Clone(tc.w.Frames)
			got, err := CollectFrames([]string{path}, nil, []Window{tc.w})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d windows back, want 1", len(got))
			}
			g := got[0]
			var ns []int
			for i := range g.Segments {
				seg := &g.Segments[i]
				ns = append(ns, seg.Frame)
				if tc.fromClientAll && !tc.w.FromClient(seg) {
					t.Errorf("frame %d not from the client", seg.Frame)
				}
				if tc.w.Anchor(seg) != slices.Contains(asked, Frame{N: seg.Frame}) {
					t.Errorf("frame %d: anchor %v", seg.Frame, tc.w.Anchor(seg))
				}
			}
			if !slices.Equal(ns, tc.want) || !slices.Equal(g.Gaps, tc.gaps) || g.Complete != tc.complete || g.FromSYN != tc.fromSYN {
				t.Errorf("frames %v gaps %v complete %v from SYN %v, want %v gaps %v complete %v from SYN %v",
					ns, g.Gaps, g.Complete, g.FromSYN, tc.want, tc.gaps, tc.complete, tc.fromSYN)
			}
			if len(g.Rel) != len(g.Segments) {
				t.Fatalf("%d relative numbers for %d segments", len(g.Rel), len(g.Segments))
			}
			for i, seg := range g.Segments {
				// Frames 1-3 are the handshake; data from the client follows,
				// 100 bytes a segment from relative seq 1.
				var want RelSeq
				switch seg.Frame {
				case 1:
					want = RelSeq{Seq: 0}
				case 2:
					want = RelSeq{Seq: 0, Ack: 1, AckKnown: true}
				default:
					want = RelSeq{Seq: 1 + 100*uint32(max(0, seg.Frame-4)), Ack: 1, AckKnown: true}
				}
				if tc.fromSYN || tc.name == "from the handshake" {
					if g.Rel[i] != want {
						t.Errorf("frame %d: relative %+v, want %+v", seg.Frame, g.Rel[i], want)
					}
				}
			}
			if !slices.Equal(tc.w.Frames, asked) {
				t.Errorf("the window's frames changed to %v", tc.w.Frames)
			}
		})
	}
	if _, err := CollectFrames([]string{"-"}, nil, []Window{{Frames: frames(1)}}); err == nil || !strings.Contains(err.Error(), "standard input") {
		t.Errorf("from standard input: %v", err)
	}
}

// TestCollectFramesNoSYN: a connection whose SYN is not in the capture
// (data from the client from frame 1, then from the server): the window
// cannot start at a SYN, so it says how many earlier packets it left
// out, and the relative numbers are Wireshark's without a SYN (the first
// segment of each direction has relative seq 1; until the server sends,
// its base comes from the client's ACK number).
func TestCollectFramesNoSYN(t *testing.T) {
	var buf bytes.Buffer
	w, err := synth.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	c := synth.NewEnd("10.0.0.1:40000", 5000, 5000)
	s := synth.NewEnd("10.0.0.2:80", 900001, 70000)
	c.Ack, s.Ack = 900001, 5000
	for i := 0; i < 6; i++ { // frames 1-6: client data, then frames 7-12 server data
		w.Advance(ms)
		if err := w.Send(c, s, synth.ACK|synth.PSH, 100); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 6; i++ {
		w.Advance(ms)
		if err := w.Send(s, c, synth.ACK|synth.PSH, 10); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "nosyn.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := CollectFrames([]string{path}, nil, []Window{{Client: c.Addr, Server: s.Addr,
		Frames: []Frame{{N: 9}}, Head: 4, Before: 3, After: 1, Max: 28}})
	if err != nil {
		t.Fatal(err)
	}
	g := got[0]
	var ns []int
	for _, seg := range g.Segments {
		ns = append(ns, seg.Frame)
	}
	if !slices.Equal(ns, []int{6, 7, 8, 9, 10}) || g.FromSYN || !slices.Equal(g.Gaps, []Gap{{0, 5}}) {
		t.Errorf("frames %v from SYN %v gaps %v; want 6-10, not from a SYN, 5 earlier left out", ns, g.FromSYN, g.Gaps)
	}
	want := []RelSeq{
		{Seq: 501, Ack: 1, AckKnown: true}, // the client's sixth segment; the server's base from frame 1's ACK
		{Seq: 1, Ack: 601, AckKnown: true}, // the server's first
		{Seq: 11, Ack: 601, AckKnown: true},
		{Seq: 21, Ack: 601, AckKnown: true},
		{Seq: 31, Ack: 601, AckKnown: true},
	}
	if !slices.Equal(g.Rel, want) {
		t.Errorf("relative %+v, want %+v", g.Rel, want)
	}
}
