package analyze

import (
	"testing"
)

// TestPlotData checks what the result keeps for the report's plots and
// ladders, outside the JSON: every reuse gap, the disjoint close outcomes
// per endpoint, and each finding's example connection with its proving
// frames.
func TestPlotData(t *testing.T) {
	for _, tc := range []struct {
		capture string
		gaps    int // reuses, whatever the gap
		inside  int // of them, inside TIME_WAIT (tuple_reuse findings)
	}{
		{"fast_port_reuse_tw_reuse.pcap", 10, 10},
		{"lost_final_ack.pcap", 0, 0},
		{"seq_overlap_incarnations.pcap.gz", 2, 2},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			res := twRun(t, Options{}, lab(tc.capture))
			if len(res.ReuseGaps) != tc.gaps || res.ReuseGapsMore != 0 {
				t.Errorf("%d reuse gaps (+%d), want %d", len(res.ReuseGaps), res.ReuseGapsMore, tc.gaps)
			}
			inside := 0
			for i, g := range res.ReuseGaps {
				if i > 0 && g < res.ReuseGaps[i-1] {
					t.Fatalf("reuse gaps not sorted: %v", res.ReuseGaps)
				}
				if g < res.Profile.TimeWaitS {
					inside++
				}
			}
			if inside != tc.inside || len(twKind(res, KindTupleReuse)) != tc.inside {
				t.Errorf("%d gaps inside TIME_WAIT, %d tuple_reuse findings, want %d", inside,
					len(twKind(res, KindTupleReuse)), tc.inside)
			}
			for _, e := range res.Endpoints {
				n := 0
				for _, c := range e.FirstClose {
					n += c
				}
				if n != e.Connections {
					t.Errorf("%s: close outcomes %v add up to %d of %d connections", e.Server, e.FirstClose, n, e.Connections)
				}
			}
			for _, f := range res.Findings {
				if !f.Client.IsValid() || !f.Server.IsValid() || len(f.Refs) == 0 {
					t.Errorf("%s finding without its example connection: %v %v %v", f.Kind, f.Client, f.Server, f.Refs)
					continue
				}
				frames := map[int]bool{}
				for _, n := range f.Frames {
					frames[n] = true
				}
				for _, r := range f.Refs {
					if !frames[r.N] || r.File != 0 {
						t.Errorf("%s: example frame %+v is not among the finding's frames %v", f.Kind, r, f.Frames)
					}
				}
			}
		})
	}
}
