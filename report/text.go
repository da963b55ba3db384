package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// TextExamples is how many findings of one kind the text summary shows.
const TextExamples = 3

// WriteText writes the short human summary: what was read, how the
// connections closed, who holds TIME_WAIT, and the findings by kind.
func WriteText(w io.Writer, res *analyze.Result) error {
	p := &printer{w: w}
	t := res.Totals
	for _, c := range res.Captures {
		span := ""
		if c.First != nil && c.Last != nil {
			span = fmt.Sprintf(", %s .. %s", c.First.String(), c.Last.String())
		}
		if c.CapturePoint != "" {
			p.f("[%s] ", c.CapturePoint)
		}
		p.f("capture %s (%s, %d packets%s)\n", c.File, c.Format, c.Packets, span)
	}
	p.f("packets: %d, TCP %d, other %d, IP fragments %d, cut short %d",
		t.Packets, t.TCPPackets, t.NonTCP, t.Fragments, t.Truncated)
	if t.Filtered > 0 {
		p.f(", left out by --filter %d", t.Filtered)
	}
	p.f("\n")
	p.f("connections: %d (%d without handshake in the capture", t.Connections, t.Partial)
	if t.Evicted > 0 {
		p.f(", %d closed out after idling", t.Evicted)
	}
	p.f(")\n")
	if sel := res.Selection; sel != nil {
		p.f("selected: %s (%d of the capture's %d connections)\n", SelectionLabel(sel), t.Connections, sel.ConnectionsSeen)
	}
	if t.HalfOpenEvicted > 0 {
		p.f("%d half-open connections evicted (SYN flood or scan?)\n", t.HalfOpenEvicted)
	}
	if t.Duplicates > 0 {
		p.f("%d packets captured twice (on two interfaces?), counted once\n", t.Duplicates)
	}

	p.answer(w, res)

	c := res.Closes
	p.f("\ncloses (as seen in the capture):\n")
	p.counts(c.ByKind, closeKindNames, closeKindLabels[:])
	p.f("first to close:\n")
	p.counts(c.ByCloser, sideNames, nil)
	p.f("TIME_WAIT held by:\n")
	p.counts(c.TimeWaitHolders, sideNames, nil)
	if n := c.FinalAck[reassembly.FinalAckLost.String()]; n > 0 {
		p.f("final ACK lost (passive FIN sent again): %d\n", n)
	}
	if n := c.FinalAck[reassembly.FinalAckLate.String()]; n > 0 {
		p.f("final ACK late (passive FIN sent again while it was on its way): %d\n", n)
	}

	if len(res.Endpoints) > 0 {
		p.f("\nper server endpoint:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  server\tconns\tclient closes\tserver closes\tsimultaneous\tRST\tTIME_WAIT on server\n")
		shown := res.Endpoints
		if len(shown) > 10 {
			shown = shown[:10]
		}
		for _, e := range shown {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\n", e.Server, e.Connections,
				e.Closer[reassembly.SideClient.String()], e.Closer[reassembly.SideServer.String()], e.Closer[reassembly.SideBoth.String()],
				e.Close[reassembly.CloseRST.String()],
				e.TimeWaitHolders[reassembly.SideServer.String()]+e.TimeWaitHolders[reassembly.SideBoth.String()])
		}
		tw.Flush()
		if more := len(res.Endpoints) - len(shown); more > 0 {
			p.f("  ... and %d more endpoints\n", more)
		}
	}
	for _, l := range foldedLines(res) {
		p.f("%s\n", l)
	}

	if len(res.Findings) > 0 {
		p.f("\nfindings:\n")
		kinds, byKind := groupFindings(res.Findings)
		for _, k := range kinds {
			fs := byKind[k]
			total := res.Count(k)
			omitted := total - len(fs)
			p.f("  %s: %d (%s", k, total, severities(res, k))
			if omitted > 0 {
				p.f("; %d past the first %d of a severity not listed", omitted, analyze.MaxExamples)
			}
			p.f(")\n")
			for i, f := range fs {
				if i == TextExamples {
					p.f("    ... %d more\n", total-TextExamples)
					break
				}
				p.f("    [%s] %s\n", f.Severity, f.Summary)
				if f.Filter != "" {
					p.f("      wireshark: %s\n", f.Filter)
				}
			}
		}
		p.f("\nadvice, by finding kind:\n")
		for _, k := range kinds {
			if a := AdviceText(analyze.KindAdvice[k]); a != "" {
				p.f("  %s: %s\n", k, a)
			}
		}
	} else {
		p.f("\nfindings: none\n")
	}
	if l := natSummaryLine(res); l != "" {
		p.f("%s\n", l)
	}
	for _, warn := range res.Warnings {
		p.f("warning: %s\n", warn)
	}
	return p.err
}

// textHosts bounds the hosts the answer lists.
const textHosts = 10

