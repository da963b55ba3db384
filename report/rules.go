package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twscope/twscope/analyze"
)

// Rule is one threshold of --fail-on: NAME[@SERVER] OP VALUE[%]. It fails
// when the comparison holds ("tuple_reuse>0" fails when there is a reuse).
type Rule struct {
	Text     string  // as written, without spaces
	Name     string  // canonical name (RuleNames)
	Server   string  // "" or the server endpoint ip:port the count is taken at
	Op       string  // >, >=, <, <=, ==, !=
	Value    float64 // the threshold
	Percent  bool    // Value is a percentage of the connections
	fact     string  // "close", "closer", ... for close facts; "" otherwise
	factKey  string  // the fact's value: "rst", "server", ...
	findings string  // finding kind or severity counted; "*" for all
}

// RuleResult is a rule judged against one analysis.
type RuleResult struct {
	Rule    Rule
	Count   int  // what the rule counted
	Of      int  // connections the count is out of
	Failed  bool // the comparison held
	Message string
}

// Rule name vocabulary. Finding kinds count findings; severities count
// findings of that severity; the close facts count incarnations, as the
// fields of the connection records do.
var (
	ruleKinds      = analyze.Kinds[:]
	ruleSeverities = severityNames
	ruleFacts      = []struct {
		name   string
		values []string
	}{
		{"close", closeKindNames},
		{"closer", sideNames},
		{"time_wait", sideNames},
		{"final_ack", finalAckNames},
		{"rst_by", senderNames},
	}
	// ruleEndpointFacts can be taken per server endpoint (NAME@ip:port):
	// the report's endpoints carry these.
	ruleEndpointFacts = map[string]bool{"close": true, "closer": true, "time_wait": true}
)

// RuleNames lists every name a rule may use, in a stable order.
func RuleNames() []string {
	names := []string{"findings"}
	names = append(names, ruleKinds...)
	names = append(names, ruleSeverities...)
	names = append(names, "connections", "partial_connections")
	for _, f := range ruleFacts {
		for _, v := range f.values {
			names = append(names, f.name+":"+v)
		}
	}
	return names
}

var ruleOps = []string{">=", "<=", "==", "!=", ">", "<", "="} // longest first

