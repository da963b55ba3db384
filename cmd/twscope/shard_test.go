package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestShardedSameBytes runs analyze with one to eight cores (GOMAXPROCS,
// which sets how many goroutines run the sharded tracker) and checks that
// the text, the JSON report and the connection records are the same bytes
// each time: on generated captures with NAT, four-tuple reuse and a SYN
// flood past the half-open bound (written to a temporary directory), and
// on a capture of testdata.
func TestShardedSameBytes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, gen func(*bytes.Buffer) error) string {
		var buf bytes.Buffer
		if err := gen(&buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mix := write("mix.pcap", func(b *bytes.Buffer) error {
		cfg := synth.GenConfig{Seed: 13, Packets: 80000, Clients: 200, NATClients: 10, Rate: 2000}
		cfg.TS.FixedPorts = 20
		_, err := synth.Generate(b, cfg)
		return err
	})
	flood := write("flood.pcap", func(b *bytes.Buffer) error {
		return synth.Flood(b, synth.FloodConfig{Kind: synth.SYNFlood, Packets: 50000, Seed: 2})
	})
	for _, capture := range []string{mix, flood, "../../testdata/demo.pcap"} {
		var want [3][]byte
		for _, procs := range []int{1, 2, 3, 8} {
			old := runtime.GOMAXPROCS(procs)
			js, conns := filepath.Join(dir, "r.json"), filepath.Join(dir, "c.ndjson")
			stdout, stderr, code := runCLI(t, "analyze", "--quiet", "--json", js, "--conns", conns, capture)
			runtime.GOMAXPROCS(old)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", capture, code, stderr)
			}
			got := [3][]byte{[]byte(stdout + stderr), mustRead(t, js), mustRead(t, conns)}
			if procs == 1 {
				want = got
				continue
			}
			for i, name := range []string{"text", "--json", "--conns"} {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("%s: GOMAXPROCS %d: %s differs from GOMAXPROCS 1", filepath.Base(capture), procs, name)
				}
			}
		}
	}
}
