package analyze

import (
	"fmt"

	"github.com/twscope/twscope/reassembly"
)

// suspectSegments reports, per connection, the segments the receiver would
// not have accepted (RFC 9293 3.10.7, RFC 5961; reassembly/accept.go) when
// one of them would have changed a verdict had it been believed: a RST
// outside the window (the close would have been `rst`), a FIN beyond what
// the peer could have received (the closer), an ACK of bytes never sent
// (the close completed, TIME_WAIT). The tracker did not apply them, so the
// close facts stand; the finding says that something sent them: a blind
// injection, or a middlebox rewriting sequence numbers (then the capture
// may hold two sequence views, two_views). Warning: the verdict would have
// been wrong, and the segments deserve a look. Segments that would have
// changed nothing are only counted (suspect_segments in the record and
// the totals).
type suspectSegments struct {
	limited
	findings []Finding
}

func (d *suspectSegments) observe(r *reassembly.Record) {
	if r.SuspectVerdicts == 0 || r.Suspect == nil {
		return
	}
	sev := SeverityWarning
	if !d.lim.take(KindSuspectSegment, sev) {
		return
	}
	sg := r.Suspect
	fn := newFinding(KindSuspectSegment, sev, sg.Time, r.ID)
	fn.addFrames(sg.Frame)
	fn.about(r.Client, r.Server, sg.Frame)
	ev := &SuspectSegmentEvidence{
		Ack:             sg.Ack,
		Count:           r.SuspectSegments,
		Direction:       sg.From.String(),
		Expected:        sg.Expected,
		Flags:           reassembly.FlagString(sg.Flags),
		Frame:           sg.Frame.N,
		Len:             sg.Len,
		Reason:          sg.Reason.String(),
		Sender:          endpointOf(r, sg.From).String(),
		Seq:             sg.Seq,
		TwoViews:        r.C.SYNCount > r.C.SYNRetrans+1,
		VerdictChanging: r.SuspectVerdicts,
		WouldChange:     sg.Verdict.String(),
	}
	if sg.Window > 0 {
		ev.Window = ptr(sg.Window)
	}
	fn.Evidence = ev
	why := suspectWhy(sg)
	fn.Summary = fmt.Sprintf("connection #%d: %s sent a segment (%s) at frame %d that the receiver would drop (%s); it would have changed the %s, so it was ignored (%d such segment(s), %d not accepted in all)",
		r.ID, side(r, sg.From), ev.Flags, sg.Frame.N, why, ev.WouldChange, r.SuspectVerdicts, r.SuspectSegments)
	fn.Advice = "Segments outside the window or acknowledging data never sent come from a blind injection (RST or data, RFC 5961) or a middlebox that rewrites sequence numbers (a firewall's ISN randomisation captured on both sides); the close facts here follow the segments the endpoints accepted. Compare with a capture on the other side of any firewall; keep tcp_challenge_ack_limit and RFC 5961 protection on."
	d.findings = append(d.findings, fn)
}

func (d *suspectSegments) finish(res *Result) {
	res.Findings = append(res.Findings, d.findings...)
}

// suspectWhy says, in the terms of the rule that refused it
// (reassembly/accept.go), why the receiver would drop the segment.
func suspectWhy(sg *reassembly.SuspectSegment) string {
	has := func(f uint8) bool { return sg.Flags&f != 0 }
	switch sg.Reason {
	case reassembly.SuspectHeader:
		return "its TCP data offset runs past the packet"
	case reassembly.SuspectSeq:
		return fmt.Sprintf("its sequence number %d is outside the window from %d", sg.Seq, sg.Expected)
	case reassembly.SuspectView:
		return fmt.Sprintf("it is the SYN again with ISN %d instead of %d", sg.Seq, sg.Expected)
	case reassembly.SuspectAck:
		switch {
		case has(reassembly.FlagRST) && !has(reassembly.FlagACK):
			// RFC 9293 3.10.7.3: in SYN-SENT a RST counts only with an
			// acceptable ACK; the number in the ACK field means nothing.
			return "a RST without the ACK flag answering a SYN, which a stack in SYN-SENT drops (RFC 9293 3.10.7.3)"
		case has(reassembly.FlagRST), has(reassembly.FlagSYN):
			return fmt.Sprintf("its acknowledgement number %d is not that of the SYN (%d)", sg.Ack, sg.Expected)
		}
		w := ""
		if sg.Window > 0 {
			w = fmt.Sprintf(" by more than the window of %d", sg.Window)
		}
		return fmt.Sprintf("its acknowledgement number %d is beyond what the peer sent (up to %d)%s", sg.Ack, sg.Expected, w)
	}
	return sg.Reason.String()
}
