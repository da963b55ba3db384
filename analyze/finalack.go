package analyze

import (
	"fmt"

	"github.com/twscope/twscope/reassembly"
)

// finalAck reports every incarnation whose final ACK was lost (domain.md
// section 3): the passive closer sent its FIN again after the active closer
// had acknowledged it, which the tracker records as FinalAckLost. Not
// findings, and not FinalAckLost: a resend that recovered data lost before
// the FIN (the active closer's ACKs stopped below it, LostAck.Recovery),
// and a final ACK that was only late (FinalAckLate).
//
// What the active closer did with the resent FIN decides the kind:
//
//   - lost_final_ack (info): it ACKed the FIN again from TIME_WAIT, or the
//     capture shows no answer. One lost ACK is ordinary packet loss that
//     TIME_WAIT exists to repair; the close still ended cleanly, so it is
//     worth knowing (a path that loses packets) but needs no action.
//   - final_ack_rst: it answered with RST, so it had kept no TIME_WAIT
//     state and the passive side saw an error instead of a clean close.
//     Critical when the RST is bare (no ACK: no socket at all answered it)
//     and the FIN came back well within the profile's TIME_WAIT length: the
//     host dropped TIME_WAIT state early, which on Linux is the
//     tcp_max_tw_buckets overflow, and it then holds for every close on
//     that host, not only this one. Warning otherwise: a RST with ACK is an
//     application's abortive close, and a FIN resent after TIME_WAIT ran
//     out is a slow path, not a host misconfiguration.
type finalAck struct {
	limited
	timeWait int64 // the profile's TIME_WAIT length, ns
	findings []Finding
}

func newFinalAck(opts Options) *finalAck {
	return &finalAck{timeWait: int64(timeWaitLimit(opts.Profile.TimeWait))}
}

// Capture points: whether the final ACK was lost after or before the
// capture saw it.
const (
	captureBeforeLoss = "before_loss" // the final ACK is in the capture
	captureAfterLoss  = "after_loss"  // the final ACK never reached the capture point
)

// What the active closer did with the resent FIN.
const (
	nextReAck   = "reack"
	nextRST     = "rst"
	nextUnknown = "unknown"
)

