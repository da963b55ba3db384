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
// incarnation. Nearly every segment comes within the window of those
// before it, so every segment is looked up: a filter with a bit for each
// fingerprint held (by its top six bits) answers most lookups without
// the fingerprints, and a time is read only for a fingerprint that
// matches.
type dupRing struct {
	// filter has the bit of each fingerprint held, and those of the ones
	// overwritten since next last wrapped round, when it is made again.
	filter uint64
	next   uint8
	n      uint8
	fp     [dupSlots]uint64
	at     [dupSlots]int64
}

// dupBit is fp's bit in dupRing.filter.
func dupBit(fp uint64) uint64 { return 1 << (fp >> 58) }

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
	d := t.conns.dups(c.ref)
	if d.filter&dupBit(fp) == 0 || !d.holds(fp, seg.Time, t.dupWindow()) {
		return false
	}
	c.Duplicates++
	t.stats.Duplicates++
	return true
}

// holds reports whether the ring holds fp at a time within win of at.
func (d *dupRing) holds(fp uint64, at, win int64) bool {
	for i, f := range d.fp[:d.n] {
		if f != fp {
			continue
		}
		if dt := at - d.at[i]; dt <= win && dt >= -win {
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
	d := t.conns.dups(c.ref)
	i := d.next % dupSlots
	d.fp[i], d.at[i] = fp, seg.Time
	d.filter |= dupBit(fp)
	d.next = (i + 1) % dupSlots
	d.n = max(d.n, d.next)
	if d.next == 0 {
		d.refilter()
	}
}

// refilter makes the filter again once every slot was written since it
// was last made, dropping the bits of the fingerprints overwritten.
func (d *dupRing) refilter() {
	d.n, d.filter = dupSlots, 0
	for _, f := range &d.fp {
		d.filter |= dupBit(f)
	}
}

// reset empties the ring for a new incarnation: its count and filter, not
// its slots, which are read only below the count.
func (d *dupRing) reset() { d.filter, d.next, d.n = 0, 0, 0 }
