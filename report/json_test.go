package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/twscope/twscope/analyze"
)

// TestWriteJSONStreamsSameBytes checks that the streaming writer writes
// the bytes a json.Encoder with a two-space indent writes for the whole
// Result: real analyses (findings of several kinds, hosts, endpoints,
// several capture files) and a made-up result with what the encoder
// treats specially (nil and empty lists, omitempty fields, HTML
// characters, an error).
func TestWriteJSONStreamsSameBytes(t *testing.T) {
	made := &analyze.Result{
		Schema: 1, Tool: "twscope <test> & co",
		Findings: []analyze.Finding{{Kind: analyze.KindCloseWait, Severity: analyze.SeverityWarning,
			Conns: []int{1, 2}, Frames: []int{}, Summary: "a <b> & c", Evidence: &analyze.CloseWaitEvidence{Connections: []int{1}}}},
		FindingsOmitted: map[string]int{"z": 1, "a": 2},
		Hosts:           []analyze.Host{},
		HostsOther:      &analyze.Host{IP: "other", Connections: 3},
		Error:           "bad\ninput",
	}
	results := map[string]*analyze.Result{
		"empty":     {},
		"made":      made,
		"demo":      htmlTestResult(t, "../testdata/demo.pcap"),
		"two files": htmlTestResult(t, lab+"nat_timestamps.pcap", lab+"lost_final_ack.pcap"),
	}
	for name, res := range results {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := WriteJSON(&got, res); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: streamed JSON differs from the encoder's (%d bytes, want %d)", name, got.Len(), want.Len())
		}
		if len(res.Findings) == 0 && name != "empty" {
			t.Errorf("%s: no findings: the test shows nothing", name)
		}
	}
}

// TestFoldedTablesSaid: the text and HTML reports say, one line each,
// which tables were folded, and nothing when none was.
func TestFoldedTablesSaid(t *testing.T) {
	res := htmlTestResult(t, "../testdata/demo.pcap")
	var plain bytes.Buffer
	if err := WriteText(&plain, res); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte("folded")) {
		t.Errorf("text says a table was folded in a capture that folds none")
	}
	res.EndpointsOther = &analyze.Endpoint{Server: "other", Connections: 7}
	res.HostsOther = &analyze.Host{IP: "other", Connections: 9}
	res.PairsOther = &analyze.PairsFold{Connections: 11}
	var text, page bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&page, res, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"server endpoints folded: 7 connections", "hosts folded: 9 connections", "client-server pairs folded: 11 connections",
	} {
		if !bytes.Contains(text.Bytes(), []byte(want)) || !bytes.Contains(page.Bytes(), []byte(want)) {
			t.Errorf("text or HTML does not say %q", want)
		}
	}
}
