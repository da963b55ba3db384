//go:build libpcap

package main

import (
	"strings"
	"testing"
)

// With libpcap, --filter keeps only the packets a tcpdump expression
// selects. nat_timestamps holds 26 connections to 10.2.0.2:8080 from the
// NAT address 10.2.0.1.
func TestFilterLibpcap(t *testing.T) {
	capture := "../../testdata/corpus/lab/nat_timestamps.pcap"
	tests := []struct {
		expr  string
		conns int
	}{
		{"tcp port 8080", 26},
		{"tcp port 9999", 0},
		{"src host 10.2.0.1 and tcp[tcpflags] & tcp-syn != 0", 26},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if got := len(analyzeConns(t, "--filter", tt.expr, capture)); got != tt.conns {
				t.Errorf("%d connections, want %d", got, tt.conns)
			}
		})
	}
	_, stderr, code := runCLI(t, "analyze", "--filter", "tcp port", capture)
	if code != exitBadInput || !strings.Contains(stderr, "filter") {
		t.Errorf("bad expression: exit %d, stderr %q", code, stderr)
	}
}
