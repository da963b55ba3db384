package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// The verdict (analyze.Verdict) in words: one sentence that answers who
// holds TIME_WAIT and how many sockets, then its cause and the advice.
// The facts and the choice of cause are analyze's; here they are worded.

// adviceText words each piece of advice (domain.md section 7).
var adviceText = map[analyze.AdviceCode]string{
	analyze.AdviceNothing: "nothing to change",
	analyze.AdviceLetClientClose: "to move TIME_WAIT to the clients, let them close first: keep connections alive " +
		"(HTTP keep-alive, connection pools) and let the clients close idle ones, instead of the server closing after each response (Connection: close)",
	analyze.AdviceKeepAlive: "reuse connections (HTTP keep-alive, connection pools) instead of opening one per request",
	analyze.AdviceTWReuse: "net.ipv4.tcp_tw_reuse=1 helps only the side that connects (outbound connections), " +
		"and only with TCP timestamps on",
	analyze.AdviceWidenPortRange: "widen net.ipv4.ip_local_port_range on the clients, since port pressure is shown",
	analyze.AdviceRaiseTWBuckets: "check the closer's net.ipv4.tcp_max_tw_buckets and raise it (the kernel logs \"TCP: time wait bucket table overflow\" when it drops TIME_WAIT sockets)",
	analyze.AdviceFixClosePath:   "fix the application's close path: the peer's EOF (read() returning 0) must lead to close()",
	analyze.AdviceNeverTWRecycle: "never enable tcp_tw_recycle (removed in Linux 4.12): per-IP timestamp checks drop SYNs from clients behind NAT",
	analyze.AdviceKeepTimestamps: "keep TCP timestamps on at both ends (PAWS rejects old segments)",
	analyze.AdviceNoFinTimeout:   "tcp_fin_timeout does not shorten TIME_WAIT (it bounds FIN_WAIT_2)",
	analyze.AdviceLingerCost: "RST closes (SO_LINGER 0) avoid TIME_WAIT at the cost of unsent data and of " +
		"the protection against old duplicates",
	analyze.AdviceCheckPathLoss:  "nothing, unless frequent: then look for packet loss on the path",
	analyze.AdviceDoNotShortenTW: "do not shorten TIME_WAIT: it is what keeps old segments out of new connections",
	analyze.AdviceCheckInjection: "look for who sent segments no receiver would accept: an injected RST or FIN (RFC 5961), " +
		"or a middlebox rewriting sequence numbers (capture on both sides of it); they were not counted in the close",
}

