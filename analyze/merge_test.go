package analyze

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSumSteps(t *testing.T) {
	for _, c := range []struct {
		name string
		in   [][][2]int64
		want string
	}{
		{"one series", [][][2]int64{{{0, 1}, {10, 0}}}, "[{0 1} {10 0}]"},
		{"overlapping", [][][2]int64{{{0, 1}, {10, 0}}, {{5, 1}, {15, 0}}}, "[{0 1} {5 2} {10 1} {15 0}]"},
		// At one time, the count after every change: one leaves as the
		// other enters, so the sum never reaches 2.
		{"same time", [][][2]int64{{{0, 1}, {5, 0}}, {{5, 1}, {9, 0}}}, "[{0 1} {5 1} {9 0}]"},
		{"several steps at one time", [][][2]int64{{{0, 1}, {0, 2}, {3, 1}}, {{0, 1}}}, "[{0 3} {3 2}]"},
	} {
		var occ []*HostOccupancy
		for _, steps := range c.in {
			occ = append(occ, &HostOccupancy{Steps: steps})
		}
		if got := fmt.Sprint(sumSteps(occ)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// partialWith is a partial of one capture point whose one host held
// TIME_WAIT as occ says.
func partialWith(point string, peak int, at int64, occ HostOccupancy) *Partial {
	occ.IP = "10.0.0.1"
	res := &Result{Schema: Schema, Tool: "t", Captures: []Capture{{File: point + ".pcap"}}, Closes: newCounts(),
		Findings: []Finding{}, Warnings: []string{},
		Hosts: []Host{{IP: "10.0.0.1", Connections: 3, TimeWaitHeld: 2, PeakTimeWait: peak, PeakAt: timePtr(at)}}}
	return &Partial{Format: PartialFormat, CapturePoint: point, Result: res, First: 1, Last: 100, Occupancy: []HostOccupancy{occ}}
}

func TestMergeHostPeaks(t *testing.T) {
	exact := func(point string) *Partial {
		return partialWith(point, 2, 10, HostOccupancy{Steps: [][2]int64{{10, 1}, {10, 2}, {30, 1}, {40, 0}}})
	}
	binned := partialWith("c", 5, 50, HostOccupancy{Binned: true, Origin: 1, Width: 8, Max: []int32{-1, 5}, Peak: 5, PeakAt: 50})
	for _, c := range []struct {
		name    string
		parts   []*Partial
		peak    int
		at      int64
		lowered bool
	}{
		{"exact points are summed", []*Partial{exact("a"), exact("b")}, 4, 10, false},
		{"a binned point higher than the sum: a lower bound", []*Partial{exact("a"), exact("b"), binned}, 5, 50, true},
		{"a binned point alone is exact", []*Partial{binned}, 5, 50, false},
	} {
		res, err := Merge(c.parts...)
		if err != nil {
			t.Fatal(err)
		}
		h := res.Hosts[0]
		if h.PeakTimeWait != c.peak || int64(*h.PeakAt) != c.at || h.Connections != 3*len(c.parts) {
			t.Errorf("%s: peak %d at %d, %d connections; want %d at %d, %d", c.name, h.PeakTimeWait, *h.PeakAt, h.Connections, c.peak, c.at, 3*len(c.parts))
		}
		warned := len(res.Warnings) > 0 && strings.Contains(res.Warnings[len(res.Warnings)-1], "lower bounds")
		if warned != c.lowered {
			t.Errorf("%s: lower-bound warning %v, want %v (%q)", c.name, warned, c.lowered, res.Warnings)
		}
	}
	// Grouped either way, the same peak.
	ab, err := MergePartials(exact("a"), exact("b"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Merge(binned, ab)
	if err != nil {
		t.Fatal(err)
	}
	if h := res.Hosts[0]; h.PeakTimeWait != 5 || h.Connections != 9 {
		t.Errorf("merge(c, merge(a, b)): peak %d, %d connections; want 5, 9", h.PeakTimeWait, h.Connections)
	}
}

// TestFindingJSONRoundTrip: a partial carries findings as the report's
// JSON, and a merge of one partial must give the report's bytes back, so
// every kind's evidence reads back as what it was written from.
func TestFindingJSONRoundTrip(t *testing.T) {
	one, yes := 1, true
	full := map[string]Evidence{
		KindLostFinalAck: &FinalAckEvidence{kind: KindLostFinalAck, Active: "client", ActiveFINFrame: &one, CapturePoint: "before_loss", FINRetransmits: 2},
		KindFinalAckRST:  &FinalAckEvidence{kind: KindFinalAckRST, RSTWithAck: &yes, AnswerFrame: &one},
	}
	for kind, ev := range EvidenceTypes() {
		if e, ok := full[kind]; ok {
			ev = e
		}
		f := Finding{Kind: kind, Severity: SeverityWarning, Conns: []int{3}, Time: 12, Frames: []int{4, 5}, Evidence: ev, CapturePoint: "a"}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back Finding
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if back.Evidence.Kind() != kind {
			t.Errorf("%s: evidence read back as %s", kind, back.Evidence.Kind())
		}
		again, err := json.Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(b) {
			t.Errorf("%s: wrote %s, read back and wrote %s", kind, b, again)
		}
	}
	var f Finding
	if err := json.Unmarshal([]byte(`{"kind":"no_such_kind","evidence":{}}`), &f); err == nil {
		t.Error("a finding of an unknown kind was read")
	}
}
