package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "../../testdata/golden"

// goldenCaptures are the corpus captures whose golden files are kept in
// testdata/golden, named after the capture without its extensions.
var goldenCaptures = []string{
	"../../testdata/demo.pcap",
	"../../testdata/corpus/lab/abortive_close_linger0.pcap",
	"../../testdata/corpus/lab/client_close_first.pcap",
	"../../testdata/corpus/lab/close_wait_leak.pcap",
	"../../testdata/corpus/lab/fast_port_reuse_tw_reuse.pcap",
	"../../testdata/corpus/lab/lost_final_ack.pcap",
	"../../testdata/corpus/lab/lost_final_ack.c1-eth0.pcap",
	"../../testdata/corpus/lab/nat_timestamps.pcap",
	"../../testdata/corpus/lab/server_close_first.pcap",
	"../../testdata/corpus/lab/server_side_tw_reuse_syn.pcap",
	"../../testdata/corpus/lab/simultaneous_close.pcap",
	"../../testdata/corpus/lab/tw_bucket_overflow_rst.pcap",
	"../../testdata/corpus/lab/seq_overlap_incarnations.pcap.gz",
	"../../reassembly/testdata/zeek_ftp-ipv4.pcap",
	"../../reassembly/testdata/zeek_http-concurrent-range-requests.pcap",
	"../../reassembly/testdata/zeek_ldap-missing-krbtgt.pcapng",
	"../../reassembly/testdata/zeek_pop3.pcap",
	"../../reassembly/testdata/zeek_tcp-fin-retransmission.pcap",
	"../../reassembly/testdata/zeek_tcp-rst-inject-rae.pcap",
}

func goldenFor(capture string) string {
	name := filepath.Base(capture)
	name = strings.TrimSuffix(name, ".gz")
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".pcapng"), ".pcap")
	return filepath.Join(goldenDir, name+".json")
}

// TestGolden runs `twscope check` on every corpus capture against its
// golden file; `go test ./cmd/twscope -run Golden -update` rewrites them
// with `check --update`.
func TestGolden(t *testing.T) {
	for _, capture := range goldenCaptures {
		golden := goldenFor(capture)
		t.Run(filepath.Base(golden), func(t *testing.T) {
			if *update {
				stdout, stderr, code := runCLI(t, "check", "--update", "--golden", golden, capture)
				if code != 0 {
					t.Fatalf("check --update: exit %d\n%s%s", code, stdout, stderr)
				}
			}
			stdout, stderr, code := runCLI(t, "check", "--golden", golden, capture)
			if code != 0 || !strings.HasPrefix(stdout, "same as ") {
				t.Errorf("check: exit %d, want 0\nstdout:\n%s\nstderr:\n%s\nif the change is meant: go test ./cmd/twscope -run Golden -update",
					code, stdout, stderr)
			}
		})
	}
	// Every golden file belongs to a capture of the table: none is stale.
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	want := map[string]bool{schemaGolden: true}
	for _, c := range goldenCaptures {
		want[goldenFor(c)] = true
	}
	for _, f := range files {
		if !want[f] {
			t.Errorf("%s: no capture in goldenCaptures", f)
		}
	}
}

// labLast is the last incarnation of a lab capture (by start), and a time
// safely after the capture, to append synthetic traffic at.
func labLast(t *testing.T, capture string) (conn, time.Time) {
	t.Helper()
	conns := analyzeConns(t, capture)
	if len(conns) == 0 {
		t.Fatalf("%s: no connections", capture)
	}
	last := conns[0]
	for _, c := range conns {
		if c.start(t) > last.start(t) {
			last = c
		}
	}
	ts, _ := time.Parse(time.RFC3339Nano, last.Start)
	return last, ts.Add(2 * time.Second)
}

// writeCapture writes a synthetic pcap (reassembly/synth: every packet
// built by gopacket's serializers) whose clock starts at start.
func writeCapture(t *testing.T, name string, start time.Time, build func(w *synth.Writer) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := synth.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = start
	if err := build(w); err != nil {
		t.Fatal(err)
	}
	return path
}

// end is a synthetic endpoint without TCP timestamps, so that the extra
// traffic leaves the NAT timestamp findings of the lab captures alone.
func end(addr string, isn uint32) *synth.End {
	e := synth.NewEnd(addr, isn, 0)
	e.NoTS = true
	return e
}

