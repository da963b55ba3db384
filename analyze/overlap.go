package analyze

import (
	"fmt"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// seqSpace is the size of TCP's sequence number space.
const seqSpace = 1 << 32

// seqOverlap finds where one incarnation's sequence space can take in
// another's segments (domain.md 6):
//
//   - seq_overlap: per reused four-tuple and direction, the new ISN lies in
//     [old ISN, old final seq), the range the same side used in the
//     previous incarnation. It is judged whatever the gap since the old
//     close (as far back as the tracker remembers the four-tuple): the
//     overlap is a fact of the two sequence spaces, the same fact the lab
//     truth's isn_inside_prev_seq_range records. The gap decides the
//     severity: inside TIME_WAIT without timestamps ahead of the old ones
//     old duplicates may still be in flight and nothing rejects them
//     (warning); otherwise info.
//   - old_duplicate: per new incarnation, the segments the tracker found to
//     belong to the previous one (counted, with the first as evidence);
//     critical when PAWS would not have rejected the first, else warning.
//   - seq_wrap: per incarnation and direction whose sequence numbers
//     wrapped, when the fastest wrap the capture proves took less than the
//     TIME_WAIT length: a segment delayed that long inside the connection
//     itself matches new sequence numbers, and only PAWS (RFC 7323) tells
//     them apart. Warning without timestamps, info with them.
type seqOverlap struct {
	limited
	limit    time.Duration
	findings []Finding
}

func newSeqOverlap(limit time.Duration) *seqOverlap {
	return &seqOverlap{limit: timeWaitLimit(limit)}
}

var seqSides = [2]reassembly.Side{reassembly.SideClient, reassembly.SideServer}

func (d *seqOverlap) observe(r *reassembly.Record) {
	if r.HasPrev && !sameSYNAgain(r) {
		for _, s := range seqSides {
			d.overlap(r, s)
		}
	}
	if r.HasPrev && r.OldDups > 0 {
		d.oldDuplicate(r)
	}
	for _, s := range seqSides {
		d.wrap(r, s)
	}
}

func (d *seqOverlap) finish(res *Result) {
	res.Findings = append(res.Findings, d.findings...)
}

// overlap checks side s's new ISN against the range the same endpoint
// used in the previous incarnation.
func (d *seqOverlap) overlap(r *reassembly.Record, s reassembly.Side) {
	p := &r.Prev
	pi := prevIndex(r, s)
	f := r.Flow(s)
	lo, hi := p.ISN[pi], p.Final[pi]
	if !f.SYN.Seen() || !p.SYNSeen[pi] || f.ISN-lo >= hi-lo {
		return
	}
	into := int64(hi - f.ISN)
	paws := f.HasTS && p.HasTS[pi] && r.Flow(s.Other()).HasTS
	ahead := paws && int32(f.TSFirst-p.TSLast[pi]) > 0
	gap := f.SYN.Time - p.CloseTime
	within := gap < int64(d.limit)

	sev := SeverityInfo
	if within && !ahead {
		sev = SeverityWarning
	}
	listed := d.lim.take(KindSeqOverlap, sev)
	if !listed && !d.lim.perConn() {
		return
	}
	fn := newFinding(KindSeqOverlap, sev, f.SYN.Time, p.ID, r.ID)
	fn.addFrames(p.CloseFrame, r.C.SYN.Frame, r.S.SYN.Frame)
	fn.about(r.Client, r.Server, p.CloseFrame, r.C.SYN.Frame, r.S.SYN.Frame)
	fn.Evidence = &SeqOverlapEvidence{
		Direction:      s.String(),
		GapS:           Seconds(gap),
		ISN:            f.ISN,
		LimitS:         d.limit.Seconds(),
		OverlapBytes:   into,
		PAWS:           knownOrNil(paws, tsUnknownIn(r)),
		PrevConn:       p.ID,
		PrevFinalSeq:   hi,
		PrevISN:        lo,
		PrevRangeBytes: int64(hi - lo),
		Sender:         endpointOf(r, s).String(),
		TSAhead:        ahead,
		WithinTimeWait: within,
	}
	fn.Summary = fmt.Sprintf("%s started connection #%d at ISN %d, %d bytes inside the sequence range [%d, %d) it used in #%d, %s after that closed",
		side(r, s), r.ID, f.ISN, into, lo, hi, p.ID, seconds(gap))
	switch {
	case ahead:
		fn.Advice = "Timestamps moved ahead between the incarnations, so PAWS rejects a delayed segment of the old connection that lands in the new window; keep net.ipv4.tcp_timestamps on at both ends. "
	case paws:
		fn.Advice = "Both incarnations carry timestamps but the new TSvals are not ahead of the old ones, so PAWS does not reject the old connection's segments. "
	default:
		fn.Advice = "Without timestamps on both incarnations nothing rejects a delayed segment of the old connection that lands in the new window: enable net.ipv4.tcp_timestamps at both ends. "
	}
	if within {
		fn.Advice += "The four-tuple was reused inside TIME_WAIT: reuse connections (keep-alive, pools) rather than cycling one client port, and do not close with RST to dodge TIME_WAIT."
	} else {
		fn.Advice += "The reuse came after TIME_WAIT, when old segments should have died out (MSL)."
	}
	d.findings = d.lim.keep(d.findings, fn, listed)
}

// oldDuplicate reports the segments of the previous incarnation seen in
// this one.
func (d *seqOverlap) oldDuplicate(r *reassembly.Record) {
	p, dup := &r.Prev, r.OldDup
	sender := r.Flow(dup.From)
	// PAWS drops a segment whose TSval is before the last one accepted from
	// its sender; the first TSval the new incarnation saw bounds that.
	paws := dup.HasTS && sender.SYNHasTS && r.Flow(dup.From.Other()).SYNHasTS &&
		int32(dup.TSval-sender.TSFirst) < 0
	sev := SeverityCritical
	if paws {
		sev = SeverityWarning
	}
	listed := d.lim.take(KindOldDuplicate, sev)
	if !listed && !d.lim.perConn() {
		return
	}
	fn := newFinding(KindOldDuplicate, sev, dup.Time, p.ID, r.ID)
	fn.addFrames(dup.Frame, p.CloseFrame, r.C.SYN.Frame)
	fn.about(r.Client, r.Server, dup.Frame, p.CloseFrame, r.C.SYN.Frame)
	ev := &OldDuplicateEvidence{
		Ack:          dup.Ack,
		Count:        r.OldDups,
		Direction:    dup.From.String(),
		Frame:        dup.Frame.N,
		HasTS:        knownOrNil(dup.HasTS, tsUnknownIn(r)),
		Len:          dup.Len,
		NewISN:       sender.ISN,
		PAWSRejects:  knownOrNil(paws, tsUnknownIn(r)),
		PrevConn:     p.ID,
		PrevFinalSeq: p.Final[prevIndex(r, dup.From)],
		PrevISN:      p.ISN[prevIndex(r, dup.From)],
		Reason:       dup.Reason,
		Sender:       endpointOf(r, dup.From).String(),
		Seq:          dup.Seq,
	}
	if dup.HasTS {
		ev.TSval, ev.NewTSFirst = ptr(dup.TSval), ptr(sender.TSFirst)
	}
	fn.Evidence = ev
	why := map[string]string{
		"timestamp": "its TSval is older than the new connection's",
		"ack":       "it acknowledges data the peer sent only in the old connection",
		"seq":       "its sequence number is before the new ISN",
	}[dup.Reason]
	fn.Summary = fmt.Sprintf("%d segment(s) of connection #%d seen in its successor #%d, the first from %s at frame %d (seq %d, %d bytes): %s",
		r.OldDups, p.ID, r.ID, endpointOf(r, dup.From), dup.Frame.N, dup.Seq, dup.Len, why)
	if paws {
		fn.Advice = "PAWS rejects it (its TSval is older than what the new connection has seen), so this time no data was harmed; keep net.ipv4.tcp_timestamps on. Avoid reusing the four-tuple inside TIME_WAIT: keep-alive, and no RST closes."
	} else {
		fn.Advice = "Nothing rejects it: without timestamps an old segment inside the window is accepted as data and corrupts the stream. Enable net.ipv4.tcp_timestamps at both ends, let TIME_WAIT run out before reusing the four-tuple (keep-alive, no RST closes), never tcp_tw_recycle."
	}
	d.findings = d.lim.keep(d.findings, fn, listed)
}

// wrap flags side s's sequence numbers wrapping faster than TIME_WAIT. The
// fastest wrap is at most the time to the first wrap (from the first
// payload byte) and at most the average time per wrap over the whole
// connection; a capture that never wrapped proves nothing.
func (d *seqOverlap) wrap(r *reassembly.Record, s reassembly.Side) {
	f := r.Flow(s)
	if f.Wrapped == 0 || f.Advance < seqSpace || f.DataStart == 0 {
		return
	}
	t := f.Wrapped - f.DataStart
	if avg := int64(float64(r.End-f.DataStart) * seqSpace / float64(f.Advance)); avg < t {
		t = avg
	}
	if t >= int64(d.limit) {
		return
	}
	paws := f.HasTS && r.Flow(s.Other()).HasTS
	sev := SeverityWarning
	if paws {
		sev = SeverityInfo
	}
	listed := d.lim.take(KindSeqWrap, sev)
	if !listed && !d.lim.perConn() {
		return
	}
	fn := newFinding(KindSeqWrap, sev, f.Wrapped, r.ID)
	fn.addFrames(f.SYN.Frame, r.LastFrame)
	fn.about(r.Client, r.Server, f.SYN.Frame, r.LastFrame)
	rate := float64(f.Advance) / (float64(r.End-f.DataStart) / 1e9)
	fn.Evidence = &SeqWrapEvidence{
		Bytes:      f.Bytes,
		Direction:  s.String(),
		LimitS:     d.limit.Seconds(),
		PAWS:       knownOrNil(paws, tsUnknownIn(r)),
		RateBps:    int64(rate * 8),
		Sender:     endpointOf(r, s).String(),
		SeqAdvance: f.Advance,
		WrapS:      Seconds(t),
		WrappedAt:  FormatTime(f.Wrapped),
		Wraps:      f.Advance / seqSpace,
	}
	fn.Summary = fmt.Sprintf("%s went through its whole sequence space in %s, faster than the %s TIME_WAIT (%d wraps of 4 GiB in connection #%d)",
		side(r, s), seconds(t), seconds(int64(d.limit)), f.Advance/seqSpace, r.ID)
	if paws {
		fn.Advice = "Timestamps are on at both ends, so PAWS (RFC 7323) tells a delayed segment from a new one with the same sequence number; keep net.ipv4.tcp_timestamps on for fast links."
	} else {
		fn.Advice = "Without timestamps nothing tells a delayed segment from new data once sequence numbers wrap: enable net.ipv4.tcp_timestamps at both ends (PAWS, RFC 7323)."
	}
	d.findings = d.lim.keep(d.findings, fn, listed)
}
