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
	// Head is how many packets of the incarnation's start are kept when
	// its SYN (or, without one, its SYN+ACK) came before the first anchor
	// frame: the window then starts at the SYN, and the packets between
	// the Head and the Before packets are left out and counted.
	Head int
	// Max bounds the packets kept from the first anchor frame on: past
	// it, the first Max/2 are kept and, of the rest, the last Max/2, the
	// anchor frames among them first.
	Max int
}

// Collected is what the second read found of one Window.
type Collected struct {
	// Segments are the packets kept, in capture order; none when no anchor
	// frame was found. Rel is each one's sequence and acknowledgement
	// numbers relative to the conversation's, as Wireshark shows them.
	Segments []Segment
	Rel      []RelSeq
	// Gaps are where packets of the conversation were left out, in order.
	Gaps []Gap
	// Complete is true when every anchor frame was found.
	Complete bool
	// FromSYN is true when Segments start at the incarnation's SYN (or
	// its SYN+ACK when the SYN is not in the capture).
	FromSYN bool
}

// Gap is a run of packets left out: Omitted of them before Segments[At].
type Gap struct{ At, Omitted int }

// RelSeq is a segment's sequence and acknowledgement numbers relative to
// the first of each direction, as Wireshark's "relative sequence numbers"
// do (packet-tcp.c): a direction's base is its SYN's sequence number, or
// the first segment's minus one when no SYN starts it; the reverse base
// is taken from the first ACK number, minus one, until the reverse
// direction sends. A SYN with another sequence number than the base
// starts a new conversation (ports reused), with new bases.
type RelSeq struct {
	Seq, Ack uint32
	AckKnown bool // the peer's base is known (always once the ACK flag is set)
}

// relBases follows Wireshark's bases over every packet of a conversation.
type relBases struct {
	base [2]uint32 // by direction: 0 from the client
	set  [2]bool
}

func (b *relBases) next(seg *Segment, dir int) RelSeq {
	if seg.Flags&(FlagSYN|FlagACK) == FlagSYN && b.set[dir] && seg.Seq != b.base[dir] {
		*b = relBases{} // a new conversation on the same ports
	}
	if !b.set[dir] {
		b.base[dir], b.set[dir] = seg.Seq, true
		if seg.Flags&FlagSYN == 0 {
			b.base[dir] = seg.Seq - 1
		}
	}
	rev := 1 - dir
	if !b.set[rev] && seg.Flags&FlagACK != 0 {
		b.base[rev], b.set[rev] = seg.Ack-1, true
	}
	r := RelSeq{Seq: seg.Seq - b.base[dir]}
	if seg.Flags&FlagACK != 0 && b.set[rev] {
		r.Ack, r.AckKnown = seg.Ack-b.base[rev], true
	}
	return r
}

// Anchor reports whether a collected segment is one of the window's
// frames.
func (w *Window) Anchor(seg *Segment) bool {
	return slices.Contains(w.Frames, Frame{File: seg.File, N: seg.Frame})
}

// FromClient reports whether a segment of the window's conversation was
// sent by its client.
func (w *Window) FromClient(seg *Segment) bool {
	return netip.AddrPortFrom(seg.Src(), seg.SrcPort) == w.Client && netip.AddrPortFrom(seg.Dst(), seg.DstPort) == w.Server
}

// kept is a segment with its relative numbers.
type kept struct {
	seg Segment
	rel RelSeq
}

// collecting is a window being filled.
type collecting struct {
	w         *Window
	bases     relBases
	remaining int    // anchor frames not seen yet
	started   bool   // the first anchor frame was seen
	head      []kept // the incarnation's first packets, from its SYN, at most Head
	fromSYN   bool   // head starts at the incarnation's SYN (or SYN+ACK)
	before    []kept // the packets before the first anchor frame, after head, at most Before
	skipped   int    // packets between head and before, left out
	segs      []kept
	cut       int    // index in segs where the middle of a long run is left out (0: none)
	omitted   int    // packets left out there
	tail      []kept // the last packets once Max is reached
	after     int
	done      bool
	gaps      []Gap
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
			if c.done {
				continue
			}
			dir := 0
			switch {
			case c.w.FromClient(&seg):
			case netip.AddrPortFrom(seg.Src(), seg.SrcPort) == c.w.Server && netip.AddrPortFrom(seg.Dst(), seg.DstPort) == c.w.Client:
				dir = 1
			default:
				continue
			}
			if c.add(kept{seg, c.bases.next(&seg, dir)}) {
				pending--
			}
		}
	}
	out := make([]Collected, len(cs))
	for i := range cs {
		out[i] = cs[i].finish()
	}
	return out, nil
}

