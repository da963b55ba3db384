package analyze

import (
	"fmt"
	"sort"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// twReuseStep is how far past its old next sequence number Linux starts
// the side that held TIME_WAIT when the four-tuple is reused: the client's
// SYN after tcp_tw_reuse, the server's SYN+ACK after accepting a SYN in
// TIME_WAIT (tcp_twsk_unique and tcp_timewait_state_process both use
// tw_snd_nxt + 65535 + 2).
const twReuseStep = 65537

// Mechanisms of a four-tuple reuse (contract.md, tuple_reuse).
const (
	mechTWReuse   = "tw_reuse"
	mechSYNAccept = "timewait_syn_accept"
	mechAfterRST  = "after_rst"
	mechOther     = "other"
)

// tupleReuse finds new incarnations whose SYN came within the profile's
// TIME_WAIT length of the previous incarnation's close (domain.md 4).
//
// The gap is the tracker's ReuseGap: from the previous close (its final
// ACK, else its RST, else its last packet) to the new client SYN. Partial
// incarnations are skipped: without the SYN there is no reuse to time.
// A SYN with the very ISN of the previous incarnation's SYN is the same
// connection attempt sent again (after a RST, say), not a reuse. Nor is a
// SYN after a previous incarnation that was never closed (no FIN or RST:
// nobody entered TIME_WAIT; repeated SYNs with new ISNs are scans or
// retries) or never connected (a SYN refused by RST carried no data that
// could come back as an old duplicate).
//
// Evidence names sides in the previous incarnation's roles (holder,
// prev_close) with the endpoint beside them (holder_addr), since the old
// server may be the new client (roles_swapped). reuse says how the new SYN
// met the holder: outbound (the holder connected again: tcp_tw_reuse
// territory), inbound (a SYN reached the holder: RFC 6191 acceptance),
// both, or none.
//
// Severity: critical when a segment of the old incarnation was seen in the
// new one; info when the reuse is protected, i.e. the kernel's own
// mechanism (tw_reuse, timewait_syn_accept) with timestamps ahead of the
// old ones, or timestamps and ISNs both past the old incarnation's; warning
// otherwise, and always after a RST close, which kept no TIME_WAIT.
type tupleReuse struct {
	limited
	limit    time.Duration
	findings []Finding
	gaps     []float64 // every reuse's gap, s, for the plot
	moreGaps int       // reuses past MaxReuseGaps
}

// MaxReuseGaps bounds the reuse gaps kept for the plot (Result.ReuseGaps).
const MaxReuseGaps = 100000

func newTupleReuse(limit time.Duration) *tupleReuse {
	return &tupleReuse{limit: timeWaitLimit(limit)}
}

func (d *tupleReuse) observe(r *reassembly.Record) {
	if r.Partial || !r.HasPrev || sameSYNAgain(r) {
		return
	}
	p := &r.Prev
	if p.Close == reassembly.CloseOpen || !(p.Partial || p.SYNSeen[1]) {
		return // nothing was closed, or no connection was ever made
	}
	if len(d.gaps) < MaxReuseGaps {
		d.gaps = append(d.gaps, Seconds(r.ReuseGap))
	} else {
		d.moreGaps++
	}
	if r.ReuseGap >= int64(d.limit) {
		return
	}
	pc, ps := prevIndex(r, reassembly.SideClient), prevIndex(r, reassembly.SideServer)
	mech := reuseMechanism(r)
	holder := endpointIn(r, p.TimeWaitHolder)
	reuse := "none" // how the new SYN met the TIME_WAIT holder
	switch {
	case p.TimeWaitHolder == reassembly.SideBoth:
		reuse = "both"
	case p.TimeWaitHolder == reassembly.SideNone:
	case holder == r.Client.String():
		reuse = "outbound"
	default:
		reuse = "inbound"
	}

	tsAhead := tsAheadOf(r, reassembly.SideClient, pc)
	if r.S.SYN.Seen() {
		tsAhead = tsAhead && tsAheadOf(r, reassembly.SideServer, ps)
	}
	isnBeyond := MaybeBySide[bool]{Client: ptr(isnBeyondOld(r, reassembly.SideClient, pc))}
	allBeyond := *isnBeyond.Client
	if r.S.SYN.Seen() {
		isnBeyond.Server = ptr(isnBeyondOld(r, reassembly.SideServer, ps))
		allBeyond = allBeyond && *isnBeyond.Server
	}
	protected := []string{}
	if tsAhead {
		protected = append(protected, "timestamps")
	}
	if allBeyond {
		protected = append(protected, "isn")
	}

	sev := SeverityWarning
	kernel := mech == mechTWReuse || mech == mechSYNAccept
	switch {
	case r.OldDups > 0:
		sev = SeverityCritical
	case mech == mechAfterRST:
	case tsAhead && (kernel || allBeyond):
		sev = SeverityInfo
	}

	listed := d.lim.take(KindTupleReuse, sev)
	if !listed && !d.lim.perConn() {
		return
	}
	f := newFinding(KindTupleReuse, sev, r.C.SYN.Time, p.ID, r.ID)
	f.addFrames(p.CloseFrame, r.C.SYN.Frame, r.S.SYN.Frame)
	f.about(r.Client, r.Server, p.CloseFrame, r.C.SYN.Frame, r.S.SYN.Frame)
	ev := &TupleReuseEvidence{
		ClientISN:     r.C.ISN,
		GapS:          Seconds(r.ReuseGap),
		Holder:        p.TimeWaitHolder.String(),
		HolderAddr:    holder,
		ISNBeyondOld:  isnBeyond,
		LimitS:        d.limit.Seconds(),
		Mechanism:     mech,
		OldDuplicates: r.OldDups,
		PrevClose:     p.Close.String(),
		PrevCloser:    p.Closer.String(),
		PrevConn:      p.ID,
		PrevFinalSeq:  BySide[uint32]{Client: p.Final[pc], Server: p.Final[ps]},
		ProtectedBy:   protected,
		Reuse:         reuse,
		ReusedBy:      r.Client.String(),
		RolesSwapped:  p.Turned,
		SYNAnswered:   r.S.SYN.Seen(),
		Timestamps:    knownOrNil(tsAhead, tsUnknownIn(r)),
	}
	if r.S.SYN.Seen() {
		ev.ServerISN = ptr(r.S.ISN)
	}
	if p.SYNSeen[pc] {
		ev.PrevISN.Client = ptr(p.ISN[pc])
	}
	if p.SYNSeen[ps] {
		ev.PrevISN.Server = ptr(p.ISN[ps])
	}
	f.Evidence = ev
	f.Summary = fmt.Sprintf("%s reused the four-tuple to %s %s after connection #%d closed (%s), inside the %s TIME_WAIT (%s); %s",
		r.Client, r.Server, seconds(r.ReuseGap), p.ID, closeWords(p), seconds(int64(d.limit)),
		holderWords(p, holder), mechWords(mech))
	f.Advice = reuseAdvice(mech, reuse, tsAhead, r.OldDups > 0)
	d.findings = d.lim.keep(d.findings, f, listed)
}

func (d *tupleReuse) finish(res *Result) {
	res.Findings = append(res.Findings, d.findings...)
	sort.Float64s(d.gaps)
	res.ReuseGaps, res.ReuseGapsMore = d.gaps, d.moreGaps
}

// reuseMechanism tells how the four-tuple came to be reused by the ISN
// fingerprint Linux leaves: the side that held TIME_WAIT starts at its old
// next sequence number + 65537.
func reuseMechanism(r *reassembly.Record) string {
	p := &r.Prev
	switch {
	case r.C.SYN.Seen() && r.C.ISN == p.Final[prevIndex(r, reassembly.SideClient)]+twReuseStep:
		return mechTWReuse
	case r.S.SYN.Seen() && r.S.ISN == p.Final[prevIndex(r, reassembly.SideServer)]+twReuseStep:
		return mechSYNAccept
	case p.RSTBy != reassembly.SideNone:
		return mechAfterRST
	}
	return mechOther
}

// sameSYNAgain reports whether the new incarnation's SYN is the previous
// one's sent again (same sender, same ISN): the tracker splits at a SYN
// after a RST, but it is one connection attempt, not a reuse.
func sameSYNAgain(r *reassembly.Record) bool {
	p := &r.Prev
	return r.C.SYN.Seen() && !p.Turned && p.SYNSeen[0] && p.ISN[0] == r.C.ISN
}

// tsAheadOf reports whether side s sent timestamps in both incarnations and
// its first new TSval is after its last old one: PAWS at the peer then
// rejects the old incarnation's segments from s.
func tsAheadOf(r *reassembly.Record, s reassembly.Side, pi int) bool {
	f := r.Flow(s)
	return f.HasTS && r.Prev.HasTS[pi] && int32(f.TSFirst-r.Prev.TSLast[pi]) > 0
}

// isnBeyondOld reports whether side s's new ISN lies after the sequence
// space it used in the previous incarnation (at or past its final
// sequence number, serially).
func isnBeyondOld(r *reassembly.Record, s reassembly.Side, pi int) bool {
	f := r.Flow(s)
	return f.SYN.Seen() && int32(f.ISN-r.Prev.Final[pi]) >= 0
}

func closeWords(p *reassembly.Summary) string {
	rst := "RST from the " + p.RSTBy.String()
	if p.RSTBy == reassembly.SideBoth {
		rst = "RSTs from both sides"
	}
	switch {
	case p.Close == reassembly.CloseRST:
		return "reset by " + rst
	case p.RSTBy != reassembly.SideNone:
		return "FINs then " + rst
	case p.Close == reassembly.CloseFIN:
		return "FIN close"
	case p.Close == reassembly.CloseSimultaneous:
		return "simultaneous close"
	case p.Close == reassembly.CloseHalf:
		return "half-closed, no close seen"
	}
	return "still open, no close seen"
}

func holderWords(p *reassembly.Summary, holder string) string {
	switch p.TimeWaitHolder {
	case reassembly.SideNone:
		return "nobody held it"
	case reassembly.SideBoth:
		return "both sides held it"
	}
	return "held by " + holder
}

func mechWords(mech string) string {
	switch mech {
	case mechTWReuse:
		return "the client's new ISN is its old next sequence + 65537 (Linux tcp_tw_reuse)"
	case mechSYNAccept:
		return "the server's SYN+ACK ISN is its old next sequence + 65537 (Linux accepted the SYN in TIME_WAIT)"
	case mechAfterRST:
		return "the RST left no TIME_WAIT to protect against old duplicates"
	}
	return "no kernel reuse fingerprint in the ISNs"
}

// reuseAdvice ties the recommendation to what was seen (domain.md 7).
func reuseAdvice(mech, reuse string, ts, dup bool) string {
	var a string
	switch mech {
	case mechTWReuse:
		a = "Outbound reuse by net.ipv4.tcp_tw_reuse: it helps only the connecting side and is safe only with TCP timestamps on both ends. "
	case mechSYNAccept:
		a = "The server closed first and held TIME_WAIT; it accepted the new SYN because its timestamp or sequence number was newer (RFC 6191). Let the client close first so TIME_WAIT sits on the clients; tcp_tw_reuse does not help a server. "
	case mechAfterRST:
		a = "The previous connection was reset (SO_LINGER 0 or an abort), so no TIME_WAIT kept its old segments out: closing with RST trades data safety and that protection for a free port. Close with FIN. "
	default:
		switch reuse {
		case "outbound":
			a = "The side that held TIME_WAIT connected again on the same four-tuple. "
		case "inbound":
			a = "A SYN reached the side that held TIME_WAIT for this four-tuple. "
		}
	}
	if !ts {
		a += "Timestamps did not move ahead between the incarnations, so PAWS cannot reject old duplicates: keep net.ipv4.tcp_timestamps on. "
	}
	if dup {
		a += "A segment of the old connection was seen in the new one. "
	}
	return a + "Reuse connections (keep-alive, pools) instead of opening short ones; never enable tcp_tw_recycle, and tcp_fin_timeout does not shorten TIME_WAIT."
}
