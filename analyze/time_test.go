package analyze

import (
	"encoding/json"
	"testing"
)

// TestTimeJSON: a Time is Unix nanoseconds in the Result and RFC 3339 UTC
// with nine digits of the second in the JSON, before 1970 too, and reads
// back to the same number; an optional one is left out when nil.
func TestTimeJSON(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want string
	}{
		{0, `"1970-01-01T00:00:00.000000000Z"`},
		{1_700_000_000_123_456_789, `"2023-11-14T22:13:20.123456789Z"`},
		{-1, `"1969-12-31T23:59:59.999999999Z"`},
		{1_000_000_000, `"1970-01-01T00:00:01.000000000Z"`},
	} {
		b, err := json.Marshal(Time(tc.ns))
		if err != nil || string(b) != tc.want {
			t.Errorf("Time(%d): %s %v, want %s", tc.ns, b, err, tc.want)
			continue
		}
		var back Time
		if err := json.Unmarshal(b, &back); err != nil || int64(back) != tc.ns {
			t.Errorf("%s reads back as %d (%v), want %d", b, back, err, tc.ns)
		}
	}
	b, err := json.Marshal(Capture{File: "a.pcap", LinkTypes: []string{}})
	if err != nil || string(b) != `{"file":"a.pcap","format":"","packets":0,"link_types":[]}` {
		t.Errorf("capture without packets: %s %v", b, err)
	}
	b, err = json.Marshal(Host{IP: "10.0.0.1", PeakAt: timePtr(0)})
	if err != nil || string(b) != `{"ip":"10.0.0.1","connections":0,"time_wait_held":0,"time_wait_peak":0,"time_wait_peak_at":"1970-01-01T00:00:00.000000000Z","closes_initiated":0,"rsts_sent":0}` {
		t.Errorf("host with a peak at the epoch: %s %v", b, err)
	}
}
