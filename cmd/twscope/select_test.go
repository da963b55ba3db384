package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly/testenv"
)

const demo = "../../testdata/demo.pcap"

// TestSelectionCounts: --server, --client, --since and --until keep whole
// connections of demo.pcap (153 in all: 127 from 10.1.1.2, 26 from
// 10.2.0.1, all to 10.2.0.2:8080, over 31.8 s); the JSON report counts the
// selected ones and the capture's beside them, and --conns writes the
// same connections.
func TestSelectionCounts(t *testing.T) {
	tests := []struct {
		flags []string
		conns int
	}{
		{nil, 153},
		{[]string{"--server", "10.2.0.2:8080"}, 153},
		{[]string{"--server", "10.2.0.2"}, 153},
		{[]string{"--server", ":8080"}, 153},
		{[]string{"--server", "10.2.0.2:22"}, 0},
		{[]string{"--server", "10.2.0.0/24:8080"}, 153},
		{[]string{"--client", "10.1.1.2"}, 127},
		{[]string{"--client", "10.2.0.0/16"}, 26},
		{[]string{"--client", "::ffff:10.2.0.1"}, 26},
		{[]string{"--client", "2001:db8::1"}, 0},
		{[]string{"--since", "+10s"}, 83},
		{[]string{"--until", "+10s"}, 70},
		{[]string{"--since", "+10s", "--until", "+20s"}, 38},
		{[]string{"--since", "2026-11-21T22:59:30.770053Z", "--until", "2026-11-21T22:59:40.770053Z"}, 38},
		{[]string{"--client", "10.2.0.1", "--since", "+10s"}, 26},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
			dir := t.TempDir()
			conns := filepath.Join(dir, "conns.ndjson")
			args := append([]string{"analyze", "--json", "-", "--conns", conns}, tt.flags...)
			out, errs, code := runCLI(t, append(args, demo)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var rep struct {
				Totals    struct{ Connections int }
				Selection *struct {
					ConnectionsSeen int `json:"connections_seen"`
				}
				Closes struct {
					ByKind map[string]int `json:"by_kind"`
				}
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Totals.Connections != tt.conns {
				t.Errorf("connections %d, want %d", rep.Totals.Connections, tt.conns)
			}
			if (rep.Selection != nil) != (tt.flags != nil) || rep.Selection != nil && rep.Selection.ConnectionsSeen != 153 {
				t.Errorf("selection %+v", rep.Selection)
			}
			sum := 0
			for _, n := range rep.Closes.ByKind {
				sum += n
			}
			b, err := os.ReadFile(conns)
			if err != nil {
				t.Fatal(err)
			}
			if lines := strings.Count(string(b), "\n"); sum != tt.conns || lines != tt.conns {
				t.Errorf("closes count %d, --conns %d lines, want %d", sum, lines, tt.conns)
			}
		})
	}
}

