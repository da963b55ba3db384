package analyze

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// TestRunConnsNamesEveryFinding: a generated capture with more lost final
// ACKs and reuses than the report lists (MaxExamples per kind and
// severity). Every per-connection finding, listed or only counted, must be
// named by the record it is about, exactly once; a listed finding's
// evidence must be the record's; and the report must be what Run gives.
func TestRunConnsNamesEveryFinding(t *testing.T) {
	mix := synth.Mix{ClientClose: 10, LostAckReAck: 10, LostAckRST: 3, Reuse: 10}
	var capture bytes.Buffer
	if _, err := synth.Generate(&capture, synth.GenConfig{Seed: 5, Packets: 60000, Mix: &mix}); err != nil {
		t.Fatal(err)
	}
	open := func() *reassembly.Source {
		src, err := reassembly.Open([]string{"-"}, bytes.NewReader(capture.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	opts := Options{Profile: Profiles["linux"]}
	byConn := map[int]map[string]string{} // record id -> kind -> evidence JSON
	counts := map[kindSeverity]int{}
	src := open()
	res, err := RunConns(src, opts, func(r *reassembly.Record, fs []ConnFinding) {
		for _, f := range fs {
			b, err := json.Marshal(f.Evidence)
			if err != nil {
				t.Fatal(err)
			}
			if byConn[r.ID] == nil {
				byConn[r.ID] = map[string]string{}
			}
			if _, dup := byConn[r.ID][f.Kind]; dup {
				t.Errorf("record %d names %s twice", r.ID, f.Kind)
			}
			byConn[r.ID][f.Kind] = string(b)
			counts[kindSeverity{f.Kind, f.Severity}]++
		}
	})
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	past := false
	for _, c := range res.Counts() {
		switch c.Kind {
		case KindLostFinalAck, KindFinalAckRST, KindTupleReuse, KindSeqOverlap, KindOldDuplicate, KindSeqWrap:
			if got := counts[kindSeverity{c.Kind, c.Severity}]; got != c.Count {
				t.Errorf("%s %s: %d named by records, %d counted", c.Kind, c.Severity, got, c.Count)
			}
			past = past || c.Count > MaxExamples
		}
	}
	if !past {
		t.Fatalf("no kind past MaxExamples (%v): the test shows nothing", res.Counts())
	}
	for _, f := range res.Findings {
		if f.Kind == KindCloseWait || f.Kind == KindPortPressure || f.Kind == KindNATTSRegression {
			continue
		}
		id := f.Conns[len(f.Conns)-1] // the new incarnation of a reuse or overlap
		want, _ := json.Marshal(f.Evidence)
		if got := byConn[id][f.Kind]; got != string(want) {
			t.Errorf("record %d: %s evidence %s, the report's %s", id, f.Kind, got, want)
		}
	}

	src = open()
	plain, err := Run(src, opts, nil)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(plain)
	b, _ := json.Marshal(res)
	if !bytes.Equal(a, b) {
		t.Error("RunConns' report differs from Run's")
	}
}