// ParseRules parses comma-separated rules ("tuple_reuse>0,final_ack_rst>0").
// Empty items are skipped. An unknown name is an error that lists the
// known ones.
func ParseRules(s string) ([]Rule, error) {
	var rules []Rule
	for _, item := range strings.Split(s, ",") {
		item = strings.Join(strings.Fields(item), "")
		if item == "" {
			continue
		}
		r, err := parseRule(item)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(text string) (Rule, error) {
	r := Rule{Text: text}
	at, opLen := -1, 0
	for i := 0; i < len(text) && at < 0; i++ {
		for _, op := range ruleOps {
			if strings.HasPrefix(text[i:], op) {
				at, opLen = i, len(op)
				break
			}
		}
	}
	if at <= 0 {
		return r, fmt.Errorf("rule %q: want NAME OP NUMBER, e.g. tuple_reuse>0 (OP: > >= < <= == !=)", text)
	}
	name, value := strings.ToLower(text[:at]), text[at+opLen:]
	r.Op = text[at : at+opLen]
	if r.Op == "=" {
		r.Op = "=="
	}
	if v, ok := strings.CutSuffix(value, "%"); ok {
		r.Percent, value = true, v
	}
	n, err := strconv.ParseFloat(value, 64)
	if err != nil || n < 0 || n != n {
		return r, fmt.Errorf("rule %q: %q is not a number of 0 or more", text, text[at+opLen:])
	}
	if r.Percent && n > 100 {
		return r, fmt.Errorf("rule %q: a percentage is at most 100", text)
	}
	r.Value = n
	if base, server, ok := strings.Cut(name, "@"); ok {
		name = base
		if server == "" {
			return r, fmt.Errorf("rule %q: want NAME@ip:port", text)
		}
		r.Server = server
	}
	name = strings.TrimPrefix(name, "severity:")
	r.Name = name
	switch {
	case name == "findings":
		r.findings = "*"
	case contains(ruleKinds, name) || contains(ruleSeverities, name):
		r.findings = name
	case name == "connections" || name == "partial_connections":
	default:
		fact, key, _ := strings.Cut(name, ":")
		for _, f := range ruleFacts {
			if f.name == fact && contains(f.values, key) {
				r.fact, r.factKey = fact, key
			}
		}
		if r.fact == "" {
			return r, fmt.Errorf("rule %q: unknown name %q; known names: %s", text, name, strings.Join(RuleNames(), ", "))
		}
	}
	if r.Server != "" && !(name == "connections" || ruleEndpointFacts[r.fact]) {
		return r, fmt.Errorf("rule %q: only connections, close:*, closer:* and time_wait:* can be taken at one server (@ip:port)", text)
	}
	if r.Percent && name == "connections" {
		return r, fmt.Errorf("rule %q: connections cannot be a percentage of themselves", text)
	}
	return r, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Eval judges the rule against res.
func (r Rule) Eval(res *analyze.Result) RuleResult {
	out := RuleResult{Rule: r, Of: res.Totals.Connections}
	var ep *analyze.Endpoint
	if r.Server != "" {
		for i := range res.Endpoints {
			if res.Endpoints[i].Server == r.Server {
				ep = &res.Endpoints[i]
			}
		}
		out.Of = 0
		if ep != nil {
			out.Of = ep.Connections
		}
	}
	switch {
	case r.findings != "":
		out.Count = res.Count(r.findings)
	case r.Name == "connections":
		out.Count = out.Of
	case r.Name == "partial_connections":
		out.Count = res.Totals.Partial
	case ep != nil:
		out.Count = map[string]map[string]int{"close": ep.Close, "closer": ep.Closer, "time_wait": ep.TimeWaitHolders}[r.fact][r.factKey]
	case r.Server != "":
		// no connections to that server: every count is 0
	default:
		c := res.Closes
		out.Count = map[string]map[string]int{"close": c.ByKind, "closer": c.ByCloser, "time_wait": c.TimeWaitHolders,
			"final_ack": c.FinalAck, "rst_by": c.RSTBy}[r.fact][r.factKey]
	}
	x := float64(out.Count)
	if r.Percent {
		x = 0
		if out.Of > 0 {
			x = 100 * float64(out.Count) / float64(out.Of)
		}
	}
	switch r.Op {
	case ">":
		out.Failed = x > r.Value
	case ">=":
		out.Failed = x >= r.Value
	case "<":
		out.Failed = x < r.Value
	case "<=":
		out.Failed = x <= r.Value
	case "==":
		out.Failed = x == r.Value
	case "!=":
		out.Failed = x != r.Value
	}
	verdict := "passed"
	if out.Failed {
		verdict = "failed"
	}
	out.Message = fmt.Sprintf("rule %s %s: %s", r.Text, verdict, r.describe(out.Count, out.Of))
	return out
}

// describe says what the rule counted, for a person.
func (r Rule) describe(n, of int) string {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	share := fmt.Sprintf("%d of %d connections", n, of)
	if r.Percent && of > 0 {
		share += fmt.Sprintf(" (%.1f%%)", 100*float64(n)/float64(of))
	}
	at := ""
	if r.Server != "" {
		at = " to server " + r.Server
	}
	switch {
	case r.findings == "*":
		return plural(n, "finding", "findings")
	case r.findings != "":
		return plural(n, r.findings+" finding", r.findings+" findings")
	case r.Name == "connections":
		return plural(n, "connection", "connections") + at
	case r.Name == "partial_connections":
		return share + " without a handshake in the capture"
	}
	switch r.fact + ":" + r.factKey {
	case "close:fin":
		return share + at + " closed with FINs both ways"
	case "close:simultaneous":
		return share + at + " closed simultaneously (FINs crossed)"
	case "close:rst":
		return share + at + " ended with a RST"
	case "close:half":
		return share + at + " stayed half-closed"
	case "close:open":
		return share + at + " still open at the end of the capture"
	case "closer:both":
		return "both sides closed at once in " + share + at
	case "closer:none":
		return "neither side sent a FIN in " + share + at
	case "final_ack:lost":
		return "the final ACK was lost in " + share
	case "final_ack:seen":
		return "the final ACK was seen in " + share
	case "final_ack:not_observed":
		return "the final ACK is not in the capture in " + share
	case "final_ack:n/a":
		return "no final ACK to see (no close by two FINs) in " + share
	}
	who := "the " + r.factKey
	if r.factKey == "both" {
		who = "both sides"
	}
	switch r.fact {
	case "closer":
		return who + " closed first in " + share + at
	case "time_wait":
		if r.factKey == "none" {
			return "nobody held TIME_WAIT in " + share + at
		}
		return "TIME_WAIT was held by " + who + " in " + share + at
	case "rst_by":
		return "a RST came from " + who + " in " + share
	}
	return share
}

// EvalRules judges every rule against res, in the order given.
func EvalRules(rules []Rule, res *analyze.Result) []RuleResult {
	out := make([]RuleResult, len(rules))
	for i, r := range rules {
		out[i] = r.Eval(res)
	}
	return out
}