// TestSelectionKeepsPrevious: with --since +18.8s connection 103 is left
// out, but connection 105, the next incarnation of its four-tuple, still
// has its reuse judged by it (gap 1.017 s, as without a selection).
func TestSelectionKeepsPrevious(t *testing.T) {
	out, errs, code := runCLI(t, "analyze", "--json", "-", "--since", "+18.8s", demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Totals   struct{ Connections int }
		Findings []struct {
			Kind     string
			Conns    []int
			Evidence struct {
				GapS float64 `json:"gap_s"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Kind == "tuple_reuse" && len(f.Conns) == 2 && f.Conns[0] == 103 && f.Conns[1] == 105 {
			found = f.Evidence.GapS > 1.016 && f.Evidence.GapS < 1.018
		}
	}
	if rep.Totals.Connections != 49 || !found {
		t.Errorf("%d connections, reuse of 103 by 105 found: %v", rep.Totals.Connections, found)
	}
}

// TestSelectionAndArgErrors: bad selections and a directory are usage
// errors (exit 2) with a message that says what to give.
func TestSelectionAndArgErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "--server", "example.com", demo}, "not an IP address"},
		{[]string{"analyze", "--server", "10.0.0.1:99999", demo}, "not 1-65535"},
		{[]string{"analyze", "--server", "[2001:db8::1", demo}, "missing ]"},
		{[]string{"analyze", "--client", "10.0.0.0/33", demo}, "not a CIDR prefix"},
		{[]string{"analyze", "--since", "yesterday", demo}, "RFC 3339"},
		{[]string{"analyze", "--since", "+20s", "--until", "+10s", demo}, "before --since"},
		{[]string{"analyze", dir}, filepath.Join(dir, "*.pcap")},
		{[]string{"conns", dir + "/"}, filepath.Join(dir, "*.pcap")},
		{[]string{"conns", "--sort", "size", demo}, "want one of start, duration"},
		{[]string{"show", demo}, "--conn ID is required"},
		{[]string{"show", "--conn", "154", demo}, "no connection 154: the capture holds connections 1 to 153"},
		{[]string{"show", "--conn", "1", "--client", "10.2.0.1", demo}, "not among the connections selected by client 10.2.0.1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errs, code := runCLI(t, tt.args...)
			if code != exitBadInput || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q, want 2 and %q", code, errs, tt.want)
			}
		})
	}
}

// connsRows parses the rows of a conns table: id and the named column.
func connsRows(t *testing.T, out, column string) (ids []int, vals []string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	col := -1
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "id" {
			// the <-> column has no header: data rows have one more field
			for j, h := range f {
				if h == column {
					col = j
					if j >= 2 {
						col = j + 1
					}
				}
			}
			lines = lines[i+1:]
			break
		}
	}
	if col < 0 {
		t.Fatalf("no column %s in\n%s", column, out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < col+1 || strings.HasPrefix(l, "=") {
			break
		}
		id, err := strconv.Atoi(strings.TrimSuffix(f[0], "*"))
		if err != nil {
			t.Fatalf("row %q", l)
		}
		ids, vals = append(ids, id), append(vals, f[col])
	}
	return ids, vals
}

// TestConnsTable: twscope conns lists the connections sorted by --sort,
// at most --limit, the same bytes on every run.
func TestConnsTable(t *testing.T) {
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return -1 // "-": no reuse
		}
		return v
	}
	tests := []struct {
		sort   string
		limit  int
		flags  []string
		column string
		rows   int
		first  int // id of the first row
		// ordered reports whether row b may follow row a
		ordered func(a, b string) bool
	}{
		{"start", 0, nil, "rel_start", 153, 1, func(a, b string) bool { return num(a) <= num(b) }},
		{"duration", 10, nil, "duration", 10, 0, func(a, b string) bool { return num(a) >= num(b) }},
		{"bytes", 5, []string{"--client", "10.2.0.1"}, "bytes<-", 5, 0, nil},
		{"reuse_gap", 19, nil, "reuse_gap", 19, 0, func(a, b string) bool { return num(a) <= num(b) && num(b) > 0 }},
		{"closer", 0, nil, "closer", 153, 0, func(a, b string) bool {
			order := "client server both none"
			return strings.Index(order, a) <= strings.Index(order, b)
		}},
		{"close", 30, nil, "close", 30, 0, func(a, b string) bool { return a == "fin" && b == "fin" }},
	}
	for _, tt := range tests {
		t.Run(tt.sort, func(t *testing.T) {
			args := append([]string{"conns", "--sort", tt.sort, "--limit", strconv.Itoa(tt.limit)}, tt.flags...)
			out, errs, code := runCLI(t, append(args, demo)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			again, _, _ := runCLI(t, append(args, demo)...)
			if again != out {
				t.Errorf("two runs differ")
			}
			ids, vals := connsRows(t, out, tt.column)
			if len(ids) != tt.rows {
				t.Fatalf("%d rows, want %d:\n%s", len(ids), tt.rows, out)
			}
			if tt.first > 0 && ids[0] != tt.first {
				t.Errorf("first row %d, want %d", ids[0], tt.first)
			}
			for i := 1; i < len(vals); i++ {
				if tt.ordered != nil && !tt.ordered(vals[i-1], vals[i]) {
					t.Errorf("rows %d (%s) and %d (%s) out of %s order", ids[i-1], vals[i-1], ids[i], vals[i], tt.sort)
				}
			}
			if !strings.Contains(out, "Sorted by "+tt.sort) {
				t.Errorf("header does not name the sort:\n%s", out)
			}
		})
	}
}

// TestShowConn: show --conn prints the record, a filter by four-tuple and
// frames, and the ladder from the SYN (frame 1051 for connection 105, the
// client's reuse of 10.1.1.2:40000) with relative sequence numbers, and
// its tuple_reuse findings.
func TestShowConn(t *testing.T) {
	out, errs, code := runCLI(t, "show", "--conn", "105", demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"connection 105: 10.1.1.2:40000 -> 10.2.0.2:8080",
		"previous:          connection 103 on the same four-tuple",
		"((ip.src==10.1.1.2 && tcp.srcport==40000 && ip.dst==10.2.0.2 && tcp.dstport==8080) || " +
			"(ip.src==10.2.0.2 && tcp.srcport==8080 && ip.dst==10.1.1.2 && tcp.dstport==40000)) && frame.number in {1051..1065}",
		"[info] tuple_reuse: 10.1.1.2:40000 reused the four-tuple to 10.2.0.2:8080 1.02 s after connection #103",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	_, ladder, _ := strings.Cut(out, "frame     time")
	ladder, _, _ = strings.Cut(ladder, "\n\nfindings:")
	rows := strings.Split(strings.TrimSpace(ladder), "\n")[1:]
	if len(rows) < 10 {
		t.Fatalf("ladder:\n%s", ladder)
	}
	first, second := strings.Fields(rows[0]), strings.Fields(rows[1])
	// frame time dir [SYN] seq ack len tsval tsecr
	if first[0] != "1051" || first[3] != "[SYN]" || first[4] != "0" || first[5] != "-" {
		t.Errorf("first packet %q, want the SYN at frame 1051 with relative seq 0", rows[0])
	}
	if second[3] != "[SYN," || second[5] != "0" || second[6] != "1" {
		t.Errorf("second packet %q, want the SYN+ACK acking relative 1", rows[1])
	}
	if !strings.Contains(rows[len(rows)-1], "1065") {
		t.Errorf("last packet %q, want frame 1065", rows[len(rows)-1])
	}
	abs, _, _ := runCLI(t, "show", "--conn", "105", "--absolute", demo)
	if !strings.Contains(abs, " 1264977492 ") {
		t.Errorf("--absolute does not print the client's ISN 1264977492")
	}
}

// TestVisualsSayWhere: --html and --plots say on stderr where they wrote.
func TestVisualsSayWhere(t *testing.T) {
	dir := t.TempDir()
	page, plots := filepath.Join(dir, "r.html"), filepath.Join(dir, "p")
	_, errs, code := runCLI(t, "analyze", "--html", page, "--plots", plots, demo)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	entries, err := os.ReadDir(plots)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wrote the HTML report to " + page + "\n",
		"wrote " + strconv.Itoa(len(entries)) + " plot files (SVG and PNG) to " + plots + "\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q lacks %q", errs, want)
		}
	}
}

// TestSelectionSaid: the text summary and the HTML report say which
// connections they are about, and say nothing without a selection.
func TestSelectionSaid(t *testing.T) {
	page := filepath.Join(t.TempDir(), "r.html")
	for _, tt := range []struct {
		flags      []string
		text, html string
	}{
		{[]string{"--client", "10.2.0.1"}, "selected: client 10.2.0.1 (26 of the capture's 153 connections)\n",
			`<p class="sub" id="selection">Selected: client 10.2.0.1 (26 of the capture&#39;s 153 connections).</p>`},
		{nil, "", ""},
	} {
		out, errs, code := runCLI(t, append(append([]string{"analyze", "--html", page}, tt.flags...), demo)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if tt.text == "" {
			if strings.Contains(out, "selected:") || strings.Contains(string(b), `id="selection"`) {
				t.Errorf("a selection is named without one")
			}
			continue
		}
		if !strings.Contains(out, tt.text) || !strings.Contains(string(b), tt.html) {
			t.Errorf("text or HTML does not name the selection:\n%s", out)
		}
	}
}

// TestParseHostPort: the forms --server takes.
func TestParseHostPort(t *testing.T) {
	tests := []struct {
		in, prefix string
		port       uint16
		err        bool
	}{
		{"10.0.0.1", "10.0.0.1/32", 0, false},
		{"10.0.0.1:443", "10.0.0.1/32", 443, false},
		{"10.0.0.0/8:443", "10.0.0.0/8", 443, false},
		{"10.1.2.3/8", "10.0.0.0/8", 0, false},
		{":443", "invalid Prefix", 443, false},
		{"2001:db8::1", "2001:db8::1/128", 0, false},
		{"[2001:db8::1]:443", "2001:db8::1/128", 443, false},
		{"[2001:db8::]/32", "", 0, true},
		{"[2001:db8::/32]:443", "2001:db8::/32", 443, false},
		{"::ffff:10.0.0.1", "10.0.0.1/32", 0, false},
		{"fe80::1%eth0", "fe80::1/128", 0, false},
		{"10.0.0.1:0", "", 0, true},
		{":", "", 0, true},
		{"host:80", "", 0, true},
	}
	for _, tt := range tests {
		p, port, err := parseHostPort(tt.in)
		if (err != nil) != tt.err || !tt.err && (p.String() != tt.prefix || port != tt.port) {
			t.Errorf("%q: %v %d %v, want %s %d (error %v)", tt.in, p, port, err, tt.prefix, tt.port, tt.err)
		}
	}
}

// TestShowFilterInTshark: the filter show prints selects exactly the
// connection's packets in tshark (Wireshark 4): as many frames as the
// record counts, its first and last, on IPv4 (demo.pcap, a four-tuple
// used by several incarnations) and IPv6. CI (CI=true) installs tshark.
func TestShowFilterInTshark(t *testing.T) {
	tshark := testenv.LookPath(t, "tshark", "apt-get install tshark (Debian), as .ci/run does")
	for _, tt := range []struct {
		file        string
		conn        string
		n           int
		first, last string
	}{
		{demo, "105", 10, "1051", "1065"},
		{"../../testdata/corpus/public/zeek_ftp-ipv6.pcap", "1", 91, "1", "136"},
	} {
		out, errs, code := runCLI(t, "show", "--conn", tt.conn, tt.file)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		_, rest, _ := strings.Cut(out, "\nwireshark:\n  ")
		filter, _, _ := strings.Cut(rest, "\n")
		b, err := exec.Command(tshark, "-r", tt.file, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatalf("tshark -Y %q: %v", filter, err)
		}
		frames := strings.Fields(string(b))
		if len(frames) != tt.n || frames[0] != tt.first || frames[len(frames)-1] != tt.last {
			t.Errorf("%s conn %s: tshark selects %d frames %v, want %d from %s to %s", tt.file, tt.conn, len(frames), frames, tt.n, tt.first, tt.last)
		}
	}
}
