package analyze

import "sort"

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
	listed  map[[2]string]int
	omitted map[[2]string]int // by kind and severity
}

func newFindingLimit() *findingLimit {
	return &findingLimit{listed: map[[2]string]int{}, omitted: map[[2]string]int{}}
}

// take reports whether a finding of kind and severity is to be listed;
// when not, it is counted as omitted. A nil limit lists everything.
func (l *findingLimit) take(kind, severity string) bool {
	if l == nil {
		return true
	}
	k := [2]string{kind, severity}
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
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Count    int    `json:"count"`
}

// countFindings counts the listed findings (in report order: most severe
// first) and adds the omitted ones.
func countFindings(listed []Finding, omitted map[[2]string]int) []FindingCount {
	n := map[[2]string]int{}
	var order [][2]string
	add := func(k [2]string, c int) {
		if _, ok := n[k]; !ok {
			order = append(order, k)
		}
		n[k] += c
	}
	for _, f := range listed {
		add([2]string{f.Kind, f.Severity}, 1)
	}
	for k, c := range omitted {
		add(k, c)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if severityRank[a[1]] != severityRank[b[1]] {
			return severityRank[a[1]] < severityRank[b[1]]
		}
		return a[0] < b[0]
	})
	out := make([]FindingCount, 0, len(order))
	for _, k := range order {
		out = append(out, FindingCount{Kind: k[0], Severity: k[1], Count: n[k]})
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
		if what == "*" || c.Kind == what || c.Severity == what {
			total += c.Count
		}
	}
	return total
}
