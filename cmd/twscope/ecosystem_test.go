package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/twscope/twscope/reassembly/testenv"
	"github.com/twscope/twscope/report"
)

// ecosystemCaptures are read by the conn.log and Parquet tests: the demo
// (153 connections of ten scenarios) and a public IPv6 trace.
var ecosystemCaptures = []string{
	"../../testdata/demo.pcap",
	"../../testdata/corpus/public/zeek_ftp-ipv6.pcap",
}

// zeekConnInfo is Conn::Info's logged fields in Zeek's order
// (scripts/base/protocols/conn/main.zeek), written out here rather than
// taken from report so that a change there is caught.
var zeekConnInfo = []string{
	"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
	"service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
	"local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
	"resp_pkts", "resp_ip_bytes", "tunnel_parents",
}

// ecosystemRun analyzes capture into dir with every per-connection output
// and returns the --conns records.
func ecosystemRun(t *testing.T, capture, dir string) []report.Conn {
	t.Helper()
	_, stderr, code := runCLI(t, "analyze", "--quiet",
		"--conns", filepath.Join(dir, "conns.ndjson"), "--json", filepath.Join(dir, "report.json"),
		"--zeek-conn", filepath.Join(dir, "conn.log"), "--zeek-conn-json", filepath.Join(dir, "conn.json"),
		"--parquet", filepath.Join(dir, "conns.parquet"), capture)
	if code != 0 {
		t.Fatalf("analyze %s: exit %d: %s", capture, code, stderr)
	}
	conns := decodeNDJSON[report.Conn](t, mustRead(t, filepath.Join(dir, "conns.ndjson")))
	if len(conns) == 0 {
		t.Fatalf("%s: no connection records", capture)
	}
	return conns
}

// zeekLog is a TSV log read as zeek-cut reads one: the separator from
// #separator, the columns named by #fields.
type zeekLog struct {
	header map[string]string // "#path" -> "conn", ...
	order  []string          // header keys in the order met
	fields []string
	types  []string
	rows   [][]string
}

func readZeekLog(t *testing.T, path string) zeekLog {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := zeekLog{header: map[string]string{}}
	sep := "\t"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#separator ") { // the one line split by a space
			v := strings.TrimPrefix(line, "#separator ")
			s, err := strconv.Unquote(`"` + v + `"`)
			if err != nil {
				t.Fatalf("#separator %q: %v", v, err)
			}
			sep = s
			l.header["#separator"], l.order = v, append(l.order, "#separator")
			continue
		}
		if strings.HasPrefix(line, "#") {
			k, v, _ := strings.Cut(line, sep)
			l.header[k], l.order = v, append(l.order, k)
			switch k {
			case "#fields":
				l.fields = strings.Split(v, sep)
			case "#types":
				l.types = strings.Split(v, sep)
			}
			continue
		}
		l.rows = append(l.rows, strings.Split(line, sep))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return l
}

// cut selects columns by name, as `zeek-cut name...` does.
func (l zeekLog) cut(t *testing.T, names ...string) [][]string {
	t.Helper()
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = slices.Index(l.fields, n)
		if idx[i] < 0 {
			t.Fatalf("no column %q in #fields", n)
		}
	}
	out := make([][]string, len(l.rows))
	for r, row := range l.rows {
		if len(row) != len(l.fields) {
			t.Fatalf("row %d has %d columns, #fields %d", r+1, len(row), len(l.fields))
		}
		for _, i := range idx {
			out[r] = append(out[r], row[i])
		}
	}
	return out
}

var zeekUIDPattern = regexp.MustCompile(`^C[0-9A-Za-z]{17}$`)

