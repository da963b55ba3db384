package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/twscope/twscope/analyze"
)

// markdownRows bounds the rows of each table in the Markdown summary.
const markdownRows = 10

// WriteMarkdown writes a short summary in GitHub-flavoured Markdown, for
// a CI job summary ($GITHUB_STEP_SUMMARY): the headline figures, the
// findings by kind and severity, the busiest endpoints, the hosts with
// the highest TIME_WAIT peaks and the first findings.
func WriteMarkdown(w io.Writer, res *analyze.Result) error {
	b := bufio.NewWriter(w)
	t := res.Totals
	points := map[string]bool{}
	for _, c := range res.Captures {
		if c.CapturePoint != "" {
			points[c.CapturePoint] = true
		}
	}
	fmt.Fprintf(b, "## twscope: %d connections, %d critical, %d warning findings\n\n",
		t.Connections, res.Count(string(analyze.SeverityCritical)), res.Count(string(analyze.SeverityWarning)))
	where := counted(len(res.Captures), "capture file")
	if len(points) > 0 {
		where += " from " + counted(len(points), "capture point")
	}
	fmt.Fprintf(b, "%s, %d packets (%d TCP); TIME_WAIT judged at %gs (%s profile). As seen in the capture.\n\n",
		where, t.Packets, t.TCPPackets, res.Profile.TimeWaitS, res.Profile.Name)

	b.WriteString("| closed first by | connections | TIME_WAIT held by | connections |\n|---|---:|---|---:|\n")
	for _, s := range sideNames {
		fmt.Fprintf(b, "| %s | %d | %s | %d |\n", s, res.Closes.ByCloser[s], s, res.Closes.TimeWaitHolders[s])
	}
	b.WriteString("\n")

	if counts := res.Counts(); len(counts) > 0 {
		b.WriteString("| finding | severity | count |\n|---|---|---:|\n")
		for _, c := range counts {
			fmt.Fprintf(b, "| `%s` | %s | %d |\n", c.Kind, c.Severity, c.Count)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No findings.\n\n")
	}

	if len(res.Endpoints) > 0 {
		fmt.Fprintf(b, "<details><summary>Busiest server endpoints (%d of %d)</summary>\n\n", min(markdownRows, len(res.Endpoints)), len(res.Endpoints))
		b.WriteString("| server | connections | client closed first | server closed first | client held TIME_WAIT | server held TIME_WAIT |\n|---|---:|---:|---:|---:|---:|\n")
		for _, e := range res.Endpoints[:min(markdownRows, len(res.Endpoints))] {
			fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", mdCell(e.Server), e.Connections,
				e.Closer["client"], e.Closer["server"], e.TimeWaitHolders["client"], e.TimeWaitHolders["server"])
		}
		b.WriteString("\n</details>\n\n")
	}
	var peaks []analyze.Host
	for _, h := range res.Hosts {
		if h.PeakTimeWait > 0 {
			peaks = append(peaks, h)
		}
	}
	if len(peaks) > 0 {
		// Hosts come most TIME_WAIT held first; the table ranks by peak.
		sort.SliceStable(peaks, func(i, j int) bool { return peaks[i].PeakTimeWait > peaks[j].PeakTimeWait })
		fmt.Fprintf(b, "<details><summary>TIME_WAIT peaks (%d of %d hosts)</summary>\n\n", min(markdownRows, len(peaks)), len(peaks))
		b.WriteString("| host | peak | at | held | connections |\n|---|---:|---|---:|---:|\n")
		for _, h := range peaks[:min(markdownRows, len(peaks))] {
			fmt.Fprintf(b, "| %s | %d | %s | %d | %d |\n", mdCell(h.IP), h.PeakTimeWait, h.PeakAt, h.TimeWaitHeld, h.Connections)
		}
		b.WriteString("\n</details>\n\n")
	}
	if len(res.Findings) > 0 {
		fmt.Fprintf(b, "<details><summary>First findings (%d of %d)</summary>\n\n", min(markdownRows, len(res.Findings)), res.Count("*"))
		for _, f := range res.Findings[:min(markdownRows, len(res.Findings))] {
			at := ""
			if f.CapturePoint != "" {
				at = " at " + f.CapturePoint
			}
			fmt.Fprintf(b, "- **%s** `%s`%s: %s\n", f.Severity, f.Kind, at, mdCell(f.Summary))
		}
		b.WriteString("\n</details>\n\n")
	}
	if len(res.Warnings) > 0 {
		fmt.Fprintf(b, "%d warnings: %s\n", len(res.Warnings), mdCell(res.Warnings[0]))
	}
	return b.Flush()
}

// mdCell keeps text inside one table cell or list line.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;").Replace(s)
}

// counted is n with the noun in the singular or plural: "1 capture file".
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
