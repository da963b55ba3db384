package report

import (
	"strings"
	"testing"

	"github.com/twscope/twscope/analyze"
)

// rulesResult is an analysis of 40 connections to one server, 12 of them
// closed first by the server and 2 reset by it, with three findings.
func rulesResult() *analyze.Result {
	return &analyze.Result{
		Totals: analyze.Totals{Connections: 40, Partial: 1},
		Closes: analyze.CloseSummary{
			ByKind:          map[string]int{"fin": 38, "rst": 2},
			ByCloser:        map[string]int{"client": 26, "server": 12, "none": 2},
			TimeWaitHolders: map[string]int{"client": 26, "server": 12, "none": 2},
			FinalAck:        map[string]int{"seen": 37, "lost": 1, "n/a": 2},
			RSTBy:           map[string]int{"server": 2},
		},
		Endpoints: []analyze.Endpoint{{Server: "10.0.0.1:80", Connections: 40,
			Closer: map[string]int{"client": 26, "server": 12, "none": 2}, Close: map[string]int{"fin": 38, "rst": 2},
			TimeWaitHolders: map[string]int{"client": 26, "server": 12, "none": 2}}},
		Findings: []analyze.Finding{
			{Kind: analyze.KindTupleReuse, Severity: analyze.SeverityWarning},
			{Kind: analyze.KindTupleReuse, Severity: analyze.SeverityCritical},
			{Kind: analyze.KindLostFinalAck, Severity: analyze.SeverityInfo},
		},
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		rule   string
		failed bool
		msg    string
	}{
		{"tuple_reuse>0", true, "rule tuple_reuse>0 failed: 2 tuple_reuse findings"},
		{"final_ack_rst>0", false, "rule final_ack_rst>0 passed: 0 final_ack_rst findings"},
		{"lost_final_ack>=1", true, "rule lost_final_ack>=1 failed: 1 lost_final_ack finding"},
		{"findings>3", false, "rule findings>3 passed: 3 findings"},
		{"critical>0", true, "rule critical>0 failed: 1 critical finding"},
		{"severity:warning>0", true, "rule severity:warning>0 failed: 1 warning finding"},
		{"connections<50", true, "rule connections<50 failed: 40 connections"},
		{"connections==40", true, "rule connections==40 failed: 40 connections"},
		{"connections!=40", false, "rule connections!=40 passed: 40 connections"},
		{"partial_connections>0", true, "rule partial_connections>0 failed: 1 of 40 connections without a handshake in the capture"},
		{"close:rst>0", true, "rule close:rst>0 failed: 2 of 40 connections ended with a RST"},
		{"closer:server>10%", true, "rule closer:server>10% failed: the server closed first in 12 of 40 connections (30.0%)"},
		{"closer:server>30%", false, "rule closer:server>30% passed: the server closed first in 12 of 40 connections (30.0%)"},
		{"closer:server@10.0.0.1:80>0", true, "rule closer:server@10.0.0.1:80>0 failed: the server closed first in 12 of 40 connections to server 10.0.0.1:80"},
		{"closer:server@10.0.0.9:80>0", false, "rule closer:server@10.0.0.9:80>0 passed: the server closed first in 0 of 0 connections to server 10.0.0.9:80"},
		{"connections@10.0.0.1:80<=39", false, "rule connections@10.0.0.1:80<=39 passed: 40 connections to server 10.0.0.1:80"},
		{"time_wait:server>0", true, "rule time_wait:server>0 failed: TIME_WAIT was held by the server in 12 of 40 connections"},
		{"final_ack:lost>0", true, "rule final_ack:lost>0 failed: the final ACK was lost in 1 of 40 connections"},
		{"rst_by:server=2", true, "rule rst_by:server=2 failed: a RST came from the server in 2 of 40 connections"},
		{"rst_by:client>0", false, "rule rst_by:client>0 passed: a RST came from the client in 0 of 40 connections"},
		{" Tuple_Reuse > 1 ", true, "rule Tuple_Reuse>1 failed: 2 tuple_reuse findings"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			rules, err := ParseRules(tt.rule)
			if err != nil || len(rules) != 1 {
				t.Fatalf("ParseRules: %v, %d rules", err, len(rules))
			}
			r := rules[0].Eval(rulesResult())
			if r.Failed != tt.failed || r.Message != tt.msg {
				t.Errorf("failed %v, %q\nwant %v, %q", r.Failed, r.Message, tt.failed, tt.msg)
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	rules, err := ParseRules("tuple_reuse>0, final_ack_rst>0,,close:rst>=5%")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range rules {
		texts = append(texts, r.Name+" "+r.Op)
	}
	if got := strings.Join(texts, ","); got != "tuple_reuse >,final_ack_rst >,close:rst >=" {
		t.Errorf("parsed %s", got)
	}
	if !rules[2].Percent || rules[2].Value != 5 {
		t.Errorf("close:rst>=5%%: %+v", rules[2])
	}

	bad := []struct{ rule, want string }{
		{"tuple_reuses>0", `unknown name "tuple_reuses"; known names: findings, lost_final_ack, final_ack_rst, tuple_reuse`},
		{"close:reset>0", "known names:"},
		{"tuple_reuse", "want NAME OP NUMBER"},
		{">3", "want NAME OP NUMBER"},
		{"tuple_reuse>x", `"x" is not a number`},
		{"tuple_reuse>-1", `"-1" is not a number`},
		{"close:rst>120%", "at most 100"},
		{"connections>10%", "percentage of themselves"},
		{"final_ack:lost@10.0.0.1:80>0", "at one server"},
		{"close:rst@>0", "NAME@ip:port"},
	}
	for _, tt := range bad {
		_, err := ParseRules("connections>0," + tt.rule)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.rule, err, tt.want)
		}
	}
}

// TestRuleNamesKnown checks that every name RuleNames lists parses, so the
// list printed for an unknown name is one the user can copy.
func TestRuleNamesKnown(t *testing.T) {
	for _, n := range RuleNames() {
		if _, err := ParseRules(n + ">0"); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestRulesCountOmitted: rules judge every finding, also those past the
// report's list (Result.FindingCounts), not only the listed examples.
func TestRulesCountOmitted(t *testing.T) {
	res := rulesResult()
	res.FindingCounts = []analyze.FindingCount{
		{Kind: analyze.KindTupleReuse, Severity: analyze.SeverityCritical, Count: 1},
		{Kind: analyze.KindTupleReuse, Severity: analyze.SeverityWarning, Count: 700},
		{Kind: analyze.KindLostFinalAck, Severity: analyze.SeverityInfo, Count: 1},
	}
	res.FindingsOmitted = map[string]int{analyze.KindTupleReuse: 699}
	for rule, want := range map[string]string{
		"tuple_reuse>500": "rule tuple_reuse>500 failed: 701 tuple_reuse findings",
		"warning>1":       "rule warning>1 failed: 700 warning findings",
		"findings>702":    "rule findings>702 passed: 702 findings",
	} {
		rules, err := ParseRules(rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := rules[0].Eval(res).Message; got != want {
			t.Errorf("%s: %q, want %q", rule, got, want)
		}
	}
}
