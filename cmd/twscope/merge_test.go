package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// mergePoints generates four capture points in the test (reassembly/synth,
// each with its own seed, clients and servers: some clients and servers
// are seen at several points), analyzes each with a partial result, and
// returns the directory and the capture point names.
func mergePoints(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("cp%d", i)
		capture := filepath.Join(dir, name+".pcap")
		f, err := os.Create(capture)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := synth.Generate(f, synth.GenConfig{Seed: int64(i), Packets: 4000, Clients: 40 * i, Servers: 4 * i}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		parquetDir := filepath.Join(dir, "parquet", "capture_point="+name) // hive partitioning
		if err := os.MkdirAll(parquetDir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runCLI(t, "analyze", "--quiet", "--capture-point", name,
			"--partial", filepath.Join(dir, name+".partial"), "--json", filepath.Join(dir, name+".json"),
			"--metrics", filepath.Join(dir, name+".prom"), "--parquet", filepath.Join(parquetDir, "conns.parquet"), capture)
		if code != 0 {
			t.Fatalf("analyze %s: exit %d: %s", name, code, stderr)
		}
		names = append(names, name)
	}
	return dir, names
}

func mergeJSON(t *testing.T, dir string, parts ...string) []byte {
	t.Helper()
	out := filepath.Join(dir, "merged.json")
	args := []string{"merge", "--json", out}
	for _, p := range parts {
		args = append(args, filepath.Join(dir, p+".partial"))
	}
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("merge %v: exit %d: %s", parts, code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// report is the part of the JSON report the merge test sums.
type mergedReport struct {
	Totals        map[string]int            `json:"totals"`
	Closes        map[string]map[string]int `json:"closes"`
	FindingCounts []struct {
		Kind, Severity string
		Count          int
	} `json:"finding_counts"`
	Findings []struct {
		Kind         string `json:"kind"`
		CapturePoint string `json:"capture_point"`
	} `json:"findings"`
	Endpoints []struct {
		Server      string `json:"server"`
		Connections int    `json:"connections"`
	} `json:"endpoints"`
	Hosts []struct {
		IP          string `json:"ip"`
		Connections int    `json:"connections"`
		Held        int    `json:"time_wait_held"`
		Peak        int    `json:"time_wait_peak"`
	} `json:"hosts"`
	Captures []struct {
		File         string `json:"file"`
		CapturePoint string `json:"capture_point"`
	} `json:"captures"`
}

func decodeReport(t *testing.T, b []byte) mergedReport {
	t.Helper()
	var r mergedReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMergeCapturePoints is the one-machine scale-out run: four capture
// points, their partials merged, checked against the single runs.
func TestMergeCapturePoints(t *testing.T) {
	dir, names := mergePoints(t)

	t.Run("single point equals direct analysis", func(t *testing.T) {
		for _, name := range names {
			direct, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if got := mergeJSON(t, dir, name); !bytes.Equal(got, direct) {
				t.Errorf("%s: merging its partial alone differs from analyzing it (%d vs %d bytes)", name, len(got), len(direct))
			}
		}
	})

	all := mergeJSON(t, dir, names...)
	t.Run("order independent", func(t *testing.T) {
		for _, order := range [][]string{{"cp4", "cp3", "cp2", "cp1"}, {"cp2", "cp4", "cp1", "cp3"}} {
			if got := mergeJSON(t, dir, order...); !bytes.Equal(got, all) {
				t.Errorf("merge in order %v differs from %v", order, names)
			}
		}
	})

	t.Run("associative", func(t *testing.T) {
		// Merges merged again (merge --partial), grouped two ways.
		part := func(out string, in ...string) {
			t.Helper()
			args := []string{"merge", "--partial", filepath.Join(dir, out+".partial")}
			for _, p := range in {
				args = append(args, filepath.Join(dir, p+".partial"))
			}
			if _, stderr, code := runCLI(t, args...); code != 0 {
				t.Fatalf("merge --partial %v: exit %d: %s", in, code, stderr)
			}
		}
		part("cp13", "cp1", "cp3")
		part("cp24", "cp4", "cp2")
		if got := mergeJSON(t, dir, "cp24", "cp13"); !bytes.Equal(got, all) {
			t.Error("merge(merge(cp1, cp3), merge(cp2, cp4)) differs from merge(cp1, cp2, cp3, cp4)")
		}
		part("cp12", "cp2", "cp1")
		part("cp123", "cp12", "cp3")
		if got := mergeJSON(t, dir, "cp4", "cp123"); !bytes.Equal(got, all) {
			t.Error("merge(merge(merge(cp1, cp2), cp3), cp4) differs from merge(cp1, cp2, cp3, cp4)")
		}
		if _, stderr, code := runCLI(t, "merge", filepath.Join(dir, "cp13.partial"), filepath.Join(dir, "cp123.partial")); code != exitBadInput || !strings.Contains(stderr, "two partial results") {
			t.Errorf("merging two merges that share cp1: exit %d, %q", code, stderr)
		}
	})

	t.Run("sums of the single runs", func(t *testing.T) {
		merged := decodeReport(t, all)
		var singles []mergedReport
		for _, name := range names {
			b, err := os.ReadFile(filepath.Join(dir, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			singles = append(singles, decodeReport(t, b))
		}
		for k, got := range merged.Totals {
			want := 0
			for _, s := range singles {
				want += s.Totals[k]
			}
			if got != want {
				t.Errorf("totals.%s = %d, the single runs sum to %d", k, got, want)
			}
		}
		if merged.Totals["connections"] == 0 {
			t.Fatal("no connections: the generated captures were not read")
		}
		for table, counts := range merged.Closes {
			for k, got := range counts {
				want := 0
				for _, s := range singles {
					want += s.Closes[table][k]
				}
				if got != want {
					t.Errorf("closes.%s.%s = %d, the single runs sum to %d", table, k, got, want)
				}
			}
		}
		sum := func(rs []mergedReport, key func(mergedReport) map[string]int) map[string]int {
			m := map[string]int{}
			for _, r := range rs {
				for k, n := range key(r) {
					m[k] += n
				}
			}
			return m
		}
		findings := func(r mergedReport) map[string]int {
			m := map[string]int{}
			for _, c := range r.FindingCounts {
				m[c.Kind+"/"+c.Severity] += c.Count
			}
			return m
		}
		endpoints := func(r mergedReport) map[string]int {
			m := map[string]int{}
			for _, e := range r.Endpoints {
				m[e.Server] += e.Connections
			}
			return m
		}
		hosts := func(r mergedReport) map[string]int {
			m := map[string]int{}
			for _, h := range r.Hosts {
				m[h.IP] += h.Connections
				m[h.IP+" held"] += h.Held
			}
			return m
		}
		for what, key := range map[string]func(mergedReport) map[string]int{"finding_counts": findings, "endpoints": endpoints, "hosts": hosts} {
			got, want := key(merged), sum(singles, key)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: merged %v, the single runs sum to %v", what, got, want)
			}
		}
		// A host seen at several points: its peak is at least each one's
		// and at most their sum.
		shared := 0
		for _, h := range merged.Hosts {
			most, total, seen := 0, 0, 0
			for _, s := range singles {
				for _, x := range s.Hosts {
					if x.IP == h.IP {
						most, total, seen = max(most, x.Peak), total+x.Peak, seen+1
					}
				}
			}
			if h.Peak < most || h.Peak > total {
				t.Errorf("host %s: merged TIME_WAIT peak %d outside [%d, %d]", h.IP, h.Peak, most, total)
			}
			if seen > 1 && most > 0 {
				shared++
			}
		}
		if shared == 0 {
			t.Error("no host held TIME_WAIT at two capture points: the test does not cover summed occupancy")
		}
		if len(merged.Captures) != 4 {
			t.Fatalf("%d captures, want 4", len(merged.Captures))
		}
		for i, c := range merged.Captures {
			if c.CapturePoint != names[i] {
				t.Errorf("capture %d (%s) at %q, want %q", i, c.File, c.CapturePoint, names[i])
			}
		}
		for _, f := range merged.Findings {
			if f.CapturePoint == "" {
				t.Errorf("%s finding without its capture point", f.Kind)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "cp1.prom"))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if !strings.HasSuffix(text, "\n# EOF\n") {
			t.Error("OpenMetrics text does not end in # EOF")
		}
		single := decodeReport(t, mustRead(t, filepath.Join(dir, "cp1.json")))
		want := fmt.Sprintf(`twscope_connections{capture_point="cp1",handshake="all"} %d`, single.Totals["connections"])
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
		for _, c := range single.FindingCounts {
			line := fmt.Sprintf(`twscope_findings{capture_point="cp1",kind=%q,severity=%q} %d`, c.Kind, c.Severity, c.Count)
			if !strings.Contains(text, line+"\n") {
				t.Errorf("metrics lack %q", line)
			}
		}
		if n := strings.Count(text, "twscope_endpoint_connections{"); n != min(10, len(single.Endpoints)) {
			t.Errorf("%d endpoints in the metrics, want the top %d", n, min(10, len(single.Endpoints)))
		}
		left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
		if len(left) > 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	})

	t.Run("markdown", func(t *testing.T) {
		md := filepath.Join(dir, "summary.md")
		args := []string{"merge", "--markdown", md}
		for _, n := range names {
			args = append(args, filepath.Join(dir, n+".partial"))
		}
		if _, stderr, code := runCLI(t, args...); code != 0 {
			t.Fatalf("merge: exit %d: %s", code, stderr)
		}
		merged := decodeReport(t, all)
		text := string(mustRead(t, md))
		head := fmt.Sprintf("## twscope: %d connections,", merged.Totals["connections"])
		if !strings.HasPrefix(text, head) {
			t.Errorf("summary starts %q, want %q", firstLine(text), head)
		}
		if !strings.Contains(text, "from 4 capture points") {
			t.Error("summary does not say it covers 4 capture points")
		}
	})
}

func TestMergeRefuses(t *testing.T) {
	dir, _ := mergePoints(t)
	p := filepath.Join(dir, "cp1.partial")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"same point twice", []string{"merge", p, p}, "is in two partial results"},
		{"not a partial", []string{"merge", filepath.Join(dir, "cp1.json")}, "partial result"},
		{"partial without point", []string{"analyze", "--partial", filepath.Join(dir, "x"), filepath.Join(dir, "cp1.pcap")}, "--partial needs --capture-point"},
		{"bad point name", []string{"analyze", "--capture-point", "a/b", filepath.Join(dir, "cp1.pcap")}, "--capture-point"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != exitBadInput || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, %q; want exit 2 and %q", c.name, code, stderr, c.want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
