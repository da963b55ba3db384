//go:build !libpcap

package main

import (
	"strings"
	"testing"
)

// The default build is pure Go: --filter says how to get it.
func TestFilterNeedsLibpcap(t *testing.T) {
	_, stderr, code := runCLI(t, "analyze", "--filter", "tcp port 80", "../../testdata/corpus/lab/nat_timestamps.pcap")
	if code != exitBadInput || !strings.Contains(stderr, "-tags libpcap") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming -tags libpcap", code, stderr)
	}
}
