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
// is not in the capture.
func TestCollectFrames(t *testing.T) {
	var buf bytes.Buffer
	w, err := synth.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	c := synth.NewEnd("10.0.0.1:40000", 1000, 5000)
	s := synth.NewEnd("10.0.0.2:80", 900000, 70000)
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
		gap, omitted  int
		complete      bool
		fromClientAll bool
	}{
		{"around two frames", Window{Frames: frames(12, 10), Before: 3, After: 2, Max: 28},
			span(7, 14), 0, 0, true, true},
		{"from the handshake", Window{Frames: frames(2), Before: 6, After: 1, Max: 28},
			span(1, 3), 0, 0, true, false},
		{"past the bound", Window{Frames: frames(5, 40), Before: 2, After: 1, Max: 10},
			append(span(3, 7), span(37, 41)...), 5, 29, true, false},
		{"anchor not in the capture", Window{Frames: frames(999), Before: 2, After: 1, Max: 10},
			nil, 0, 0, false, false},
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
			if !slices.Equal(ns, tc.want) || g.Gap != tc.gap || g.Omitted != tc.omitted || g.Complete != tc.complete {
				t.Errorf("frames %v gap %d omitted %d complete %v, want %v gap %d omitted %d complete %v",
					ns, g.Gap, g.Omitted, g.Complete, tc.want, tc.gap, tc.omitted, tc.complete)
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
