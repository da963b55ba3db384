package analyze

import (
	"bytes"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestFindingCountsPastLimit: a capture with more four-tuple reuses than
// a report lists (the benchmark generator's capture of nothing but reuse
// inside TIME_WAIT, about 1000 of them) lists MaxExamples, counts the rest
// as omitted, and FindingCounts and Count still give the whole number.
func TestFindingCountsPastLimit(t *testing.T) {
	var buf bytes.Buffer
	mix := synth.Mix{Reuse: 1}
	st, err := synth.Generate(&buf, synth.GenConfig{Seed: 5, Packets: 24000, Clients: 50, NATClients: -1, Mix: &mix})
	if err != nil {
		t.Fatal(err)
	}
	if st.Reuses <= MaxExamples {
		t.Fatalf("the capture has %d reuses; the test needs more than %d", st.Reuses, MaxExamples)
	}
	res := twRunBytes(t, Options{}, buf.Bytes())
	if got := len(twKind(res, KindTupleReuse)); got != MaxExamples {
		t.Errorf("%d tuple_reuse findings listed, want %d", got, MaxExamples)
	}
	if got, want := res.FindingsOmitted[KindTupleReuse], st.Reuses-MaxExamples; got != want {
		t.Errorf("%d omitted, want %d", got, want)
	}
	if got := res.Count(KindTupleReuse); got != st.Reuses {
		t.Errorf("Count(tuple_reuse) = %d, want %d", got, st.Reuses)
	}
	total := 0
	for _, c := range res.FindingCounts {
		total += c.Count
	}
	omitted := 0
	for _, n := range res.FindingsOmitted {
		omitted += n
	}
	if total != len(res.Findings)+omitted || res.Count("*") != total {
		t.Errorf("finding_counts sum to %d, Count(*) %d; %d listed + %d omitted", total, res.Count("*"), len(res.Findings), omitted)
	}
}
