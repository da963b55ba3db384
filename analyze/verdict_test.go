package analyze

import (
	"testing"
)

// TestVerdictCorpus checks the verdict of lab captures (real Linux
// traffic, testdata/README.md) against what each was made to show: who
// holds TIME_WAIT, the busiest host's peak, the cause and its severity.
func TestVerdictCorpus(t *testing.T) {
	const lab = "../testdata/corpus/lab/"
	for _, tc := range []struct {
		file     string
		cause    Cause
		severity Severity
		holder   string
		peak     int
		peakHost string
		sides    int
	}{
		{"server_close_first.pcap", CauseServerCloses, SeverityInfo, "server", 20, "10.2.0.2", 1},
		{"client_close_first.pcap", CauseClientCloses, SeverityInfo, "client", 20, "10.1.1.2", 1},
		{"simultaneous_close.pcap", CauseSimultaneous, SeverityInfo, "both", 20, "10.1.1.2", 2},
		{"tw_bucket_overflow_rst.pcap", CauseFinalAckRST, SeverityCritical, "none", 0, "", 0},
		{"abortive_close_linger0.pcap", CauseAbortiveCloses, SeverityInfo, "none", 0, "", 0},
		{"close_wait_leak.pcap", CauseCloseWait, SeverityWarning, "none", 0, "", 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := twRun(t, Options{}, lab+tc.file)
			v := res.Verdict
			if v.Cause != tc.cause || v.Severity != tc.severity || v.Holder != tc.holder {
				t.Errorf("cause %s severity %s holder %s, want %s %s %s", v.Cause, v.Severity, v.Holder, tc.cause, tc.severity, tc.holder)
			}
			if v.Peak != tc.peak || (tc.peakHost != "" && v.PeakHost != tc.peakHost) {
				t.Errorf("peak %d on %s, want %d on %s", v.Peak, v.PeakHost, tc.peak, tc.peakHost)
			}
			if len(v.Sides) != tc.sides {
				t.Errorf("%d sides, want %d: %+v", len(v.Sides), tc.sides, v.Sides)
			}
			if v.TWBuckets != DefaultTWBuckets || v.PortRangeSize != 28232 {
				t.Errorf("judged against %d buckets and %d ports", v.TWBuckets, v.PortRangeSize)
			}
			if len(v.Advice) == 0 {
				t.Error("no advice")
			}
			// The peak is the busiest host's, as the hosts section has it.
			best := 0
			for _, h := range res.Hosts {
				best = max(best, h.PeakTimeWait)
			}
			if v.Peak != best || (v.Peak > 0) != (v.PeakAt != nil) {
				t.Errorf("peak %d (at %v), hosts' highest %d", v.Peak, v.PeakAt, best)
			}
			if len(v.Endpoints) != len(res.Endpoints) || v.EndpointsTotal != len(res.Endpoints) {
				t.Errorf("%d endpoint answers for %d endpoints", len(v.Endpoints), len(res.Endpoints))
			}
		})
	}
}

// TestVerdictTWBuckets: a TIME_WAIT peak near tcp_max_tw_buckets (here
// set to 24, as on a small host) is the cause, whoever holds it.
func TestVerdictTWBuckets(t *testing.T) {
	for _, tc := range []struct {
		buckets  int
		cause    Cause
		severity Severity
	}{
		{0, CauseServerCloses, SeverityInfo},
		{40, CauseTWBuckets, SeverityWarning},
		{21, CauseTWBuckets, SeverityCritical},
	} {
		res := twRun(t, Options{TWBuckets: tc.buckets}, "../testdata/corpus/lab/server_close_first.pcap")
		if v := res.Verdict; v.Cause != tc.cause || v.Severity != tc.severity {
			t.Errorf("%d buckets: cause %s severity %s, want %s %s", tc.buckets, v.Cause, v.Severity, tc.cause, tc.severity)
		}
	}
}

// TestVerdictEnums: every cause has its advice, and every advice code is
// listed once.
func TestVerdictEnums(t *testing.T) {
	for _, c := range Causes {
		if len(causeAdvice[c]) == 0 {
			t.Errorf("cause %s has no advice", c)
		}
	}
	if len(causeAdvice) != len(Causes) {
		t.Errorf("%d causes with advice, %d causes", len(causeAdvice), len(Causes))
	}
	for _, k := range Kinds {
		if len(KindAdvice[k]) == 0 {
			t.Errorf("kind %s has no advice", k)
		}
	}
	seen := map[AdviceCode]bool{}
	for _, a := range AdviceCodes {
		if seen[a] {
			t.Errorf("advice %s listed twice", a)
		}
		seen[a] = true
	}
	for _, as := range causeAdvice {
		for _, a := range as {
			if !seen[a] {
				t.Errorf("advice %s not in AdviceCodes", a)
			}
		}
	}
}

// TestTimeWaitSeriesPastCapture: sockets still in TIME_WAIT when the
// capture ends are not drawn as leaving at its last packet: the series
// holds its count at the capture's end and runs on to where their
// TIME_WAIT ends (the profile's 60 s after each entry).
func TestTimeWaitSeriesPastCapture(t *testing.T) {
	res := twRun(t, Options{}, "../testdata/corpus/lab/server_close_first.pcap")
	if len(res.TimeWait) == 0 {
		t.Fatal("no series")
	}
	s := res.TimeWait[0]
	var atEnd, last TimeWaitPoint
	for _, p := range s.Points {
		if p.T <= s.CaptureEnd {
			atEnd = p
		}
		last = p
	}
	if atEnd.N != 20 {
		t.Errorf("%d sockets at the capture's end (+%v s), want the 20 still held", atEnd.N, s.CaptureEnd)
	}
	if last.N != 0 || last.T < s.CaptureEnd+59 || last.T > s.CaptureEnd+61 {
		t.Errorf("series ends with %d at +%v s; want 0 about 60 s after the capture's end +%v s", last.N, last.T, s.CaptureEnd)
	}
}
