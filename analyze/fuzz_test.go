package analyze

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// FuzzAnalyze runs the whole pipeline, capture bytes to JSON report, over
// arbitrary input with small tracker bounds: no panic, a report that
// encodes, and findings that name their connections.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{
		"../testdata/corpus/lab/lost_final_ack.pcap",
		"../testdata/corpus/lab/crafted/syn_tsval_lower_than_previous.pcap",
		"../testdata/corpus/lab/server_side_tw_reuse_syn.pcap",
		"../reassembly/testdata/zeek_tcp-fin-retransmission.pcap",
		"../reassembly/testdata/zeek_tcp-http-on-irc-port-missing-syn.pcapng",
	} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := reassembly.Open([]string{"-"}, bytes.NewReader(b))
		if err != nil {
			return
		}
		defer src.Close()
		opts := Options{Profile: Profiles["linux"]}
		opts.Tracker = reassembly.Config{MaxHalfOpen: 3, MaxTuples: 3, MaxClocks: 2, ReorderWindow: time.Millisecond}
		res, _ := Run(src, opts, nil)
		if res == nil {
			t.Fatal("no result")
		}
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("report does not encode: %v", err)
		}
		for _, fd := range res.Findings {
			if fd.Kind == "" || fd.Severity.Rank() == len(Severities) || fd.Summary == "" {
				t.Fatalf("finding %+v", fd)
			}
		}
	})
}