// AdviceText words advice codes as one clause each, joined by "; ".
func AdviceText(codes []analyze.AdviceCode) string {
	var parts []string
	for _, c := range codes {
		if t, ok := adviceText[c]; ok {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "; ")
}

// sidePhrase names the side holding TIME_WAIT for a sentence.
func sidePhrase(side string) string {
	switch side {
	case reassembly.SideServer.String():
		return "the server"
	case reassembly.SideClient.String():
		return "the clients"
	case reassembly.SideBoth.String():
		return "both sides"
	}
	return "nobody"
}

// VerdictSentence is the verdict in one sentence: who closes first and
// holds TIME_WAIT, the peak against its limit, then the cause and the
// advice. counts words the findings behind the cause ("3 critical").
func VerdictSentence(res *analyze.Result) string {
	v := res.Verdict
	if v.Cause == analyze.CauseNoConnections || v.Connections == 0 {
		return "No TCP connections in the capture: nothing to judge."
	}
	var b strings.Builder
	at := func(t *analyze.Time) string {
		if t == nil {
			return ""
		}
		return ", at " + t.UTC().Format("15:04:05.000")
	}
	for i, sd := range v.Sides {
		if i > 0 {
			b.WriteString("; ")
		}
		who, verb := "the server", "holds"
		if sd.Side != reassembly.SideServer.String() {
			who, verb = "the clients", "hold"
		}
		switch {
		case sd.ClosedFirst == 0:
			fmt.Fprintf(&b, "%s %s TIME_WAIT in %s of %s connections after simultaneous closes, up to %s at once on one host (%s%s)",
				who, verb, thousands(sd.Held), thousands(v.Connections), sockets(sd.Peak), sd.PeakHost, at(sd.PeakAt))
		case sd.PeakShared && sd.Side == reassembly.SideServer.String():
			fmt.Fprintf(&b, "the server closes first in %s of %s connections and holds TIME_WAIT in %s; its address %s is the clients' too, and held up to %s at once for both roles (%s)",
				thousands(sd.ClosedFirst), thousands(v.Connections), thousands(sd.Held), sd.PeakHost, sockets(sd.Peak), strings.TrimPrefix(at(sd.PeakAt), ", "))
		case sd.PeakShared && i > 0 && v.Sides[0].PeakShared && v.Sides[0].PeakHost == sd.PeakHost:
			fmt.Fprintf(&b, "the clients close first in %s of %s connections and hold TIME_WAIT in %s, on the same address",
				thousands(sd.ClosedFirst), thousands(v.Connections), thousands(sd.Held))
		case sd.PeakShared:
			fmt.Fprintf(&b, "the clients close first in %s of %s connections and hold TIME_WAIT in %s, on %s, a server's address too: it held up to %s at once for both roles (%s)",
				thousands(sd.ClosedFirst), thousands(v.Connections), thousands(sd.Held), sd.PeakHost, sockets(sd.Peak), strings.TrimPrefix(at(sd.PeakAt), ", "))
		case sd.Side == reassembly.SideServer.String():
			fmt.Fprintf(&b, "the server closes first in %s of %s connections and holds TIME_WAIT in %s, up to %s at once (%s%s)",
				thousands(sd.ClosedFirst), thousands(v.Connections), thousands(sd.Held), sockets(sd.Peak), sd.PeakHost, at(sd.PeakAt))
		default:
			fmt.Fprintf(&b, "the clients close first in %s of %s connections and hold TIME_WAIT in %s, up to %s at once on one host (%s%s",
				thousands(sd.ClosedFirst), thousands(v.Connections), thousands(sd.Held), sockets(sd.Peak), sd.PeakHost, at(sd.PeakAt))
			fmt.Fprintf(&b, ", %s of its %s-port range)", percent(float64(sd.Peak)/float64(v.PortRangeSize)), thousands(v.PortRangeSize))
		}
	}
	closedFirst := false
	for _, sd := range v.Sides {
		closedFirst = closedFirst || sd.ClosedFirst > 0
	}
	if n := res.Closes.TimeWaitHolders[reassembly.SideBoth.String()]; n > 0 && closedFirst {
		fmt.Fprintf(&b, " (%d simultaneous closes leave it on both sides)", n)
	}
	if len(v.Sides) == 0 {
		fmt.Fprintf(&b, "Nobody holds TIME_WAIT in the %d connections", v.Connections)
		if v.ClosedFirst > 0 {
			fmt.Fprintf(&b, " (%s closed first in %d)", sidePhrase(v.Closer), v.ClosedFirst)
		}
	}
	limit := fmt.Sprintf("net.ipv4.tcp_max_tw_buckets (%s assumed; %s of it at peak)", thousands(v.TWBuckets), percent(float64(v.Peak)/float64(v.TWBuckets)))
	found := func(kind string) string {
		return fmt.Sprintf("%d %s (%s)", res.Count(kind), kind, severities(res, kind))
	}
	switch v.Cause {
	case analyze.CauseServerCloses:
		fmt.Fprintf(&b, ": that is harmless up to %s", limit)
	case analyze.CauseClientCloses:
		b.WriteString(": as it should be")
	case analyze.CauseSimultaneous:
		fmt.Fprintf(&b, ": harmless up to %s", limit)
	case analyze.CauseTWBuckets:
		fmt.Fprintf(&b, ": near the limit, %s; past it the kernel drops TIME_WAIT sockets", limit)
	case analyze.CauseFinalAckRST:
		fmt.Fprintf(&b, "; but %s: resent FINs were answered by RST, so the active closer had dropped its TIME_WAIT state early "+
			"(at most %s in TIME_WAIT seen on one host, %s of the %s buckets assumed)",
			found(analyze.KindFinalAckRST), sockets(v.Peak), percent(float64(v.Peak)/float64(v.TWBuckets)), thousands(v.TWBuckets))
	case analyze.CausePortExhaustion:
		fmt.Fprintf(&b, "; but %s: a client's ports in TIME_WAIT come near its %s-port range (connect() fails with EADDRNOTAVAIL)",
			found(analyze.KindPortPressure), thousands(v.PortRangeSize))
	case analyze.CauseOldDuplicate:
		fmt.Fprintf(&b, "; but %s: segments of an old incarnation reached a new one", found(analyze.KindOldDuplicate))
	case analyze.CauseNATTimestamps:
		fmt.Fprintf(&b, "; but %s: SYNs from behind NAT went unanswered as a per-IP timestamp check drops them", found(analyze.KindNATTSRegression))
	case analyze.CauseCloseWait:
		fmt.Fprintf(&b, "; but %s: an application does not close its sockets after the peer closed", found(analyze.KindCloseWait))
	case analyze.CauseUnprotectedUse:
		fmt.Fprintf(&b, "; but %s: four-tuples came back inside TIME_WAIT without the kernel's protection", found(analyze.KindTupleReuse))
	case analyze.CauseAbortiveCloses:
		fmt.Fprintf(&b, ": RSTs end %d of them", res.Closes.ByKind[reassembly.CloseRST.String()])
	case analyze.CauseUnfinished:
		b.WriteString(": no close finished in the capture")
	}
	if a := AdviceText(v.Advice); a != "" {
		b.WriteString("; " + a)
	}
	b.WriteString(".")
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// verdictClass is the CSS class of the verdict box: its severity, or ok
// when nothing needs changing.
func verdictClass(v analyze.Verdict) string {
	if v.Cause.Healthy() && v.Severity == analyze.SeverityInfo {
		return "ok"
	}
	if v.Cause == analyze.CauseServerCloses || v.Cause == analyze.CauseSimultaneous {
		return "notice"
	}
	return v.Severity.String()
}

func sockets(n int) string {
	if n == 1 {
		return "1 socket"
	}
	return thousands(n) + " sockets"
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// percent writes a fraction as a percentage with two significant digits
// when small.
func percent(f float64) string {
	p := f * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "<0.01%"
	case p < 1:
		return fmt.Sprintf("%.2f%%", p)
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}