// TestZeekConnLog reads conn.log back as zeek-cut does and checks Zeek's
// header and field order, unique uids, and that every row says what the
// --conns record of the same connection says (conn_state, Community ID,
// closer, tuple). The JSON variant must carry the same entries.
func TestZeekConnLog(t *testing.T) {
	for _, capture := range ecosystemCaptures {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			dir := t.TempDir()
			conns := ecosystemRun(t, capture, dir)
			l := readZeekLog(t, filepath.Join(dir, "conn.log"))

			wantOrder := []string{"#separator", "#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#fields", "#types", "#close"}
			if !slices.Equal(l.order, wantOrder) {
				t.Errorf("header lines %v, want %v", l.order, wantOrder)
			}
			for k, v := range map[string]string{"#separator": `\x09`, "#set_separator": ",", "#empty_field": "(empty)", "#unset_field": "-", "#path": "conn"} {
				if l.header[k] != v {
					t.Errorf("%s = %q, want %q", k, l.header[k], v)
				}
			}
			if len(l.fields) < len(zeekConnInfo) || !slices.Equal(l.fields[:len(zeekConnInfo)], zeekConnInfo) {
				t.Errorf("#fields %v, want Zeek's %v first", l.fields, zeekConnInfo)
			}
			extra := []string{"community_id", "closer", "close", "time_wait_holder", "final_ack", "reuse_gap", "capture_point", "time_wait_end"}
			if !slices.Equal(l.fields[len(zeekConnInfo):], extra) {
				t.Errorf("extra columns %v, want %v", l.fields[len(zeekConnInfo):], extra)
			}
			if len(l.types) != len(l.fields) || l.types[0] != "time" || l.types[3] != "port" || l.types[8] != "interval" || l.types[20] != "set[string]" {
				t.Errorf("#types %v", l.types)
			}
			if len(l.rows) != len(conns) {
				t.Fatalf("%d rows, --conns has %d records", len(l.rows), len(conns))
			}

			// #open and #close are the capture's first and last packet.
			var rep struct {
				Captures []struct{ First, Last string } `json:"captures"`
			}
			b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			stamp := func(s string) string {
				tm, err := time.Parse(time.RFC3339Nano, s)
				if err != nil {
					t.Fatal(err)
				}
				return tm.UTC().Format("2006-01-02-15-04-05")
			}
			if want := stamp(rep.Captures[0].First); l.header["#open"] != want {
				t.Errorf("#open %s, want %s (first packet)", l.header["#open"], want)
			}
			if want := stamp(rep.Captures[0].Last); l.header["#close"] != want {
				t.Errorf("#close %s, want %s (last packet)", l.header["#close"], want)
			}

			uids := map[string]bool{}
			for i, row := range l.cut(t, "uid", "conn_state", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "community_id", "closer", "ts", "history") {
				c := conns[i]
				if !zeekUIDPattern.MatchString(row[0]) || uids[row[0]] {
					t.Errorf("row %d: uid %q not of Zeek's form or not unique", i+1, row[0])
				}
				uids[row[0]] = true
				if row[1] != c.ZeekState {
					t.Errorf("row %d: conn_state %s, --conns zeek_state %s", i+1, row[1], c.ZeekState)
				}
				if client, server := joinHostPort(row[2], row[3]), joinHostPort(row[4], row[5]); client != c.Client || server != c.Server {
					t.Errorf("row %d: %s -> %s, --conns %s -> %s", i+1, client, server, c.Client, c.Server)
				}
				if row[6] != c.CommunityID || row[7] != c.Closer {
					t.Errorf("row %d: community_id %s closer %s, --conns %s %s", i+1, row[6], row[7], c.CommunityID, c.Closer)
				}
				start, err := time.Parse(time.RFC3339Nano, c.Start)
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("%d.%06d", start.Unix(), start.Nanosecond()/1000); row[8] != want {
					t.Errorf("row %d: ts %s, want %s", i+1, row[8], want)
				}
				if want := c.History; want == "" && row[9] != "-" || want != "" && row[9] != want {
					t.Errorf("row %d: history %s, --conns %q", i+1, row[9], want)
				}
			}

			// The JSON variant: the same entries, Zeek's dotted keys, numbers for ts and ports.
			jb, err := os.ReadFile(filepath.Join(dir, "conn.json"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(jb)), "\n")
			if len(lines) != len(conns) {
				t.Fatalf("conn.json: %d lines, want %d", len(lines), len(conns))
			}
			uidCol := l.cut(t, "uid", "ts")
			for i, line := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatal(err)
				}
				ts, ok := m["ts"].(float64)
				want, _ := strconv.ParseFloat(uidCol[i][1], 64)
				if !ok || ts != want || m["uid"] != uidCol[i][0] || m["conn_state"] != conns[i].ZeekState {
					t.Errorf("conn.json line %d: ts %v uid %v conn_state %v, TSV %v", i+1, m["ts"], m["uid"], m["conn_state"], uidCol[i])
				}
				if _, ok := m["id.orig_p"].(float64); !ok {
					t.Errorf("conn.json line %d: id.orig_p is %T, want a number", i+1, m["id.orig_p"])
				}
				if _, ok := m["service"]; ok {
					t.Errorf("conn.json line %d: unset service written", i+1)
				}
			}

			// The same input gives the same log, uids included.
			again := t.TempDir()
			ecosystemRun(t, capture, again)
			for _, name := range []string{"conn.log", "conn.json", "conns.parquet"} {
				a, _ := os.ReadFile(filepath.Join(dir, name))
				b, _ := os.ReadFile(filepath.Join(again, name))
				if string(a) != string(b) {
					t.Errorf("%s differs between two runs on the same input", name)
				}
			}
		})
	}
}

// joinHostPort writes a conn.log address and port as --conns does.
func joinHostPort(h, p string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]:" + p
	}
	return h + ":" + p
}

