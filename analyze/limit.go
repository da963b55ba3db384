package analyze

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
	omitted map[string]int
}

func newFindingLimit() *findingLimit {
	return &findingLimit{listed: map[[2]string]int{}, omitted: map[string]int{}}
}

// take reports whether a finding of kind and severity is to be listed;
// when not, it is counted as omitted. A nil limit lists everything.
func (l *findingLimit) take(kind, severity string) bool {
	if l == nil {
		return true
	}
	k := [2]string{kind, severity}
	if l.listed[k] >= MaxExamples {
		l.omitted[kind]++
		return false
	}
	l.listed[k]++
	return true
}

// limited is embedded in the detectors that report per connection.
type limited struct{ lim *findingLimit }

func (l *limited) setLimit(lim *findingLimit) { l.lim = lim }

type limitable interface{ setLimit(*findingLimit) }
