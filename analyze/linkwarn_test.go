package analyze

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/twscope/twscope/reassembly/synth"
)

// linkCapture writes n connections (handshake, one exchange, close) with
// package synth, then passes every frame through edit, which returns the
// frames to write in its place (none drops it). Frame i counts from 0.
func linkCapture(t *testing.T, n int, edit func(i int, frame []byte) [][]byte) []byte {
	t.Helper()
	var raw bytes.Buffer
	w, err := synth.NewWriter(&raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c := synth.NewEnd(fmt.Sprintf("10.0.0.1:%d", 40000+i), 1000, 5000)
		s := synth.NewEnd("10.0.0.2:80", 900000, 70000)
		if err := w.Handshake(c, s, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := w.Exchange(c, s, 100, 1000, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(c, s, time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	r, err := pcapgo.NewReader(&raw)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	pw := pcapgo.NewWriterNanos(&out)
	if err := pw.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range edit(i, data) {
			ci.CaptureLength, ci.Length = len(f), len(f)
			if err := pw.WritePacket(ci, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out.Bytes()
}

// withEtherType puts frame's payload behind EtherType et and head.
func withEtherType(frame []byte, et uint16, head ...byte) []byte {
	f := append(bytes.Clone(frame[:12]), byte(et>>8), byte(et))
	f = append(f, head...)
	return append(f, frame[12:]...) // head ends with the original EtherType
}

// TestLinkWarnings checks the link-layer rules of issue 11: TCP behind Cisco
// MetaData is read like any other; a large share of frames of an EtherType
// the decoder does not read, a capture without TCP, and one that sees one
// direction of its connections each get one warning, naming the EtherTypes
// and counts.
func TestLinkWarnings(t *testing.T) {
	// Cisco MetaData: version 1, length 1, option SGT (length 0, type 1),
	// SGT 100, then the EtherType of the payload (still in the frame).
	cmd := func(_ int, f []byte) [][]byte { return [][]byte{withEtherType(f, 0x8909, 1, 1, 0, 1, 0, 100)} }
	// A local experimental EtherType (0x88b5) hides half the frames.
	hidden := func(i int, f []byte) [][]byte {
		if i%2 == 1 {
			g := bytes.Clone(f)
			binary.BigEndian.PutUint16(g[12:], 0x88b5)
			return [][]byte{g}
		}
		return [][]byte{f}
	}
	arp := func(_ int, f []byte) [][]byte {
		g := bytes.Clone(f[:14+28])
		binary.BigEndian.PutUint16(g[12:], uint16(layers.EthernetTypeARP))
		return [][]byte{g}
	}
	// Only the client's frames: the client's source port is not 80.
	oneWay := func(_ int, f []byte) [][]byte {
		if binary.BigEndian.Uint16(f[14+20:]) == 80 {
			return nil
		}
		return [][]byte{f}
	}
	// Some frames of one way only, fewer than those seen both ways.
	fewOneWay := func(i int, f []byte) [][]byte {
		if i >= 3*10 && binary.BigEndian.Uint16(f[14+20:]) == 80 {
			return nil // conns 3 and 4 (10 frames each) lose the server's frames
		}
		return [][]byte{f}
	}
	same := func(_ int, f []byte) [][]byte { return [][]byte{f} }
	tests := []struct {
		name     string
		edit     func(int, []byte) [][]byte
		tcp      int      // TCP packets read
		closed   int      // connections closed with both FINs
		warnings []string // each the text of one warning, in order
	}{
		{"plain", same, 50, 5, nil},
		{"cisco-metadata", cmd, 50, 5, nil},
		{"hidden-ethertype", hidden, 25, 0, []string{"25 of 50 packets (50%) carry no IP the decoder reads, by EtherType: 0x88b5 25"}},
		{"no-tcp", arp, 0, 0, []string{"50 of 50 packets (100%) carry no IP the decoder reads, by EtherType: 0x0806 (ARP) 50", "no TCP in 50 packets: nothing to analyze"}},
		{"one-direction", oneWay, 30, 0, []string{"5 of 5 connections carry packets from one side only"}},
		{"some-one-way", fewOneWay, 42, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := twRunBytes(t, Options{}, linkCapture(t, 5, tt.edit))
			if res.Totals.TCPPackets != tt.tcp {
				t.Errorf("%d TCP packets, want %d", res.Totals.TCPPackets, tt.tcp)
			}
			if got := res.Closes.ByKind["fin"]; got != tt.closed {
				t.Errorf("%d fin closes, want %d (%v)", got, tt.closed, res.Closes.ByKind)
			}
			if len(res.Warnings) != len(tt.warnings) {
				t.Fatalf("warnings %q, want %d", res.Warnings, len(tt.warnings))
			}
			for i, w := range res.Warnings {
				if !strings.HasPrefix(w, tt.warnings[i]) {
					t.Errorf("warning %q, want %q", w, tt.warnings[i])
				}
			}
		})
	}
}