// TestParquetReadBack reads the Parquet file back with parquet-go itself:
// one row per --conns record with the same id, closer and Community ID,
// and times stored as TIMESTAMP(MICROS) adjusted to UTC.
func TestParquetReadBack(t *testing.T) {
	for _, capture := range ecosystemCaptures {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			dir := t.TempDir()
			conns := ecosystemRun(t, capture, dir)
			path := filepath.Join(dir, "conns.parquet")
			rows, err := parquet.ReadFile[report.ParquetConn](path)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(conns) {
				t.Fatalf("%d rows, --conns has %d", len(rows), len(conns))
			}
			for i, r := range rows {
				c := conns[i]
				start, _ := time.Parse(time.RFC3339Nano, c.Start)
				if r.ID != int64(c.ID) || r.Closer != c.Closer || r.CommunityID != c.CommunityID ||
					r.ZeekState != c.ZeekState || r.Start != start.UnixMicro() || r.ClientSide.Bytes != c.ClientSide.Bytes {
					t.Errorf("row %d: %+v\n--conns: %+v", i, r, c)
				}
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			pf, err := parquet.OpenFile(f, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			for _, col := range []string{"start", "end", "close_time"} {
				leaf, ok := pf.Schema().Lookup(col)
				if !ok {
					t.Fatalf("no column %s", col)
				}
				lt := leaf.Node.Type().LogicalType()
				if got, want := lt.String(), "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)"; got != want {
					t.Errorf("column %s: logical type %s, want %s", col, got, want)
				}
			}
			if _, ok := pf.Schema().Lookup("client_side", "bytes"); !ok {
				t.Error("no client_side.bytes: the sides are not structs")
			}
		})
	}
}

// duckDB returns a function that runs SQL in DuckDB (its Node.js client,
// installed by scripts/duckdb-install.sh, which .ci/run calls) and returns
// the rows, one JSON object each; what names the query in failures. In CI
// (CI=true) a missing DuckDB fails the test; elsewhere it is skipped with
// the command that installs it.
func duckDB(t *testing.T) func(what, sql string) []map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	module := "../../.cache/duckdb/node_modules/@duckdb/node-api/package.json"
	if dir := os.Getenv("DUCKDB_NODE_DIR"); dir != "" {
		module = filepath.Join(dir, "node_modules/@duckdb/node-api/package.json")
	}
	if _, serr := os.Stat(module); err != nil || serr != nil {
		testenv.Missing(t, "DuckDB is not installed: run scripts/duckdb-install.sh (needs node and npm)")
	}
	return func(what, sql string) []map[string]any {
		t.Helper()
		out, err := exec.Command(node, "../../scripts/duckdb.cjs", sql).Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("duckdb %s: %v: %s", what, err, ee.Stderr)
			}
			t.Fatal(err)
		}
		var rows []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("duckdb output %q: %v", line, err)
			}
			rows = append(rows, m)
		}
		return rows
	}
}

// TestParquetDuckDB reads the Parquet file with DuckDB (duckDB): the same
// rows and closers as --conns, and no nanosecond timestamps.
func TestParquetDuckDB(t *testing.T) {
	duck := duckDB(t)
	query := func(sql string) []map[string]any { return duck("query", sql) }
	for _, capture := range ecosystemCaptures {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			dir, err := filepath.Abs(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			conns := ecosystemRun(t, capture, dir)
			file := "'" + filepath.Join(dir, "conns.parquet") + "'"
			rows := query("SELECT id, closer, community_id, zeek_state, epoch_us(start) AS start_us, client_side.bytes AS client_bytes FROM " + file + " ORDER BY id")
			if len(rows) != len(conns) {
				t.Fatalf("DuckDB reads %d rows, --conns has %d", len(rows), len(conns))
			}
			// --conns is in the order incarnations finished; the query sorts by id.
			slices.SortFunc(conns, func(a, b report.Conn) int { return a.ID - b.ID })
			for i, r := range rows {
				c := conns[i]
				start, _ := time.Parse(time.RFC3339Nano, c.Start)
				got := fmt.Sprint(r["id"], " ", r["closer"], " ", r["community_id"], " ", r["zeek_state"], " ", r["start_us"], " ", r["client_bytes"])
				want := fmt.Sprint(c.ID, " ", c.Closer, " ", c.CommunityID, " ", c.ZeekState, " ", start.UnixMicro(), " ", c.ClientSide.Bytes)
				if got != want {
					t.Errorf("row %d: DuckDB %s, --conns %s", i, got, want)
				}
			}
			cols := query("DESCRIBE SELECT * FROM " + file)
			if len(cols) == 0 {
				t.Fatal("DuckDB describes no columns")
			}
			for _, col := range cols {
				typ := fmt.Sprint(col["column_type"])
				name := fmt.Sprint(col["column_name"])
				if strings.Contains(typ, "TIMESTAMP_NS") || (name == "start" || name == "end" || name == "close_time") && typ != "TIMESTAMP WITH TIME ZONE" {
					t.Errorf("column %s is %s, want TIMESTAMP WITH TIME ZONE (micros, UTC)", name, typ)
				}
			}
		})
	}
}
