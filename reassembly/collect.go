package reassembly

import (
	"errors"
	"io"
	"net/netip"
	"slices"
)

// Records keep what the analysis needs of a connection, not its packets.
// Drawing a few connections packet by packet (the HTML report's ladder
// diagrams) needs each packet's time, direction, flags, sequence and
// acknowledgement numbers: CollectFrames reads the captures a second time
// for them, and keeps a bounded window of each connection around the
// frames asked for, so that memory stays flat whatever the capture holds.

// Window asks for the packets of one conversation (both directions of
// Client and Server, every incarnation) around some of its frames.
type Window struct {
	Client, Server netip.AddrPort
	// Frames are the frames the window is anchored on: it starts Before
	// packets before the first of them to arrive and ends After packets
	// after the last.
	Frames        []Frame
	Before, After int
	// Max bounds the packets kept: past it, the first Max/2 are kept and,
	// of the rest, the last Max/2, the anchor frames among them first.
	Max int
}

// Collected is what the second read found of one Window.
type Collected struct {
	// Segments are the packets kept, in capture order; none when no anchor
	// frame was found.
	Segments []Segment
	// Gap is the index in Segments before which Omitted packets of the
	// conversation were left out (0 and 0: none).
	Gap, Omitted int
	// Complete is true when every anchor frame was found.
	Complete bool
}

// Anchor reports whether a collected segment is one of the window's
// frames.
func (w *Window) Anchor(seg *Segment) bool {
	return slices.Contains(w.Frames, Frame{File: seg.File, N: seg.Frame})
}

// FromClient reports whether a segment of the window's conversation was
// sent by its client.
func (w *Window) FromClient(seg *Segment) bool {
	return netip.AddrPortFrom(seg.Src, seg.SrcPort) == w.Client && netip.AddrPortFrom(seg.Dst, seg.DstPort) == w.Server
}

// collecting is a window being filled.
type collecting struct {
	Collected
	w         *Window
	remaining int       // anchor frames not seen yet
	started   bool      // the first anchor frame was seen
	before    []Segment // the packets before the first anchor frame, at most Before
	tail      []Segment // the last packets once Max is reached
	after     int
	done      bool
}

// CollectFrames reads the captures again (files as given to the analysis,
// in the same order, with the same packet filter, nil for none) and
// returns what it found of each window, in the order asked. It stops
// reading once every window is complete. Standard input cannot be read a
// second time.
func CollectFrames(files []string, filter func(*Packet) bool, windows []Window) ([]Collected, error) {
	if len(windows) == 0 {
		return nil, nil
	}
	if slices.Contains(files, "-") {
		return nil, errors.New("collecting packets needs to read the captures again, which standard input cannot")
	}
	cs := make([]collecting, len(windows))
	for i := range windows {
		w := windows[i] // the caller's stays as it is
		w.Frames = slices.Clone(w.Frames)
		slices.SortFunc(w.Frames, func(a, b Frame) int {
			if a.File != b.File {
				return a.File - b.File
			}
			return a.N - b.N
		})
		w.Frames = slices.Compact(w.Frames)
		cs[i] = collecting{w: &w, remaining: len(w.Frames)}
	}
	src, err := Open(files, nil)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dec := NewDecoder()
	var (
		p   Packet
		seg Segment
	)
	pending := len(cs)
	for pending > 0 {
		if err := src.Next(&p); err != nil {
			if err == io.EOF || !IsFatal(err) {
				break
			}
			return nil, err
		}
		if filter != nil && !filter(&p) {
			continue
		}
		if dec.Decode(&p, &seg) != KindTCP {
			continue
		}
		for i := range cs {
			c := &cs[i]
			if c.done || !c.w.FromClient(&seg) && !(netip.AddrPortFrom(seg.Src, seg.SrcPort) == c.w.Server &&
				netip.AddrPortFrom(seg.Dst, seg.DstPort) == c.w.Client) {
				continue
			}
			if c.add(&seg) {
				pending--
			}
		}
	}
	out := make([]Collected, len(cs))
	for i := range cs {
		cs[i].finish()
		out[i] = cs[i].Collected
	}
	return out, nil
}

// add takes the next packet of the conversation and reports whether the
// window just became complete.
func (c *collecting) add(seg *Segment) bool {
	w := c.w
	anchor := w.Anchor(seg)
	if !c.started {
		if !anchor {
			if len(c.before) == w.Before {
				c.before = append(c.before[:0], c.before[1:]...)
			}
			if w.Before > 0 {
				c.before = append(c.before, *seg)
			}
			return false
		}
		c.started = true
		c.Segments = append(c.Segments, c.before...)
		c.before = nil
	}
	if c.remaining == 0 {
		c.after++
	}
	if anchor {
		c.remaining--
	}
	switch {
	case len(c.Segments) < w.Max/2 || c.Gap == 0 && len(c.Segments) < w.Max:
		c.Segments = append(c.Segments, *seg)
	default:
		// Past the bound: keep the last Max/2 packets, and every anchor
		// frame among them, in a ring.
		if c.Gap == 0 {
			c.Gap = w.Max / 2
			c.tail = append([]Segment(nil), c.Segments[c.Gap:]...)
			c.Segments = c.Segments[:c.Gap]
		}
		c.tail = append(c.tail, *seg)
		if len(c.tail) > w.Max/2 {
			drop := -1
			for i := range c.tail[:len(c.tail)-w.Max/2+1] {
				if !w.Anchor(&c.tail[i]) {
					drop = i
					break
				}
			}
			if drop < 0 {
				drop = 0
			}
			c.tail = append(c.tail[:drop], c.tail[drop+1:]...)
			c.Omitted++
		}
	}
	if c.remaining == 0 && c.after >= w.After {
		c.done = true
		return true
	}
	return false
}

func (c *collecting) finish() {
	if !c.started {
		// The anchor frames never came: nothing to anchor the window on.
		c.Segments = nil
		return
	}
	c.Segments = append(c.Segments, c.tail...)
	c.tail = nil
	c.Complete = c.remaining == 0
}
