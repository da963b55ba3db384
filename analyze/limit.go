package analyze

import (
	"encoding/json"
	"fmt"
	"sort"
)

// MaxExamples bounds the findings of one kind and severity listed in a
// report. Kinds reported once per connection (lost_final_ack,
// final_ack_rst, tuple_reuse, seq_overlap, old_duplicate, seq_wrap) can
// number in the hundreds of thousands on a long capture; past the bound
// they are counted in Result.FindingsOmitted instead of listed, so memory
// stays flat in the capture's length. The first ones in record order are
// kept, so the output is the same for the same capture.
const MaxExamples = 500

// findingLimit counts the findings of each kind and severity and says
// which to build.
type findingLimit struct {
	listed  map[kindSeverity]int
	omitted map[kindSeverity]int
	// conns asks for every per-connection finding, listed or not, to be
	// built; conn holds those about the record being observed.
	conns bool
	conn  []ConnFinding
}

// ConnFinding is a finding about one connection alone, as its --conns
// record names it (contract.md): every one, whether the report lists it
// or only counts it.
type ConnFinding struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Evidence Evidence `json:"evidence"`
}

// perConn reports whether findings past the bound are to be built, for
// the connection records.
func (l *findingLimit) perConn() bool { return l != nil && l.conns }

// keep adds f to the listed findings fs when listed, and to the findings
// of the record being observed when the records ask for them.
func (l *findingLimit) keep(fs []Finding, f Finding, listed bool) []Finding {
	if l.perConn() {
		l.conn = append(l.conn, ConnFinding{Kind: f.Kind, Severity: f.Severity, Evidence: f.Evidence})
	}
	if listed {
		fs = append(fs, f)
	}
	return fs
}

// kindSeverity is what findings are counted and bounded by.
type kindSeverity struct {
	kind     string
	severity Severity
}

func newFindingLimit() *findingLimit {
	return &findingLimit{listed: map[kindSeverity]int{}, omitted: map[kindSeverity]int{}}
}

// take reports whether a finding of kind and severity is to be listed;
// when not, it is counted as omitted. A nil limit lists everything.
func (l *findingLimit) take(kind string, severity Severity) bool {
	if l == nil {
		return true
	}
	k := kindSeverity{kind, severity}
	if l.listed[k] >= MaxExamples {
		l.omitted[k]++
		return false
	}
	l.listed[k]++
	return true
}

// limited is embedded in the detectors that report per connection.
type limited struct{ lim *findingLimit }

func (l *limited) setLimit(lim *findingLimit) { l.lim = lim }

type limitable interface{ setLimit(*findingLimit) }

// FindingCount is how many findings of one kind and severity an analysis
// made, listed in Result.Findings or not.
type FindingCount struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Count    int      `json:"count"`
}

// countFindings counts the listed findings (in report order: most severe
// first) and adds the omitted ones.
func countFindings(listed []Finding, omitted map[kindSeverity]int) []FindingCount {
	n := map[kindSeverity]int{}
	var order []kindSeverity
	add := func(k kindSeverity, c int) {
		if _, ok := n[k]; !ok {
			order = append(order, k)
		}
		n[k] += c
	}
	for _, f := range listed {
		add(kindSeverity{f.Kind, f.Severity}, 1)
	}
	for k, c := range omitted {
		add(k, c)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.severity.Rank() != b.severity.Rank() {
			return a.severity.Rank() < b.severity.Rank()
		}
		return a.kind < b.kind
	})
	out := make([]FindingCount, 0, len(order))
	for _, k := range order {
		out = append(out, FindingCount{Kind: k.kind, Severity: k.severity, Count: n[k]})
	}
	return out
}

// Counts is FindingCounts, or the counts of the listed findings for a
// Result not made by Run.
func (r *Result) Counts() []FindingCount {
	if r.FindingCounts == nil {
		return countFindings(r.Findings, nil)
	}
	return r.FindingCounts
}

// Count is the number of findings, listed or omitted, whose kind or
// severity is what ("*" for all).
func (r *Result) Count(what string) int {
	total := 0
	for _, c := range r.Counts() {
		if what == "*" || c.Kind == what || string(c.Severity) == what {
			total += c.Count
		}
	}
	return total
}

// UnmarshalJSON reads a ConnFinding back, its evidence as its kind's
// struct, for tools and tests that read connection records.
func (f *ConnFinding) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind     string          `json:"kind"`
		Severity Severity        `json:"severity"`
		Evidence json.RawMessage `json:"evidence"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = ConnFinding{Kind: raw.Kind, Severity: raw.Severity}
	ev, ok := EvidenceTypes()[raw.Kind]
	if !ok || len(raw.Evidence) == 0 || string(raw.Evidence) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw.Evidence, ev); err != nil {
		return fmt.Errorf("%s evidence: %w", raw.Kind, err)
	}
	f.Evidence = ev
	return nil
}
