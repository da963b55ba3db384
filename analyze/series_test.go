package analyze

import (
	"testing"
)

// TestSeriesOneBase: every plotted series counts its times from the one
// base the result states, the capture's first packet: the TIME_WAIT
// series, port_pressure points and nat_ts_regression points (which were
// Unix seconds before) all lie between the capture's start and the last
// TIME_WAIT's end.
func TestSeriesOneBase(t *testing.T) {
	for _, c := range []struct {
		file string
		opts Options
		kind string
	}{
		{lab("fast_port_reuse_tw_reuse.pcap"), Options{PortRange: [2]int{40000, 40001}}, KindPortPressure},
		{lab("crafted/syn_tsval_lower_than_previous.pcap"), Options{}, KindNATTSRegression},
	} {
		t.Run(c.kind, func(t *testing.T) {
			res := twRun(t, c.opts, c.file)
			first, last := res.Captures[0].First, res.Captures[0].Last
			if first == nil || res.SeriesStart != *first {
				t.Fatalf("series_start %v, want the first packet %v", res.SeriesStart, first)
			}
			end := Seconds(int64(*last-*first)) + res.Profile.TimeWaitS
			in := func(what string, ts float64) {
				if ts < 0 || ts > end {
					t.Fatalf("%s at %v s, outside the capture's 0..%v s since series_start", what, ts, end)
				}
			}
			for _, s := range res.TimeWait {
				if s.Start != res.SeriesStart {
					t.Fatalf("series of %s starts at %v, want series_start %v", s.IP, s.Start, res.SeriesStart)
				}
				in("capture_end", s.CaptureEnd)
				for _, p := range s.Points {
					in("TIME_WAIT point", p.T)
				}
			}
			n := 0
			for _, f := range twKind(res, c.kind) {
				switch ev := f.Evidence.(type) {
				case *PortPressureEvidence:
					for _, p := range ev.Points {
						in("port pressure point", p.T)
						n++
					}
				case *NATEvidence:
					for _, p := range ev.Points {
						in("NAT point", p.T)
						n++
					}
				}
			}
			if n == 0 {
				t.Fatalf("no %s points in %s", c.kind, c.file)
			}
		})
	}
}

// TestMergeSeriesBase: merging moves each partial's finding points to the
// merged base (the earliest first packet), leaving the partial as it was.
func TestMergeSeriesBase(t *testing.T) {
	const s = int64(1e9)
	part := func(point string, first int64) *Partial {
		p := partialWith(point, 1, first+s, HostOccupancy{Steps: [][2]int64{{first + s, 1}, {first + 2*s, 0}}})
		p.Result.Captures[0].First, p.Result.Captures[0].Last = timePtr(first), timePtr(first+3*s)
		p.Result.SeriesStart = Time(first)
		p.First, p.Last = first, first+3*s
		f := newFinding(KindPortPressure, SeverityWarning, first+s)
		f.Evidence = &PortPressureEvidence{Points: []TimeWaitPoint{{T: 1, N: 1}, {T: 2, N: 0}}}
		p.Result.Findings = []Finding{f}
		return p
	}
	a, b := part("a", 100*s), part("b", 160*s)
	res, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.SeriesStart != Time(100*s) {
		t.Fatalf("series_start %v, want the earliest first packet", res.SeriesStart)
	}
	var got []float64
	for _, f := range res.Findings {
		got = append(got, f.Evidence.(*PortPressureEvidence).Points[0].T)
	}
	if len(got) != 2 || got[0]+got[1] != 1+61 || min(got[0], got[1]) != 1 {
		t.Fatalf("first points at %v s, want 1 and 61 (b's moved by 60 s)", got)
	}
	if b.Result.Findings[0].Evidence.(*PortPressureEvidence).Points[0].T != 1 {
		t.Fatal("the partial's evidence was changed")
	}
	for _, ts := range res.TimeWait {
		if ts.Start != res.SeriesStart {
			t.Fatalf("merged series starts at %v, want %v", ts.Start, res.SeriesStart)
		}
	}
}
