package reassembly

import "time"

// Duplicates: the same packet captured twice, as a capture on several
// interfaces (a bridge and its ports, a bond and its slaves, "any" with a
// VLAN device) records it, must count once, or every segment would look
// retransmitted. A segment is taken for a copy of one seen before when, in
// the same direction of the same incarnation and within Config.DupWindow
// (default 5 ms) either way in time, it carries the same sequence and
// acknowledgement numbers, flags, payload length, window, timestamps, IPv4
// identification and TCP checksum. A retransmission differs: the sender
// gives it a new IP ID (IPv4) and, with timestamps, a new TSval and so a
// new checksum, and Linux retransmits no sooner than 200 ms (RTO) or a few
// milliseconds (tail loss probe). Link-layer headers, TTL and the IP
// checksum are left out, so a copy taken one router hop later matches too.
// This is what editcap -d does with an MD5 of the whole packet, minus the
// parts that change between capture points.

const defaultDupWindow = 5 * time.Millisecond

// dupSlots is how many recent segments of an incarnation are remembered:
// enough for copies a dozen packets out of order (a clock a little behind
// on a fast link).
const dupSlots = 16

// dupRing remembers the fingerprints of the latest segments of one
// incarnation.
type dupRing struct {
	fp   [dupSlots]uint64
	at   [dupSlots]int64
	next uint8
	n    uint8
}

func (t *Tracker) dupWindow() int64 {
	if t.cfg.DupWindow == 0 {
		return int64(defaultDupWindow)
	}
	return int64(t.cfg.DupWindow)
}

// duplicate reports whether seg, of fingerprint fp, is a copy of a segment
// of c seen within the window, and counts it. It is checked before the
// segment can start a new incarnation: a copy of a SYN arriving after the
// FINs of its original's connection (a clock behind) is no new connection.
func (t *Tracker) duplicate(c *conn, seg *Segment, fp uint64) bool {
	win := t.dupWindow()
	if win < 0 {
		return false
	}
	d := &c.dups
	for i := range int(d.n) {
		if dt := seg.Time - d.at[i]; d.fp[i] == fp && dt <= win && dt >= -win {
			c.Duplicates++
			t.stats.Duplicates++
			return true
		}
	}
	return false
}

// remember notes the fingerprint of a segment applied to c.
func (t *Tracker) remember(c *conn, seg *Segment, fp uint64) {
	if t.dupWindow() < 0 {
		return
	}
	d := &c.dups
	d.fp[d.next], d.at[d.next] = fp, seg.Time
	d.next = (d.next + 1) % dupSlots
	if d.n < dupSlots {
		d.n++
	}
}
