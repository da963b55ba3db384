package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// TestTextAnswerFirst: the text summary gives the verdict and the
// TIME_WAIT peak per host, with its time, before the findings, and the
// advice of each finding kind after them.
func TestTextAnswerFirst(t *testing.T) {
	for _, tc := range []struct {
		capture, host, role, peak string
		verdict                   []string
	}{
		{"server_close_first.pcap", "10.2.0.2", "server", "20",
			[]string{"The server closes first in 20 of 20 connections", "up to 20 sockets at once", "harmless up to net.ipv4.tcp_max_tw_buckets (262,144 assumed",
				"let them close first"}},
		{"client_close_first.pcap", "10.1.1.2", "client", "20",
			[]string{"The clients close first in 20 of 20 connections", "as it should be"}},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			res := htmlTestResult(t, lab+tc.capture)
			var b bytes.Buffer
			if err := WriteText(&b, res); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			findings := strings.Index(out, "\nfindings:")
			if findings < 0 {
				t.Fatalf("no findings section:\n%s", out)
			}
			row := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(tc.host) + `\s+` + tc.role + `\s+` + tc.peak + `\s+` +
				regexp.QuoteMeta(res.Verdict.Hosts[0].PeakAt.String()))
			loc := row.FindStringIndex(out)
			if loc == nil || loc[0] > findings {
				t.Errorf("no TIME_WAIT peak row for %s (%s, peak %s, with its time) before the findings:\n%s", tc.host, tc.role, tc.peak, out)
			}
			v := strings.Index(out, "\nverdict: ")
			if v < 0 || v > findings {
				t.Errorf("no verdict before the findings")
			}
			for _, want := range tc.verdict {
				if i := strings.Index(out, want); i < 0 || i > findings {
					t.Errorf("the verdict does not say %q before the findings", want)
				}
			}
			advice := strings.Index(out, "\nadvice, by finding kind:\n")
			if len(res.Counts()) == 0 {
				if advice >= 0 {
					t.Errorf("advice by finding kind without findings")
				}
				return
			}
			if advice < findings {
				t.Fatalf("no advice after the findings")
			}
			for _, k := range res.Counts() {
				if !strings.Contains(out[advice:], "\n  "+k.Kind+": ") {
					t.Errorf("no advice line for %s", k.Kind)
				}
			}
		})
	}
}

// TestHTMLAnswerFirst: the HTML report's first section answers who holds
// TIME_WAIT, with the peak and the TIME_WAIT plot, before the findings;
// a capture where the server closed every connection is not summed up
// as "informational findings only".
func TestHTMLAnswerFirst(t *testing.T) {
	res, page := renderHTML(t, lab+"server_close_first.pcap")
	doc := string(page)
	pos := func(s string) int {
		i := strings.Index(doc, s)
		if i < 0 {
			t.Fatalf("no %q in the page", s)
		}
		return i
	}
	findings := pos(`<section id="findings">`)
	order := []string{`<section id="answer"`, `id="verdict"`, `id="answer-endpoints"`, `id="answer-hosts"`,
		`<tr data-ip="10.2.0.2" data-peak="20">`, `<figure id="plot-1-time-wait">`, `<section id="summary">`}
	last := -1
	for _, s := range order {
		i := pos(s)
		if i < last || i > findings {
			t.Errorf("%s at %d: not in order before the findings (%d)", s, i, findings)
		}
		last = i
	}
	if strings.Contains(doc, "Informational findings only") {
		t.Error(`the server held TIME_WAIT of 20 of 20 connections, and the page says "Informational findings only"`)
	}
	m := regexp.MustCompile(`<p class="verdict ([a-z]+)" id="verdict">([^<]*)</p>`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("no verdict paragraph")
	}
	if m[1] == "ok" {
		t.Errorf("verdict class %q for a server holding every TIME_WAIT", m[1])
	}
	for _, want := range []string{"server closes first in 20 of 20", "up to 20 sockets at once", "tcp_max_tw_buckets", "let them close first"} {
		if !strings.Contains(m[2], want) {
			t.Errorf("verdict %q does not say %q", m[2], want)
		}
	}
	if res.Verdict.Cause != analyze.CauseServerCloses {
		t.Errorf("cause %s", res.Verdict.Cause)
	}
}

// TestVerdictSeverityCounts: the verdict words the findings behind its
// cause by their counts per severity, not by the worst one.
func TestVerdictSeverityCounts(t *testing.T) {
	res := &analyze.Result{
		Totals:        analyze.Totals{Connections: 50},
		Closes:        analyze.CloseSummary{TimeWaitHolders: map[string]int{"client": 50}, ByCloser: map[string]int{"client": 50}},
		FindingCounts: []analyze.FindingCount{{Kind: analyze.KindTupleReuse, Severity: analyze.SeverityWarning, Count: 13}, {Kind: analyze.KindTupleReuse, Severity: analyze.SeverityInfo, Count: 37}},
	}
	res.Verdict = analyze.NewVerdict(res, 0)
	s := VerdictSentence(res)
	if !strings.Contains(s, "50 tuple_reuse (13 warning, 37 info)") {
		t.Errorf("verdict %q", s)
	}
}

// TestLaddersStartAtSYN: every ladder of a capture that holds its
// connections' handshakes starts at the client's SYN, and its numbers
// are relative as Wireshark shows them (the SYN's seq 0).
func TestLaddersStartAtSYN(t *testing.T) {
	for _, c := range []string{"lost_final_ack.pcap", "tw_bucket_overflow_rst.pcap", "close_wait_leak.pcap",
		"fast_port_reuse_tw_reuse.pcap", "crafted/syn_tsval_lower_than_previous.pcap", "seq_overlap_incarnations.pcap.gz"} {
		t.Run(c, func(t *testing.T) {
			res := htmlTestResult(t, lab+c)
			ls, err := collectLadders([]string{lab + c}, res)
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) == 0 {
				t.Fatal("no ladders")
			}
			for _, l := range ls {
				first := l.Packets[0]
				if !l.FromSYN || first.Flags&(reassembly.FlagSYN|reassembly.FlagACK) != reassembly.FlagSYN || !first.FromClient {
					t.Errorf("%s: starts at frame %d [%s] (from SYN %v)", l.Kind, first.Frame.N, flagNames(first.Flags), l.FromSYN)
				}
				if first.Rel.Seq != 0 {
					t.Errorf("%s: the SYN's relative seq is %d", l.Kind, first.Rel.Seq)
				}
				if len(l.Gaps) > 0 && l.Gaps[0].At == 0 {
					t.Errorf("%s: packets left out before the SYN: %v", l.Kind, l.Gaps)
				}
				if !strings.Contains(l.isn(true), "ISN ") {
					t.Errorf("%s: client lane header %q", l.Kind, l.isn(true))
				}
			}
		})
	}
}
