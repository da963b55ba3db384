package reassembly

import (
	"bytes"
)

// Bounds on what the tracker holds, so that a SYN flood or a scan to
// millions of random four-tuples cannot exhaust memory. With the defaults
// the tracker's state stays near 100 MB however many tuples the capture
// holds (see TestTrackerSYNFloodMemory).
const (
	// defaultMaxHalfOpen bounds the incarnations whose handshake has not
	// completed and that carried no data both ways. A conn and its record are
	// about 2 KB.
	defaultMaxHalfOpen = 32768
	// defaultMaxTuples bounds the remembered summaries of finished
	// incarnations (Config.TupleMemory).
	defaultMaxTuples = 131072
	// defaultMaxClocks bounds the timestamp clocks per (sender, receiver)
	// address pair; the sweep forgets those idle past 60 s (TCP_PAWS_MSL).
	defaultMaxClocks = 1 << 18 // about 100 bytes each
)

// halfOpenQueue holds the half-open incarnations in the order they started,
// so that the oldest is evicted first. Entries go stale when their conn
// completes its handshake or finishes (or is reused for another
// incarnation, which changes its ID); they are skipped, and compacted away
// once they outnumber the live ones.
type halfOpenQueue struct {
	q    []halfOpenEntry
	head int
	live int
}

type halfOpenEntry struct {
	ref int32 // in Tracker.conns
	id  int
}

func intOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// halfOpenAdd counts a new incarnation as half-open, and evicts the oldest
// half-open incarnations while there are more than the bound.
func (t *Tracker) halfOpenAdd(c *conn) {
	c.halfOpen = true
	h := &t.half
	h.live++
	h.q = append(h.q, halfOpenEntry{c.ref, c.id})
	lim := intOr(t.cfg.MaxHalfOpen, defaultMaxHalfOpen)
	for h.live > lim && h.head < len(h.q) {
		e := h.q[h.head]
		h.q[h.head] = halfOpenEntry{}
		h.head++
		ec := t.conns.at(e.ref)
		if ec == c || ec.id != e.id || !ec.halfOpen {
			continue
		}
		ec.HalfOpenEvicted = true
		t.stats.HalfOpenEvicted++
		t.finish(ec, false)
	}
	if n := len(h.q) - h.head; h.head > 1024 && h.head >= n || n > 2*h.live+1024 {
		k := 0
		for _, e := range h.q[h.head:] {
			if ec := t.conns.at(e.ref); ec.id == e.id && ec.halfOpen {
				h.q[k] = e
				k++
			}
		}
		clear(h.q[k:])
		h.q, h.head = h.q[:k], 0
	}
}

// halfOpenLeave takes an incarnation out of the half-open count: its
// handshake completed, it carried data both ways, or it finished.
func (t *Tracker) halfOpenLeave(c *conn) {
	if c.halfOpen {
		c.halfOpen = false
		t.half.live--
	}
}

// halfOpenCheck ends the half-open state of c, still half-open, once seg,
// sent by from to the side r, completes the handshake (the client's ACK of
// the SYN+ACK) or carries data while the peer has sent something too: a
// real exchange, not a probe.
func (t *Tracker) halfOpenCheck(c *conn, seg *Segment, from Side, r *flowSide) {
	if seg.Flags&(FlagSYN|FlagRST) != 0 {
		return
	}
	if from == SideClient && seg.Has(FlagACK) && c.C.SYN.Seen() && c.S.SYN.Seen() && seg.Ack == c.S.ISN+1 ||
		seg.PayloadLen > 0 && r.Packets > 0 {
		t.halfOpenLeave(c)
	}
}

// HalfOpen is the number of half-open incarnations held right now.
func (t *Tracker) HalfOpen() int { return t.half.live }

// boundMemory forgets the oldest four-tuple summaries and address clocks
// when there are more than their bounds, down to three quarters of it, so
// that the cost of sorting is spread over many segments.
func (t *Tracker) boundMemory() {
	if lim := t.maxTuples; t.tuples.len() > lim {
		t.stats.TuplesForgotten += t.tuples.prune(lim*3/4, t.now, t.tupleNeed)
	}
	if lim := t.maxClocks; t.clocks.len() > lim {
		t.stats.ClocksForgotten += t.clocks.pruneOldest(lim * 3 / 4)
		t.clockGen++
	}
}

func compareKeys(a, b *flowKey) int {
	if c := bytes.Compare(a.loAddr[:], b.loAddr[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.hiAddr[:], b.hiAddr[:]); c != 0 {
		return c
	}
	if a.loPort != b.loPort {
		return int(a.loPort) - int(b.loPort)
	}
	return int(a.hiPort) - int(b.hiPort)
}
