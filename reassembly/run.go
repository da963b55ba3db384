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
}

// Run reads every packet of src, tracks its TCP segments and hands each
// finished incarnation to emit. It stops at the first fatal input error and
// returns it with the counts up to there; records of what was read are
// emitted all the same.
func Run(src *Source, cfg Config, emit func(*Record)) (Counts, TrackerStats, error) {
	var (
		n   Counts
		p   Packet
		seg Segment
	)
	dec := NewDecoder()
	tr := NewTracker(cfg, emit)
	var err error
	for {
		if err = src.Next(&p); err != nil {
			break
		}
		n.Packets++
		if cfg.Filter != nil && !cfg.Filter(&p) {
			n.Filtered++
			continue
		}
		switch dec.Decode(&p, &seg) {
		case KindTCP:
			n.TCP++
			tr.Feed(&seg)
		case KindNonTCP:
			n.NonTCP++
		case KindFragment:
			n.Fragments++
		default:
			n.Truncated++
		}
	}
	tr.Flush()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, tr.Stats(), err
}