// answer writes the answer first: the verdict, then per server endpoint
// who closes first and holds TIME_WAIT, and per host the TIME_WAIT peak
// and when, against tcp_max_tw_buckets and the port range.
func (p *printer) answer(w io.Writer, res *analyze.Result) {
	v := res.Verdict
	p.f("\nverdict: %s\n", VerdictSentence(res))
	if len(v.Endpoints) > 0 {
		p.f("\nwho closes first and holds TIME_WAIT, per server endpoint:\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  server\tconns\tcloses first (server, client, simultaneous)\tholds TIME_WAIT (server, client)\tserver host's TIME_WAIT peak\n")
		shown := v.Endpoints[:min(len(v.Endpoints), 10)]
		for _, e := range shown {
			peak := "0"
			if e.ServerPeakAt != nil {
				peak = fmt.Sprintf("%d at %s", e.ServerPeak, e.ServerPeakAt.String())
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d, %d, %d\t%d, %d\t%s\n", e.Server, e.Connections,
				e.ServerClosedFirst, e.ClientClosedFirst, e.Simultaneous, e.ServerHeld, e.ClientHeld, peak)
		}
		tw.Flush()
		if more := v.EndpointsTotal - len(shown); more > 0 {
			p.f("  ... and %d more endpoints\n", more)
		}
	}
	p.f("\nTIME_WAIT per host (most sockets at once, and when; against net.ipv4.tcp_max_tw_buckets %s, assumed unless --tw-buckets, and port range %d-%d):\n",
		thousands(v.TWBuckets), v.PortRange[0], v.PortRange[1])
	if len(v.Hosts) == 0 {
		p.f("  no host held a socket in TIME_WAIT in the capture\n")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  host\trole\tpeak\tat\tof buckets\tof port range\theld in all\n")
	shown := v.Hosts[:min(len(v.Hosts), textHosts)]
	for _, h := range shown {
		at, ports := "", "-"
		if h.PeakAt != nil {
			at = h.PeakAt.String()
		}
		if h.Role == analyze.RoleClient {
			ports = percent(float64(h.Peak) / float64(v.PortRangeSize))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%d\n", h.IP, h.Role, h.Peak, at,
			percent(float64(h.Peak)/float64(v.TWBuckets)), ports, h.Held)
	}
	tw.Flush()
	if more := v.HostsHolding - len(shown); more > 0 {
		p.f("  ... and %d more hosts held TIME_WAIT, each at most %d at once\n", more, shown[len(shown)-1].Peak)
	}
}

// groupFindings groups findings by kind, kinds with a critical finding
// first; findings keep the result's order (most severe first).
func groupFindings(fs []analyze.Finding) ([]string, map[string][]analyze.Finding) {
	by := map[string][]analyze.Finding{}
	var kinds []string
	for _, f := range fs {
		if by[f.Kind] == nil {
			kinds = append(kinds, f.Kind)
		}
		by[f.Kind] = append(by[f.Kind], f)
	}
	return kinds, by
}

func severities(res *analyze.Result, kind string) string {
	n := map[analyze.Severity]int{}
	for _, c := range res.Counts() {
		if c.Kind == kind {
			n[c.Severity] += c.Count
		}
	}
	var parts []string
	for _, s := range analyze.Severities {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// counts lists m's nonzero counts, the keys in order first (named by
// label, when given, at the same index), then any other keys sorted.
func (p *printer) counts(m map[string]int, order []string, label []string) {
	seen := map[string]bool{}
	keys := append([]string(nil), order...)
	var rest []string
	for k := range m {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	keys = append(keys, rest...)
	for _, k := range keys {
		if seen[k] || m[k] == 0 {
			continue
		}
		seen[k] = true
		name := k
		if i := slices.Index(order, k); i >= 0 && i < len(label) {
			name = label[i]
		}
		p.f("  %-30s %d\n", name, m[k])
	}
}

// foldedLines say which tables were folded (analyze/tables.go): one line
// each, for the text and HTML reports.
func foldedLines(res *analyze.Result) []string {
	var ls []string
	if e := res.EndpointsOther; e != nil {
		ls = append(ls, fmt.Sprintf("server endpoints folded: %d connections to endpoints past the %d busiest are one row (endpoints_other)", e.Connections, analyze.MaxEndpoints))
	}
	if h := res.HostsOther; h != nil {
		ls = append(ls, fmt.Sprintf("hosts folded: %d connections of addresses past the first %d are one row (hosts_other)", h.Connections, analyze.MaxHosts))
	}
	if p := res.PairsOther; p != nil {
		ls = append(ls, fmt.Sprintf("client-server pairs folded: %d connections of pairs past the first %d are one row (pairs_other), not judged for port pressure", p.Connections, analyze.MaxPairs))
	}
	return ls
}
