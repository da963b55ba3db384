package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/report"
)

var schemaGolden = filepath.Join(goldenDir, "schema.json")

// pinnedSchema is testdata/golden/schema.json: every field of the JSON
// report, the connection records and the golden file, with its JSON type,
// and the schema numbers they were pinned at.
type pinnedSchema struct {
	ReportSchema int               `json:"report_schema"`
	GoldenSchema int               `json:"golden_schema"`
	Report       map[string]string `json:"report"`
	Conns        map[string]string `json:"conns"`
	Golden       map[string]string `json:"golden"`
}

// fieldTypes lists the JSON fields of a Go type by path ("findings[].kind")
// with their JSON type, as encoding/json writes them.
var jsonMarshaler = reflect.TypeFor[json.Marshaler]()

// jsonValueKind names the JSON kind of a decoded value.
func jsonValueKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	case []any:
		return "array"
	}
	return "object"
}

func fieldTypes(t reflect.Type) map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		nullable := ""
		for t.Kind() == reflect.Pointer {
			t, nullable = t.Elem(), "|null"
		}
		typ := ""
		switch {
		case t.Implements(jsonMarshaler):
			// A type that renders itself (analyze.Time): the kind of
			// what it writes.
			b, err := json.Marshal(reflect.Zero(t).Interface())
			if err != nil {
				panic(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				panic(err)
			}
			typ = jsonValueKind(v)
		case t.Kind() == reflect.Interface:
			// Evidence: one struct per finding kind, pinned as
			// findings[].evidence(KIND).field.
			if t != evidenceType {
				typ = jsonKind(t)
				break
			}
			typ = "object"
			for kind, ev := range analyze.EvidenceTypes() {
				walk(reflect.TypeOf(ev).Elem(), path+"("+kind+")")
			}
		case t.Kind() == reflect.Struct:
			typ = "object"
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if !f.IsExported() || tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if name == "" {
					name = f.Name
				}
				p := name
				if path != "" {
					p = path + "." + name
				}
				ft := f.Type
				if ft.Kind() == reflect.Pointer && strings.Contains(","+opts+",", ",omitempty,") {
					ft = ft.Elem() // left out when nil, never null
				}
				walk(ft, p)
			}
		case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
			typ = "array"
			walk(t.Elem(), path+"[]")
		case t.Kind() == reflect.Map:
			typ = "object"
			if k := t.Elem().Kind(); k != reflect.Interface && k != reflect.Struct {
				typ = "object of " + jsonKind(t.Elem())
			}
		default:
			typ = jsonKind(t)
		}
		if path != "" {
			out[path] = typ + nullable
		}
	}
	walk(t, "")
	return out
}

var evidenceType = reflect.TypeFor[analyze.Evidence]()

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Interface:
		return "any"
	}
	return t.Kind().String()
}

func currentSchema() pinnedSchema {
	return pinnedSchema{
		ReportSchema: analyze.Schema, GoldenSchema: report.GoldenSchema,
		Report: fieldTypes(reflect.TypeOf(analyze.Result{})),
		Conns:  fieldTypes(reflect.TypeOf(report.Conn{})),
		Golden: fieldTypes(reflect.TypeOf(report.Golden{})),
	}
}

