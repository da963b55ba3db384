package reassembly

import (
	"errors"
	"io"
)

// Counts says what the packets of a capture were.
type Counts struct {
	Packets   int // frames read
	TCP       int // TCP segments tracked
	NonTCP    int // decoded, not TCP
	Fragments int // IP fragments (not reassembled)
	Truncated int // headers cut short or malformed
	Filtered  int // left out by the --filter expression
	// NonIP are the frames among NonTCP and Truncated whose link layer
	// carried something other than IP, by EtherType.
	NonIP NonIPCounts
}

// Run reads every packet of src, tracks its TCP segments and hands each
// finished incarnation to emit. It stops at the first fatal input error and
// returns it with the counts up to there; records of what was read are
// emitted all the same. The tracker is sharded (shard.go): the records,
// their order and the counts are the same whatever Config.Workers is.
func Run(src *Source, cfg Config, emit func(*Record)) (Counts, TrackerStats, error) {
	w := cfg.workers()
	s := newSharded(cfg, emit, w)
	var (
		n   Counts
		err error
	)
	switch {
	case w > 2:
		n, err = readParallel(src, cfg, s)
	case w == 2:
		n, err = readPipelined(src, cfg, s)
	default:
		n, err = readSegments(src, cfg, func(seg *Segment) { s.feed(seg, &seg.key) })
	}
	s.finish()
	return n, s.stats(), err
}

// readSegments reads and decodes every packet of src and hands its TCP
// segments, in time order, to feed. io.EOF is not an error.
func readSegments(src *Source, cfg Config, feed func(*Segment)) (Counts, error) {
	return readBatches(src, cfg, make([]Segment, 0, batchSize), func(b []Segment) []Segment {
		for i := range b {
			feed(&b[i])
		}
		return b
	})
}

// nextPacket reads into p the next packet of src that cfg.Filter keeps,
// counting in n the packets read and those filtered out, and calls
// cfg.Progress every progressEvery+1 packets.
func nextPacket(src *Source, cfg Config, p *Packet, n *Counts) error {
	for {
		if err := src.Next(p); err != nil {
			return err
		}
		n.Packets++
		if cfg.Progress != nil && n.Packets&progressEvery == 0 {
			cfg.Progress(n.Packets, src.Position())
		}
		if cfg.Filter == nil || cfg.Filter(p) {
			return nil
		}
		n.Filtered++
	}
}

// readBatches is readSegments handing the segments over in batches of up
// to batchSize: send takes each and returns an emptied one to fill again;
// first is the first to fill. Each segment is decoded into its place in a
// batch.
func readBatches(src *Source, cfg Config, first []Segment, send func([]Segment) []Segment) (Counts, error) {
	var (
		n Counts
		p Packet
	)
	dec := NewDecoder()
	ro := newReorder(cfg.ReorderWindow, first, send)
	var err error
	for {
		if err = nextPacket(src, cfg, &p, &n); err != nil {
			break
		}
		// Decoded in place into the reorder buffer, whose batches go to
		// the tracker as they are.
		kind := dec.Decode(&p, ro.slot())
		if kind == KindTCP {
			n.TCP++
			ro.commit()
			continue
		}
		ro.unslot()
		switch kind {
		case KindNonTCP:
			n.NonTCP++
		case KindFragment:
			n.Fragments++
		default:
			n.Truncated++
		}
	}
	ro.drain()
	n.NonIP = dec.NonIP()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}