func (d *finalAck) observe(r *reassembly.Record) {
	if r.FinalAck != reassembly.FinalAckLost {
		return
	}
	la := &r.LostAck
	if r.Close == reassembly.CloseSimultaneous && !la.FinalAck.Seen() {
		// After crossed FINs there is no passive closer: the peer's FIN
		// crossed this one without acknowledging it, and with no ACK of
		// it in the capture nothing shows the FIN ever arrived. Its resend
		// is explained by the FIN's own loss as well as by a lost final
		// ACK (zeek's ftp-bruteforce trace shows the peer's later ACKs
		// still below the FIN), so it is not evidence of either.
		return
	}
	passive := la.Passive
	active := passive.Other()
	pf, af := r.Flow(passive), r.Flow(active)

	point := captureAfterLoss
	if la.FinalAck.Seen() {
		point = captureBeforeLoss
	}
	next, answer := nextUnknown, reassembly.Event{}
	switch {
	case la.RST.Seen():
		next, answer = nextRST, la.RST
	case la.ReAck.Seen():
		next, answer = nextReAck, la.ReAck
	}
	delay := la.Retrans.Time - pf.FIN.Time

	kind, severity := KindLostFinalAck, SeverityInfo
	if next == nextRST {
		kind, severity = KindFinalAckRST, SeverityWarning
		if !la.RSTWithAck && delay < d.timeWait {
			severity = SeverityCritical
		}
	}

	listed := d.lim.take(kind, severity)
	if !listed && !d.lim.perConn() {
		return
	}
	f := newFinding(kind, severity, la.Retrans.Time, r.ID)
	f.addFrames(af.FIN.Frame, pf.FIN.Frame, la.FinalAck.Frame, la.Retrans.Frame, answer.Frame)
	f.about(r.Client, r.Server, af.FIN.Frame, pf.FIN.Frame, la.FinalAck.Frame, la.Retrans.Frame, answer.Frame)
	pos := r.RTT.Position()
	ev := &FinalAckEvidence{
		kind:               kind,
		CapturePosition:    pos.String(),
		Active:             active.String(),
		ActiveEndpoint:     endpointOf(r, active).String(),
		ActiveFINFrame:     frameEvidence(af.FIN.Frame),
		AnswerFrame:        frameEvidence(answer.Frame),
		CapturePoint:       point,
		Close:              r.Close.String(),
		ConversationFilter: ConversationFilter(r.Client, r.Server),
		FINResendDelayS:    Seconds(delay),
		FINRetransmits:     pf.FINRetrans,
		FinalAckFrame:      frameEvidence(la.FinalAck.Frame),
		Next:               next,
		Passive:            passive.String(),
		PassiveEndpoint:    endpointOf(r, passive).String(),
		PassiveFINFrame:    frameEvidence(pf.FIN.Frame),
		ResentFINFrame:     frameEvidence(la.Retrans.Frame),
		TimeWaitS:          Seconds(d.timeWait),
	}
	if next == nextRST {
		ev.RSTWithAck = ptr(la.RSTWithAck)
	}
	if af.AckSeenAtPeerResend {
		ev.ActiveAckToFIN = ptr(int64(int32(af.AckHighAtPeerResend - pf.FINSeq)))
	}
	if r.RTT.Known {
		ev.RTTS = ptr(Seconds(r.RTT.Total()))
		ev.RTTClientS = ptr(Seconds(r.RTT.Client))
		ev.RTTServerS = ptr(Seconds(r.RTT.Server))
	}
	f.Evidence = ev

	lost := "the final ACK from " + side(r, active) + " to " + side(r, passive) + " was lost"
	where := "before reaching the capture point (it is not in the capture; the passive FIN may have been lost on its way instead)"
	if point == captureBeforeLoss {
		where = fmt.Sprintf("after the capture point saw it (frame %d)", la.FinalAck.Frame.N)
	} else if pos.Near() == passive {
		where = "before reaching the capture point, which sits near " + side(r, passive) +
			" (it is not in the capture)"
	}
	resent := fmt.Sprintf("%s sent its FIN again %s later (frame %d)", side(r, passive), seconds(delay), la.Retrans.Frame.N)
	// The answer follows the first resend only when no other resend came
	// between: the FIN is sent again on each retransmission timeout while
	// its ACKs are lost too, and the answer that reached the capture may
	// be that of the third. Say how many, and how long after the first.
	answered := fmt.Sprintf("frame %d", answer.Frame.N)
	if pf.FINRetrans > 1 {
		resent = fmt.Sprintf("%s sent its FIN again %s later (frame %d; %s more after that)", side(r, passive), seconds(delay),
			la.Retrans.Frame.N, times(pf.FINRetrans-1))
		if answer.Seen() {
			answered = fmt.Sprintf("frame %d, %s after the first resend", answer.Frame.N, seconds(answer.Time-la.Retrans.Time))
		}
	}
	switch next {
	case nextReAck:
		f.Summary = fmt.Sprintf("Seen in the capture: %s %s; %s and %s ACKed it again from TIME_WAIT (%s).",
			lost, where, resent, side(r, active), answered)
		f.Advice = "Nothing to change: TIME_WAIT did its job and the close ended cleanly. " +
			"Many of these point to packet loss on the path between the two hosts."
	case nextRST:
		f.Summary = fmt.Sprintf("Seen in the capture: %s %s; %s and %s answered with RST (%s): it kept no TIME_WAIT state.",
			lost, where, resent, side(r, active), answered)
		f.Advice = d.rstAdvice(r, active, la.RSTWithAck, delay)
	default:
		f.Summary = fmt.Sprintf("Seen in the capture: %s %s; %s and no answer from %s is in the capture.",
			lost, where, resent, side(r, active))
		f.Advice = "The capture ends, or the answer was lost again, before the active closer answered: " +
			"capture longer, or on the active closer's side, to see whether it still held TIME_WAIT."
	}
	d.findings = d.lim.keep(d.findings, f, listed)
}

// rstAdvice says what to check on the active closer, most likely cause
// first, from what the RST and its timing show.
func (d *finalAck) rstAdvice(r *reassembly.Record, active reassembly.Side, withAck bool, delay int64) string {
	host := endpointOf(r, active).Addr().String()
	switch {
	case delay >= d.timeWait:
		return fmt.Sprintf("The FIN came back %s after the first one, past the %s TIME_WAIT length: "+
			"TIME_WAIT had already expired on %s. Look for the delay or loss on the path; TIME_WAIT tuning would not help.",
			seconds(delay), seconds(d.timeWait), host)
	case withAck:
		return fmt.Sprintf("The RST carries an ACK: an application on %s likely closed abortively (SO_LINGER 0), "+
			"which avoids TIME_WAIT at the cost of the passive side's clean close and of the protection against old duplicates.", host)
	}
	return fmt.Sprintf("A bare RST well within TIME_WAIT means no socket on %s held the four-tuple: most likely "+
		"its TIME_WAIT table overflowed (Linux: more TIME_WAIT sockets than net.ipv4.tcp_max_tw_buckets; "+
		"check nstat TcpExtTCPTimeWaitOverflow or \"time wait bucket table overflow\" in dmesg). "+
		"Raise tcp_max_tw_buckets, or cut the TIME_WAIT count on that host: let the other side close first, or "+
		"reuse connections (keep-alive, pools).", host)
}

// times is "once", "twice" or "N times".
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func (d *finalAck) finish(res *Result) { res.Findings = append(res.Findings, d.findings...) }