const gap = 200 * time.Microsecond

// TestCheckRegressions checks captures that differ from a golden file in
// what matters: each must exit 1 and name the change in a line.
func TestCheckRegressions(t *testing.T) {
	lab := "../../testdata/corpus/lab/"
	clientFirst := lab + "client_close_first.pcap"
	golden := goldenFor(clientFirst) // 20 connections to 10.2.0.2:8080, all closed by the client
	last, after := labLast(t, clientFirst)

	tests := []struct {
		name     string
		captures func(t *testing.T) []string
		args     []string
		want     []string // lines of the output, in this order
	}{{
		// The same service, but its server closes: the lab capture of the
		// server-side close (same addresses, 20 connections).
		name:     "server closes first",
		captures: func(t *testing.T) []string { return []string{lab + "server_close_first.pcap"} },
		want: []string{
			"server 10.2.0.2:8080 now closes first in 20 of 20 connections (was 0)",
			"clients of server 10.2.0.2:8080 no longer close first (was 20 of 20 connections)",
			"server 10.2.0.2:8080 now holds TIME_WAIT in 20 of 20 connections (was 0)",
		},
	}, {
		// The golden capture plus a second file, 2 s after it, holding one
		// more connection to the same server that the server resets after
		// a request and response (handshake, exchange, RST+ACK).
		name: "one more RST close",
		captures: func(t *testing.T) []string {
			extra := writeCapture(t, "rst.pcap", after, func(w *synth.Writer) error {
				c, s := end("10.1.1.9:45000", 1000), end("10.2.0.2:8080", 5000)
				if err := w.Handshake(c, s, gap); err != nil {
					return err
				}
				if err := w.Exchange(c, s, 100, 300, gap); err != nil {
					return err
				}
				return w.Send(s, c, synth.RST|synth.ACK, 0)
			})
			return []string{clientFirst, extra}
		},
		want: []string{
			"server 10.2.0.2:8080: 21 connections (was 20)",
			"connections to server 10.2.0.2:8080 now end with a RST in 1 of 21 connections (was 0 of 20)",
			"server 10.2.0.2:8080 now sends a RST in 1 of 21 connections (was 0 of 20)",
		},
	}, {
		// The golden capture plus a second file, 2 s after it, in which the
		// client of the last lab connection opens the same four-tuple again
		// (its ISN far from the old one) while it holds TIME_WAIT: a reuse
		// inside 2MSL.
		name: "four-tuple reuse inside TIME_WAIT",
		captures: func(t *testing.T) []string {
			extra := writeCapture(t, "reuse.pcap", after, func(w *synth.Writer) error {
				c, s := end(last.Client, 0x40000000), end(last.Server, 0x90000000)
				if err := w.Handshake(c, s, gap); err != nil {
					return err
				}
				if err := w.Exchange(c, s, 100, 300, gap); err != nil {
					return err
				}
				return w.Close(c, s, gap)
			})
			return []string{clientFirst, extra}
		},
		want: []string{
			"server 10.2.0.2:8080: 21 connections (was 20)",
			"finding tuple_reuse at server 10.2.0.2:8080: 1 warning (was 0)",
		},
	}, {
		// The golden capture plus a connection to a server the golden file
		// does not know, closed by that server.
		name: "a new server endpoint",
		captures: func(t *testing.T) []string {
			extra := writeCapture(t, "new.pcap", after, func(w *synth.Writer) error {
				c, s := end("10.1.1.9:45000", 1000), end("10.2.0.3:443", 5000)
				if err := w.Handshake(c, s, gap); err != nil {
					return err
				}
				return w.Close(s, c, gap)
			})
			return []string{clientFirst, extra}
		},
		want: []string{"server 10.2.0.3:443 is new: 1 connection (first to close: server 1; close: fin 1)"},
	}, {
		// A different profile than the golden file's changes the verdicts.
		name:     "profile given on the command line",
		captures: func(t *testing.T) []string { return []string{clientFirst} },
		args:     []string{"--profile", "windows"},
		want:     []string{"profile windows with TIME_WAIT 120 s (golden file: linux with TIME_WAIT 60 s)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"check", "--golden", golden}, tt.args...), tt.captures(t)...)
			stdout, stderr, code := runCLI(t, args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(stderr, "from the golden file") {
				t.Errorf("stderr does not say what failed: %s", stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			i := 0
			for _, l := range lines {
				if i < len(tt.want) && l == tt.want[i] {
					i++
				}
			}
			if i < len(tt.want) {
				t.Errorf("line %q missing (or out of order) in\n%s\nstderr: %s", tt.want[i], stdout, stderr)
			}
		})
	}
}

// serviceCapture writes eight connections from client 10.1.0.5 to the
// server 10.0.0.1:8080, closed in four ways (server FIN first, server
// RST, client FIN first, client FIN first), from the given client ports
// and ISN base; reversed writes them in the opposite order.
func serviceCapture(t *testing.T, name string, start time.Time, port0 int, isn uint32, reversed bool) string {
	return writeCapture(t, name, start, func(w *synth.Writer) error {
		for n := 0; n < 8; n++ {
			i := n
			if reversed {
				i = 7 - n
			}
			c := end(fmt.Sprintf("10.1.0.5:%d", port0+i*7), isn+uint32(i)*100_003)
			s := end("10.0.0.1:8080", isn*3+uint32(i)*7_919)
			if err := w.Handshake(c, s, gap); err != nil {
				return err
			}
			if err := w.Exchange(c, s, 120, 2000, gap); err != nil {
				return err
			}
			var err error
			switch i % 4 {
			case 0:
				err = w.Close(s, c, gap)
			case 1:
				err = w.Send(s, c, synth.RST|synth.ACK, 0)
			default:
				err = w.Close(c, s, gap)
			}
			if err != nil {
				return err
			}
			w.Advance(15 * time.Millisecond)
		}
		return nil
	})
}

// TestCheckIgnores checks that what does not matter passes: the same
// service captured again with other client ports, ISNs, times and
// connection order, and captures given in another order.
func TestCheckIgnores(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join(dir, "service.json")
	first := serviceCapture(t, "first.pcap", synth.Epoch, 40000, 1000, false)
	if stdout, stderr, code := runCLI(t, "check", "--update", "--golden", golden, first); code != 0 ||
		!strings.HasPrefix(stdout, "wrote "+golden+": 8 connections, 1 server endpoint") {
		t.Fatalf("--update: exit %d\n%s%s", code, stdout, stderr)
	}
	again := serviceCapture(t, "again.pcap", synth.Epoch.Add(26*time.Hour), 51234, 3_000_000_000, true)
	if stdout, stderr, code := runCLI(t, "check", "--golden", golden, again); code != 0 {
		t.Errorf("other ports, ISNs, times and order: exit %d\n%s%s", code, stdout, stderr)
	}

	// Two lab captures as one stream, golden written in one order, checked
	// in the other.
	lab := "../../testdata/corpus/lab/"
	pair := filepath.Join(dir, "pair.json")
	if _, stderr, code := runCLI(t, "check", "--update", "--golden", pair, lab+"lost_final_ack.pcap", lab+"close_wait_leak.pcap"); code != 0 {
		t.Fatalf("--update: exit %d: %s", code, stderr)
	}
	if stdout, stderr, code := runCLI(t, "check", "--golden", pair, lab+"close_wait_leak.pcap", lab+"lost_final_ack.pcap"); code != 0 {
		t.Errorf("captures in another order: exit %d\n%s%s", code, stdout, stderr)
	}

	// With a tolerance, a ninth connection closed like most others passes
	// (connections +12.5%, shares within 10 points); exactly it does not.
	more := writeCapture(t, "more.pcap", synth.Epoch.Add(time.Hour), func(w *synth.Writer) error {
		c, s := end("10.1.0.5:40999", 77), end("10.0.0.1:8080", 99)
		if err := w.Handshake(c, s, gap); err != nil {
			return err
		}
		return w.Close(c, s, gap)
	})
	if stdout, _, code := runCLI(t, "check", "--golden", golden, first, more); code != 1 ||
		!strings.Contains(stdout, "server 10.0.0.1:8080: 9 connections (was 8)\n") {
		t.Errorf("one more connection, exactly: exit %d\n%s", code, stdout)
	}
	if stdout, stderr, code := runCLI(t, "check", "--tolerance", "15", "--golden", golden, first, more); code != 0 {
		t.Errorf("one more connection, --tolerance 15: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestCheckGroupByPort checks --group-by port: a server that moved to
// another address is still the same service.
func TestCheckGroupByPort(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join(dir, "byport.json")
	lab := "../../testdata/corpus/lab/"
	if _, stderr, code := runCLI(t, "check", "--update", "--group-by", "port", "--golden", golden, lab+"client_close_first.pcap"); code != 0 {
		t.Fatalf("--update: exit %d: %s", code, stderr)
	}
	// A second --update without --group-by keeps the file's grouping.
	if _, stderr, code := runCLI(t, "check", "--update", "--golden", golden, lab+"client_close_first.pcap"); code != 0 {
		t.Fatalf("--update again: exit %d: %s", code, stderr)
	}
	if data, err := os.ReadFile(golden); err != nil || !strings.Contains(string(data), `"group_by": "port"`) {
		t.Fatalf("--update lost the grouping (%v):\n%s", err, data)
	}
	moved := writeCapture(t, "moved.pcap", synth.Epoch, func(w *synth.Writer) error {
		for i := 0; i < 20; i++ {
			c, s := end(fmt.Sprintf("172.16.0.9:%d", 33000+i), uint32(i)*1000), end("172.16.0.1:8080", 5000)
			if err := w.Handshake(c, s, gap); err != nil {
				return err
			}
			if err := w.Close(c, s, gap); err != nil {
				return err
			}
		}
		return nil
	})
	stdout, stderr, code := runCLI(t, "check", "--golden", golden, moved)
	// Grouped by port, the moved server is the same service with the
	// same closes and findings (none: the lab client's per-connection
	// timestamp offsets are no NAT finding).
	if code != 0 || !strings.HasPrefix(stdout, "same as") {
		t.Errorf("exit %d\n%s%s\nwant exit 0 and same as", code, stdout, stderr)
	}
}

// TestCheckBadInput checks exit code 2 and a message for what cannot be
// read or used.
func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "notes.pcap")
	if err := os.WriteFile(notCapture, []byte("this is not a capture, just some text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "report.json")
	if _, _, code := runCLI(t, "analyze", "--json", report, "../../testdata/corpus/lab/client_close_first.pcap"); code != 0 {
		t.Fatal("analyze --json failed")
	}
	newer := filepath.Join(dir, "newer.json")
	if err := os.WriteFile(newer, []byte(`{"schema": 99, "format": "twscope-golden", "group_by": "endpoint"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	golden := goldenFor("client_close_first.pcap")
	capture := "../../testdata/corpus/lab/client_close_first.pcap"
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"capture that is not a capture", []string{"check", "--golden", golden, notCapture}, "notes.pcap"},
		{"missing capture", []string{"check", "--golden", golden, filepath.Join(dir, "nope.pcap")}, "nope.pcap"},
		{"missing golden file", []string{"check", "--golden", filepath.Join(dir, "none.json"), capture}, "none.json does not exist (write it with check --update)"},
		{"a report as golden file", []string{"check", "--golden", report, capture}, "not a golden file"},
		{"a capture as golden file", []string{"check", "--golden", capture, capture}, "not a golden file"},
		{"golden file from a newer twscope", []string{"check", "--golden", newer, capture}, "schema 99"},
		{"no --golden", []string{"check", capture}, "check needs --golden FILE"},
		{"no capture", []string{"check", "--golden", golden}, "requires at least 1 arg"},
		{"bad tolerance", []string{"check", "--tolerance", "-1", "--golden", golden, capture}, "--tolerance -1"},
		{"bad grouping", []string{"check", "--update", "--group-by", "host", "--golden", filepath.Join(dir, "g.json"), capture}, `unknown grouping "host"`},
		{"unknown rule on check", []string{"check", "--fail-on", "reuse>0", "--golden", golden, capture}, "known names: findings, lost_final_ack"},
		{"unknown rule on analyze", []string{"analyze", "--fail-on", "tuple_reuse>0,rsts>0", capture}, `unknown name "rsts"`},
		{"rule without threshold", []string{"analyze", "--fail-on", "tuple_reuse", capture}, "want NAME OP NUMBER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q\nstdout: %s", code, stderr, tt.want, stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "g.json")); err == nil {
		t.Error("a golden file was written despite a usage error")
	}
}

// TestFailOn checks --fail-on on analyze and check: exit 1 after the
// normal output when a rule holds, naming the rule and what it counted.
func TestFailOn(t *testing.T) {
	lab := "../../testdata/corpus/lab/"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // in stdout
		stderr string // in stderr
	}{
		{"analyze: a reuse", []string{"analyze", "--fail-on", "tuple_reuse>0,final_ack_rst>0", lab + "fast_port_reuse_tw_reuse.pcap"},
			1, "connections: 12", "rule tuple_reuse>0 failed: 10 tuple_reuse findings\ntwscope: 1 of 2 rules failed\n"},
		{"analyze: RSTs answer lost final ACKs", []string{"analyze", "--fail-on", "tuple_reuse>0", "--fail-on", "final_ack_rst>0", lab + "tw_bucket_overflow_rst.pcap"},
			1, "findings:", "rule final_ack_rst>0 failed: 10 final_ack_rst findings\n"},
		{"analyze: clean", []string{"analyze", "--fail-on", "tuple_reuse>0,final_ack_rst>0,critical>0", lab + "client_close_first.pcap"},
			0, "connections: 20", ""},
		{"analyze: JSON on stdout stays JSON", []string{"analyze", "--json", "-", "--fail-on", "closer:server>50%", lab + "server_close_first.pcap"},
			1, `"schema": 1`, "rule closer:server>50% failed: the server closed first in 20 of 20 connections (100.0%)"},
		{"check: equal to golden, rule fails", []string{"check", "--golden", goldenFor("server_close_first.pcap"), "--fail-on", "time_wait:server@10.2.0.2:8080>0", lab + "server_close_first.pcap"},
			1, "rule time_wait:server@10.2.0.2:8080>0 failed: TIME_WAIT was held by the server in 20 of 20 connections to server 10.2.0.2:8080", "twscope: 1 of 1 rules failed"},
		{"check: equal to golden, rule passes", []string{"check", "--golden", goldenFor("server_close_first.pcap"), "--fail-on", "close:rst>0", lab + "server_close_first.pcap"},
			0, "same as", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nwant %q in stdout and %q in stderr", code, tt.code, stdout, stderr, tt.stdout, tt.stderr)
			}
			if tt.code == 0 && strings.Contains(stdout+stderr, "failed") {
				t.Errorf("a passing run says failed:\n%s%s", stdout, stderr)
			}
		})
	}
}

// junitDoc is JUnit XML as the common JUnit XSD (Jenkins' junit-10.xsd)
// describes it, with every attribute that can be required kept as a
// pointer so that absence is seen.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    *int     `xml:"tests,attr"`
	Failures *int     `xml:"failures,attr"`
	Errors   *int     `xml:"errors,attr"`
	Suites   []struct {
		Name     *string  `xml:"name,attr"`
		Tests    *int     `xml:"tests,attr"`
		Failures *int     `xml:"failures,attr"`
		Errors   *int     `xml:"errors,attr"`
		Time     *float64 `xml:"time,attr"`
		Cases    []struct {
			Name      *string       `xml:"name,attr"`
			Classname *string       `xml:"classname,attr"`
			Time      *float64      `xml:"time,attr"`
			Failure   *junitProblem `xml:"failure"`
			Error     *junitProblem `xml:"error"`
			Any       []xml.Name    `xml:",any"`
		} `xml:"testcase"`
		Any []xml.Name `xml:",any"`
	} `xml:"testsuite"`
}

type junitProblem struct {
	Message *string `xml:"message,attr"`
	Type    *string `xml:"type,attr"`
	Text    string  `xml:",chardata"`
}

// validateJUnit parses a JUnit file and checks the elements and
// attributes the JUnit XSD requires, and that the counts add up. It
// returns the failures' texts and the number of errors.
func validateJUnit(t *testing.T, path string) (failures []string, errors int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	if doc.Tests == nil || doc.Failures == nil || doc.Errors == nil || len(doc.Suites) == 0 {
		t.Fatalf("testsuites: counts or suites missing\n%s", data)
	}
	tests, fails, errs := 0, 0, 0
	for _, s := range doc.Suites {
		if s.Name == nil || *s.Name == "" || s.Tests == nil || s.Failures == nil || s.Errors == nil || s.Time == nil {
			t.Errorf("testsuite without name, tests, failures, errors or time\n%s", data)
			continue
		}
		if len(s.Any) > 0 {
			t.Errorf("testsuite %s: unexpected elements %v", *s.Name, s.Any)
		}
		sf, se := 0, 0
		for _, c := range s.Cases {
			if c.Name == nil || *c.Name == "" || c.Classname == nil || *c.Classname == "" || c.Time == nil {
				t.Errorf("testsuite %s: testcase without name, classname or time", *s.Name)
			}
			if len(c.Any) > 0 {
				t.Errorf("testcase: unexpected elements %v", c.Any)
			}
			for _, p := range []*junitProblem{c.Failure, c.Error} {
				if p != nil && (p.Message == nil || *p.Message == "" || p.Type == nil || *p.Type == "") {
					t.Errorf("testcase %v: failure or error without message or type", c.Name)
				}
			}
			if c.Failure != nil {
				sf++
				failures = append(failures, c.Failure.Text)
			}
			if c.Error != nil {
				se++
			}
		}
		if *s.Tests != len(s.Cases) || *s.Failures != sf || *s.Errors != se {
			t.Errorf("testsuite %s: tests=%d failures=%d errors=%d, counted %d %d %d", *s.Name, *s.Tests, *s.Failures, *s.Errors, len(s.Cases), sf, se)
		}
		tests, fails, errs = tests+len(s.Cases), fails+sf, errs+se
	}
	if *doc.Tests != tests || *doc.Failures != fails || *doc.Errors != errs {
		t.Errorf("testsuites: tests=%d failures=%d errors=%d, counted %d %d %d", *doc.Tests, *doc.Failures, *doc.Errors, tests, fails, errs)
	}
	return failures, errs
}

// TestJUnit checks the --junit file of check and analyze against the
// JUnit XSD's required elements and attributes.
func TestJUnit(t *testing.T) {
	lab := "../../testdata/corpus/lab/"
	dir := t.TempDir()
	notCapture := filepath.Join(dir, "x.pcap")
	if err := os.WriteFile(notCapture, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	golden := goldenFor("client_close_first.pcap")
	tests := []struct {
		name     string
		args     []string
		code     int
		failures []string // a substring of each failure, in order
		errors   int
	}{
		{"check equal", []string{"check", "--golden", golden, lab + "client_close_first.pcap"}, 0, nil, 0},
		{"check different, with rules", []string{"check", "--golden", golden, "--fail-on", "closer:server>0,close:rst>0",
			lab + "server_close_first.pcap"}, 1, []string{
			"server 10.2.0.2:8080 now closes first in 20 of 20 connections (was 0)\nclients of server",
			"rule closer:server>0 failed"}, 0},
		{"analyze with rules", []string{"analyze", "--fail-on", "tuple_reuse>0,final_ack_rst>0", lab + "fast_port_reuse_tw_reuse.pcap"},
			1, []string{"rule tuple_reuse>0 failed: 10 tuple_reuse findings"}, 0},
		{"unreadable capture", []string{"check", "--golden", golden, notCapture}, 2, nil, 1},
		{"analyze without rules", []string{"analyze", lab + "client_close_first.pcap"}, 0, nil, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("junit%d.xml", i))
			args := append([]string{tt.args[0], "--junit", path}, tt.args[1:]...)
			stdout, stderr, code := runCLI(t, args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
			}
			failures, errors := validateJUnit(t, path)
			if len(failures) != len(tt.failures) || errors != tt.errors {
				t.Fatalf("%d failures %q and %d errors, want %d and %d", len(failures), failures, errors, len(tt.failures), tt.errors)
			}
			for j, f := range failures {
				if !strings.Contains(f, tt.failures[j]) {
					t.Errorf("failure %d: %q, want %q in it", j, f, tt.failures[j])
				}
			}
		})
	}
}

// TestCheckUpdateDeterministic checks that --update writes the same bytes
// twice, so that golden files change only when the analysis does.
func TestCheckUpdateDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := 0; i < 2; i++ {
		p := filepath.Join(dir, fmt.Sprintf("g%d.json", i))
		if _, stderr, code := runCLI(t, "check", "--update", "--golden", p, "../../testdata/demo.pcap"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, string(data))
	}
	if files[0] != files[1] {
		t.Error("two --update runs wrote different bytes")
	}
}