// startsIncarnation reports whether k starts a new incarnation of the
// conversation for the window's head: a client SYN (not the same SYN sent
// again), or a SYN+ACK when no SYN was seen.
func (c *collecting) startsIncarnation(k *kept) bool {
	f := k.seg.Flags
	switch {
	case f&(FlagSYN|FlagACK) == FlagSYN:
		return len(c.head) == 0 || c.head[0].seg.Flags&(FlagSYN|FlagACK) != FlagSYN || c.head[0].seg.Seq != k.seg.Seq
	case f&(FlagSYN|FlagACK) == FlagSYN|FlagACK:
		return !c.fromSYN
	}
	return false
}

// add takes the next packet of the conversation and reports whether the
// window just became complete.
func (c *collecting) add(k kept) bool {
	w := c.w
	anchor := w.Anchor(&k.seg)
	if !c.started {
		if !anchor {
			switch {
			case w.Head > 0 && c.startsIncarnation(&k):
				c.head, c.before, c.skipped, c.fromSYN = append(c.head[:0], k), c.before[:0], 0, true
			case c.fromSYN && len(c.head) < w.Head:
				c.head = append(c.head, k)
			case w.Before > 0:
				if len(c.before) == w.Before {
					c.before = append(c.before[:0], c.before[1:]...)
					c.skipped++
				}
				c.before = append(c.before, k)
			default:
				c.skipped++
			}
			return false
		}
		c.started = true
		if w.Head > 0 && c.startsIncarnation(&k) {
			// The anchor is the incarnation's first packet itself.
			c.head, c.before, c.skipped, c.fromSYN = c.head[:0], c.before[:0], 0, true
		}
		c.segs = append(c.segs, c.head...)
		if c.skipped > 0 {
			c.gaps = append(c.gaps, Gap{At: len(c.segs), Omitted: c.skipped})
		}
		c.segs = append(c.segs, c.before...)
		c.head, c.before = nil, nil
	}
	if c.remaining == 0 {
		c.after++
	}
	if anchor {
		c.remaining--
	}
	switch {
	case len(c.segs) < w.Max/2 || c.cut == 0 && len(c.segs) < w.Max:
		c.segs = append(c.segs, k)
	default:
		// Past the bound: keep the last Max/2 packets, and every anchor
		// frame among them, in a ring.
		if c.cut == 0 {
			c.cut = max(w.Max/2, len(c.segs)-w.Max/2)
			c.tail = append([]kept(nil), c.segs[c.cut:]...)
			c.segs = c.segs[:c.cut]
		}
		c.tail = append(c.tail, k)
		if len(c.tail) > w.Max/2 {
			drop := 0
			for i := range c.tail[:len(c.tail)-w.Max/2+1] {
				if !w.Anchor(&c.tail[i].seg) {
					drop = i
					break
				}
			}
			c.tail = append(c.tail[:drop], c.tail[drop+1:]...)
			c.omitted++
		}
	}
	if c.remaining == 0 && c.after >= w.After {
		c.done = true
		return true
	}
	return false
}

func (c *collecting) finish() Collected {
	if !c.started {
		// The anchor frames never came: nothing to anchor the window on.
		return Collected{}
	}
	if c.omitted > 0 {
		c.gaps = append(c.gaps, Gap{At: c.cut, Omitted: c.omitted})
	}
	all := append(c.segs, c.tail...)
	out := Collected{Gaps: c.gaps, Complete: c.remaining == 0, FromSYN: c.fromSYN}
	for _, k := range all {
		out.Segments = append(out.Segments, k.seg)
		out.Rel = append(out.Rel, k.rel)
	}
	return out
}