// TestSchemaGolden pins the fields of the stable outputs. Adding a field
// needs `go test ./cmd/twscope -run Schema -update`; removing, renaming or
// retyping one also needs a new analyze.Schema (or report.GoldenSchema),
// as contract.md says.
func TestSchemaGolden(t *testing.T) {
	cur := currentSchema()
	if *update {
		data, err := json.MarshalIndent(cur, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(schemaGolden, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(schemaGolden)
	if err != nil {
		t.Fatal(err)
	}
	var pinned pinnedSchema
	if err := json.Unmarshal(data, &pinned); err != nil {
		t.Fatal(err)
	}
	for _, part := range []struct {
		name         string
		pinned, cur  map[string]string
		pinnedSchema int
		schema       int
		constant     string
	}{
		{"report (--json)", pinned.Report, cur.Report, pinned.ReportSchema, cur.ReportSchema, "analyze.Schema"},
		{"connection records (--conns)", pinned.Conns, cur.Conns, pinned.ReportSchema, cur.ReportSchema, "analyze.Schema"},
		{"golden file", pinned.Golden, cur.Golden, pinned.GoldenSchema, cur.GoldenSchema, "report.GoldenSchema"},
	} {
		var removed, added []string
		for k, v := range part.pinned {
			if part.cur[k] != v {
				removed = append(removed, fmt.Sprintf("%s (%s, now %q)", k, v, part.cur[k]))
			}
		}
		for k := range part.cur {
			if _, ok := part.pinned[k]; !ok {
				added = append(added, k)
			}
		}
		sort.Strings(removed)
		sort.Strings(added)
		if len(removed) > 0 && part.schema == part.pinnedSchema {
			t.Errorf("%s: fields removed, renamed or retyped without a new %s (still %d): %s",
				part.name, part.constant, part.schema, strings.Join(removed, ", "))
		} else if len(removed) > 0 || len(added) > 0 || part.schema != part.pinnedSchema {
			t.Errorf("%s: schema differs from %s (added %v, changed %v); if meant, run go test ./cmd/twscope -run Schema -update",
				part.name, schemaGolden, added, removed)
		}
	}
	for _, name := range []string{"schema", "tool", "profile.name", "totals.connections", "findings[].kind", "findings[].severity",
		"findings[].evidence", "endpoints[].server", "endpoints[].closer"} {
		if _, ok := pinned.Report[name]; !ok {
			t.Errorf("report field %s of contract.md is not pinned", name)
		}
	}
	for _, name := range []string{"schema", "id", "client", "server", "closer", "close", "rst_by", "time_wait_holder",
		"fin_retransmits", "final_ack", "reuse_gap_s", "zeek_state", "history"} {
		if _, ok := pinned.Conns[name]; !ok {
			t.Errorf("connection record field %s of contract.md is not pinned", name)
		}
	}
}

// jsonPaths lists the paths of a decoded JSON value as fieldTypes names
// them, stopping at free-form objects (maps, evidence).
func jsonPaths(v any, path string, schema map[string]string, out map[string]bool) {
	if path != "" {
		out[path] = true
	}
	switch x := v.(type) {
	case map[string]any:
		if path != "" && !hasChildren(schema, path) {
			return
		}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if kind, ok := x["kind"].(string); ok && k == "evidence" {
				out[p] = true // its fields are pinned per kind
				p += "(" + kind + ")"
			}
			jsonPaths(e, p, schema, out)
		}
	case []any:
		for _, e := range x {
			jsonPaths(e, path+"[]", schema, out)
		}
	}
}

func hasChildren(schema map[string]string, path string) bool {
	for k := range schema {
		if strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[]") {
			return true
		}
	}
	return false
}

// TestSchemaMatchesOutput checks that the bytes written carry schema and
// only fields of the pinned types: what the reflection reads is what users
// get.
func TestSchemaMatchesOutput(t *testing.T) {
	cur := currentSchema()
	dir := t.TempDir()
	jsonPath, connsPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "c.ndjson")
	if _, stderr, code := runCLI(t, "analyze", "--json", jsonPath, "--conns", connsPath, "../../testdata/demo.pcap"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check := func(what string, data []byte, schema map[string]string) {
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if v["schema"] != float64(analyze.Schema) {
			t.Errorf("%s: schema %v, want %d", what, v["schema"], analyze.Schema)
		}
		paths := map[string]bool{}
		jsonPaths(v, "", schema, paths)
		for p := range paths {
			if _, ok := schema[p]; !ok {
				t.Errorf("%s: field %s is not in the schema", what, p)
			}
		}
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	check("report", data, cur.Report)
	f, err := os.Open(connsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		check(fmt.Sprintf("record %d", n), sc.Bytes(), cur.Conns)
	}
	if n != 153 {
		t.Errorf("%d records, want the demo's 153", n)
	}
}

// TestDeterministicOutputs runs analyze twice on the same input and wants
// the same bytes of JSON report and NDJSON records; captures given in
// another order must give the same records (but for the file index,
// which follows the argument order) and the same report (but for the
// order of the captures list).
func TestDeterministicOutputs(t *testing.T) {
	lab := "../../testdata/corpus/lab/"
	inputs := [][]string{
		{"../../testdata/demo.pcap"},
		{lab + "seq_overlap_incarnations.pcap.gz"},
		{lab + "nat_timestamps.pcap", lab + "tw_bucket_overflow_rst.pcap"},
		{"../../reassembly/testdata/zeek_ftp-ipv6.pcap"},
	}
	run := func(t *testing.T, args []string) (report, conns []byte) {
		dir := t.TempDir()
		jp, cp := filepath.Join(dir, "r.json"), filepath.Join(dir, "c.ndjson")
		if _, stderr, code := runCLI(t, append([]string{"analyze", "--json", jp, "--conns", cp}, args...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		r, err := os.ReadFile(jp)
		if err != nil {
			t.Fatal(err)
		}
		c, err := os.ReadFile(cp)
		if err != nil {
			t.Fatal(err)
		}
		return r, c
	}
	for _, args := range inputs {
		t.Run(filepath.Base(args[0]), func(t *testing.T) {
			r1, c1 := run(t, args)
			r2, c2 := run(t, args)
			if !bytes.Equal(r1, r2) {
				t.Errorf("JSON report differs between two runs")
			}
			if !bytes.Equal(c1, c2) {
				t.Errorf("NDJSON records differ between two runs")
			}
			if len(args) < 2 {
				return
			}
			rev := append([]string(nil), args...)
			sort.Sort(sort.Reverse(sort.StringSlice(rev)))
			r3, c3 := run(t, rev)
			if a, b := normalizeReport(t, r1), normalizeReport(t, r3); a != b {
				t.Errorf("JSON report depends on the order of the captures")
			}
			if a, b := normalizeConns(t, c1, len(args)), normalizeConns(t, c3, len(args)); a != b {
				t.Errorf("NDJSON records depend on the order of the captures")
			}
		})
	}
}

// normalizeReport sorts the captures list, and names each finding's
// frames by file (frame_files are positions in the captures list, and
// filter is that of the first frame's file, so both follow the order the
// files were given in; filters, by file name, do not).
func normalizeReport(t *testing.T, data []byte) string {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	caps, _ := v["captures"].([]any)
	findings, _ := v["findings"].([]any)
	for _, f := range findings {
		f := f.(map[string]any)
		files, _ := f["frame_files"].([]any)
		frames, _ := f["frames"].([]any)
		if len(files) != len(frames) {
			t.Fatalf("%d frame_files for %d frames", len(files), len(frames))
		}
		named := make([]string, len(frames))
		for i := range frames {
			named[i] = fmt.Sprintf("%v:%v", caps[int(files[i].(float64))].(map[string]any)["file"], frames[i])
		}
		sort.Strings(named)
		f["frames"] = named
		delete(f, "frame_files")
		delete(f, "filter")
	}
	sort.Slice(caps, func(i, j int) bool {
		return fmt.Sprint(caps[i].(map[string]any)["file"]) < fmt.Sprint(caps[j].(map[string]any)["file"])
	})
	out, _ := json.Marshal(v)
	return string(out)
}

// normalizeConns drops each record's file indexes (first_file, last_file:
// positions in the argument list of n captures) after checking them.
func normalizeConns(t *testing.T, data []byte, n int) string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"first_file", "last_file"} {
			if f, ok := v[k].(float64); !ok || int(f) >= n {
				t.Fatalf("%s %v out of range", k, v[k])
			}
			delete(v, k)
		}
		out, _ := json.Marshal(v)
		lines = append(lines, string(out))
	}
	return strings.Join(lines, "\n")
}
