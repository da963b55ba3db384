package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// Damaged copies of corpus captures, analyzed through the command line:
// each must give the results of the part before the damage, exit 0 when
// only the tail is lost, exit 2 when the file is not a capture at all, and
// name the file, frame and byte offset of the damage.

const (
	damagedPcap   = "../../testdata/corpus/lab/lost_final_ack.pcap"
	damagedPcapng = "../../reassembly/testdata/zeek_tcp-http-on-irc-port-missing-syn.pcapng"
)

// records returns the byte offset of every record of a capture: the
// 16-byte record headers of a little-endian pcap, or the blocks of a
// little-endian pcapng (packet blocks only when packetsOnly).
func records(t *testing.T, b []byte, packetsOnly bool) []int {
	t.Helper()
	le := binary.LittleEndian
	var offs []int
	if le.Uint32(b) == 0x0A0D0D0A {
		for off := 0; off+8 <= len(b); off += int(le.Uint32(b[off+4:])) {
			if typ := le.Uint32(b[off:]); !packetsOnly || typ == 6 || typ == 3 {
				offs = append(offs, off)
			}
		}
		return offs
	}
	for off := 24; off+16 <= len(b); off += 16 + int(le.Uint32(b[off+8:])) {
		offs = append(offs, off)
	}
	return offs
}

// outcome is what one run of analyze produced.
type outcome struct {
	code   int
	stderr string
	conns  string // the --conns NDJSON
	report struct {
		Totals   map[string]int `json:"totals"`
		Findings []struct {
			Kind     string         `json:"kind"`
			Frames   []int          `json:"frames"`
			Evidence map[string]any `json:"evidence"`
		} `json:"findings"`
		Warnings []string `json:"warnings"`
		// NATTimestamps is the per-connection-offsets summary.
		NATTimestamps *struct {
			Addresses int `json:"addresses"`
		} `json:"nat_timestamps"`
	}
}

func analyzeOutcome(t *testing.T, path string) outcome {
	t.Helper()
	dir := t.TempDir()
	connsPath, jsonPath := filepath.Join(dir, "c.ndjson"), filepath.Join(dir, "r.json")
	_, stderr, code := runCLI(t, "analyze", "--conns", connsPath, "--json", jsonPath, path)
	o := outcome{code: code, stderr: stderr}
	if b, err := os.ReadFile(connsPath); err == nil {
		o.conns = string(b)
	}
	if b, err := os.ReadFile(jsonPath); err == nil {
		if err := json.Unmarshal(b, &o.report); err != nil {
			t.Fatalf("report: %v", err)
		}
	}
	return o
}

// closeFacts lists how each connection closed, from --conns NDJSON.
func closeFacts(t *testing.T, ndjson string) string {
	t.Helper()
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(ndjson), "\n") {
		// Not the Zeek history: its letters follow the packets' order.
		var c struct {
			Client, Closer, Close string
			FinalAck              string `json:"final_ack"`
			ZeekState             string `json:"zeek_state"`
			TimeWaitHolder        string `json:"time_wait_holder"`
			FinRetransmits        int    `json:"fin_retransmits"`
			Packets               int
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		fmt.Fprintf(&out, "%+v\n", c)
	}
	return out.String()
}

func findingKinds(o outcome) string {
	var kinds []string
	for _, f := range o.report.Findings {
		kinds = append(kinds, f.Kind)
	}
	return strings.Join(kinds, " ")
}

func put32(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// insert puts extra at off.
func insert(b []byte, off int, extra []byte) []byte {
	return append(append(bytes.Clone(b[:off]), extra...), b[off:]...)
}

func TestDamagedCaptures(t *testing.T) {
	pcap, err := os.ReadFile(damagedPcap)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := os.ReadFile(damagedPcapng)
	if err != nil {
		t.Fatal(err)
	}
	recs, ngPkts, ngBlocks := records(t, pcap, false), records(t, ng, true), records(t, ng, false)
	le := binary.LittleEndian
	const k = 57 // the damaged record's index: frame k+1, mid-way through a connection
	off, ngOff := recs[k], ngPkts[6]
	recLen := 16 + int(le.Uint32(pcap[off+8:]))

	// Record k+1 a microsecond before record k (time going backwards),
	// and one moved an hour back (a clock step).
	prev := recs[k-1]
	backward := put32(pcap, off, le.Uint32(pcap[prev:]))
	if us := le.Uint32(pcap[prev+4:]); us > 0 {
		backward = put32(backward, off+4, us-1)
	} else {
		backward = put32(put32(backward, off, le.Uint32(pcap[prev:])-1), off+4, 999_999)
	}
	// A well-formed record with no bytes, and one larger than the snaplen
	// (128) with its bytes present.
	zeroRec := make([]byte, 16)
	copy(zeroRec, pcap[off:off+8])
	bigRec := bytes.Clone(pcap[off : off+16])
	binary.LittleEndian.PutUint32(bigRec[8:], 200)
	binary.LittleEndian.PutUint32(bigRec[12:], 200)
	bigRec = append(bigRec, make([]byte, 200)...)
	// A record of 300,000 bytes, over the 256 KiB any libpcap writes and
	// over the snaplen, its lengths agreeing: skipped unread.
	hugeRec := bytes.Clone(pcap[off : off+16])
	binary.LittleEndian.PutUint32(hugeRec[8:], 300_000)
	binary.LittleEndian.PutUint32(hugeRec[12:], 300_000)
	hugeRec = append(hugeRec, make([]byte, 300_000)...)
	// A pcapng block of a type nobody knows, with a proper length.
	unknownBlock := []byte{0xAD, 0x0B, 0, 0, 16, 0, 0, 0, 1, 2, 3, 4, 16, 0, 0, 0}
	flipped := bytes.Clone(pcap)
	flipped[off+16+14] ^= 0xff // the IPv4 version/IHL byte of the frame
	gzCut := gz(t, pcap)
	gzCut = gzCut[:len(gzCut)*2/3]

	type want struct {
		code   int
		prefix int    // results equal those of the file cut before this byte (0: the whole file's)
		frame  int    // the message names this frame (0: no frame)
		offset int    // and this byte offset (-1: none)
		text   string // and says this
	}
	tests := []struct {
		name string
		file []byte
		want want
	}{
		// Cut at every kind of boundary.
		{"cut-in-file-header", pcap[:20], want{2, 0, 0, 0, "bad pcap file header"}},
		{"cut-at-file-header", pcap[:24], want{0, 24, 0, -1, ""}},
		{"cut-at-record-boundary", pcap[:off], want{0, off, 0, -1, ""}},
		{"cut-in-record-header", pcap[:off+9], want{0, off, k + 1, off, "capture cut short"}},
		{"cut-in-record-data", pcap[:off+recLen-3], want{0, off, k + 1, off, "capture cut short"}},
		// Bytes flipped in headers and records.
		{"flipped-magic", put32(pcap, 0, 0xdeadbeef), want{2, 0, 0, 0, "not a pcap or pcapng file"}},
		{"flipped-link-type", put32(pcap, 20, 0x93), want{2, 0, 0, -1, "unsupported link type"}},
		{"flipped-record-length", put32(pcap, off+8, le.Uint32(pcap[off+8:])|0x00ff0000), want{0, off, k + 1, off, "impossible record length"}},
		{"flipped-ip-header", flipped, want{0, -2, 0, -1, ""}},
		// Lengths larger than the file or the snaplen.
		{"length-past-end-of-file", put32(pcap, off+8, uint32(len(pcap))), want{0, off, k + 1, off, "impossible record length"}},
		{"length-over-snaplen", insert(pcap, off, bigRec), want{0, off, k + 1, off, "snap length"}},
		{"zero-length-record", insert(pcap, off, zeroRec), want{0, -2, 0, -1, ""}},
		// Records read on past: a huge one skipped, one whose captured
		// length exceeds its original length read as captured.
		{"record-over-256KiB", insert(pcap, off, hugeRec), want{0, -4, k + 1, off, "a record of 300000 bytes, over 262144: skipped"}},
		{"caplen-over-wire-length", put32(pcap, off+12, le.Uint32(pcap[off+8:])-10), want{0, -4, k + 1, off, "read as captured"}},
		// Time going backwards.
		{"time-backwards", backward, want{0, -4, 0, -1, ""}},
		{"time-1h-back", put32(pcap, off, le.Uint32(pcap[off:])-3600), want{0, -4, 0, -1, ""}},
		// gzip cut short.
		{"gzip-cut", gzCut, want{0, -3, 0, -1, "gzip stream ends early"}},
		// pcapng: an unknown block, a cut, a zero block length, a capture
		// length over the block's.
		{"pcapng-cut-in-section-header", ng[:20], want{2, 0, 0, 0, "bad pcapng section header"}},
		{"pcapng-cut-at-section-header", ng[:ngBlocks[1]], want{0, ngBlocks[1], 0, -1, ""}},
		{"pcapng-cut-in-interface-block", ng[:ngBlocks[1]+6], want{0, ngBlocks[1], 1, ngBlocks[1], "capture cut short"}},
		{"pcapng-cut-at-interface-block", ng[:ngBlocks[2]], want{0, ngBlocks[2], 0, -1, ""}},
		{"pcapng-cut-at-packet-block", ng[:ngOff], want{0, ngOff, 0, -1, ""}},
		{"pcapng-unknown-block", insert(ng, ngBlocks[2], unknownBlock), want{0, -1, 0, -1, ""}},
		{"pcapng-cut-in-block", ng[:ngOff+50], want{0, ngOff, 7, ngOff, "capture cut short"}},
		{"pcapng-zero-block-length", put32(ng, ngOff+4, 0), want{0, ngOff, 7, ngOff, "length 0"}},
		{"pcapng-caplen-over-block", put32(ng, ngOff+20, 5000), want{0, ngOff, 7, ngOff, "5000 captured bytes"}},
		{"not-a-capture", []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"), want{2, 0, 0, 0, "not a pcap or pcapng file"}},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := pcap
			if strings.HasPrefix(tt.name, "pcapng") {
				orig = ng
			}
			path := filepath.Join(dir, tt.name+".pcap")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			got := analyzeOutcome(t, path)
			w := tt.want
			if got.code != w.code {
				t.Fatalf("exit %d, want %d\n%s", got.code, w.code, got.stderr)
			}
			msg := got.stderr
			if w.text != "" {
				if !strings.Contains(msg, w.text) || !strings.Contains(msg, path) {
					t.Errorf("message %q does not name %s and say %q", msg, path, w.text)
				}
			} else if msg != "" {
				t.Errorf("unexpected message %q", msg)
			}
			if w.frame > 0 && !strings.Contains(msg, fmt.Sprintf("frame %d", w.frame)) {
				t.Errorf("message %q does not name frame %d", msg, w.frame)
			}
			if w.offset >= 0 && w.text != "" && !strings.Contains(msg, fmt.Sprintf("offset %d", w.offset)) {
				t.Errorf("message %q does not name offset %d", msg, w.offset)
			}
			if w.code != 0 {
				return
			}
			if w.text != "" && len(got.report.Warnings) != 1 {
				t.Errorf("report warnings %q, want the damage", got.report.Warnings)
			}
			// The results before the damage.
			switch {
			case w.prefix > 0 || w.prefix == -1:
				ref := orig
				if w.prefix > 0 {
					ref = orig[:w.prefix]
				}
				refPath := filepath.Join(t.TempDir(), "ref.pcap")
				if err := os.WriteFile(refPath, ref, 0o644); err != nil {
					t.Fatal(err)
				}
				want := analyzeOutcome(t, refPath)
				if got.conns != want.conns {
					t.Errorf("connection records differ from the undamaged part's:\n got %s\nwant %s", got.conns, want.conns)
				}
				if fmt.Sprint(got.report.Findings) != fmt.Sprint(want.report.Findings) {
					t.Errorf("findings %v, want %v", got.report.Findings, want.report.Findings)
				}
			case w.prefix == -2: // the connections survive, some facts may not
				want := analyzeOutcome(t, damagedPcap)
				if got.report.Totals["connections"] != want.report.Totals["connections"] {
					t.Errorf("%d connections, want %d", got.report.Totals["connections"], want.report.Totals["connections"])
				}
			case w.prefix == -4: // the same closes and findings, times aside
				want := analyzeOutcome(t, damagedPcap)
				if g, w := closeFacts(t, got.conns), closeFacts(t, want.conns); g != w {
					t.Errorf("closes\n%s\nwant\n%s", g, w)
				}
				if g, w := findingKinds(got), findingKinds(want); g != w {
					t.Errorf("findings %s, want %s", g, w)
				}
			case w.prefix == -3: // a gzip cut: frame and offset of the record cut
				if !strings.Contains(msg, "frame ") || !strings.Contains(msg, "offset ") {
					t.Errorf("message %q lacks frame and offset", msg)
				}
				if n := got.report.Totals["packets"]; n == 0 || n >= len(recs) {
					t.Errorf("%d packets read of %d", n, len(recs))
				}
			}
			if tt.name == "zero-length-record" && got.report.Totals["truncated_packets"] != 1 {
				t.Errorf("totals %v, want one truncated packet", got.report.Totals)
			}
		})
	}
}

// snap54 rewrites a little-endian pcap as tcpdump -s 54 would have taken
// it: every record cut to 54 bytes (Ethernet, IPv4 and the 20 fixed TCP
// bytes, no options), the original length kept.
func snap54(t *testing.T, b []byte) []byte {
	t.Helper()
	le := binary.LittleEndian
	out := put32(b[:24], 16, 54)
	for _, off := range records(t, b, false) {
		n := int(le.Uint32(b[off+8:]))
		h := bytes.Clone(b[off : off+16])
		c := min(n, 54)
		le.PutUint32(h[8:], uint32(c))
		out = append(append(out, h...), b[off+16:off+16+c]...)
	}
	return out
}

// TestSnaplen54 analyzes lab captures rewritten with a 54-byte snaplen:
// whether timestamps were sent is then unknown, and must be reported so
// (null, "unknown"), never as "no"; nothing that needs them may be found.
// With them, both captures' clients (Linux 6.x, per-connection offsets)
// have SYNs behind their latest TSval: counted in the summary, no finding.
func TestSnaplen54(t *testing.T) {
	for _, name := range []string{"nat_timestamps", "fast_port_reuse_tw_reuse"} {
		t.Run(name, func(t *testing.T) {
			full, err := os.ReadFile("../../testdata/corpus/lab/" + name + ".pcap")
			if err != nil {
				t.Fatal(err)
			}
			ref := analyzeOutcome(t, "../../testdata/corpus/lab/"+name+".pcap")
			path := filepath.Join(t.TempDir(), name+".s54.pcap")
			if err := os.WriteFile(path, snap54(t, full), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				path    string
				cut     bool
				wantTS  string
				wantNAT bool
			}{
				{"../../testdata/corpus/lab/" + name + ".pcap", false, "yes", true},
				{path, true, "unknown", false},
			} {
				o := analyzeOutcome(t, tt.path)
				if o.code != 0 || o.stderr != "" {
					t.Fatalf("%s: exit %d: %s", tt.path, o.code, o.stderr)
				}
				if o.report.Totals["connections"] != ref.report.Totals["connections"] || o.report.Totals["truncated_packets"] != 0 {
					t.Errorf("%s: totals %v", tt.path, o.report.Totals)
				}
				for _, line := range strings.Split(strings.TrimSpace(o.conns), "\n") {
					var c struct {
						ID                     int
						ClientSide, ServerSide struct {
							TSvalFirst *uint32 `json:"tsval_first"`
							Timestamps string
						}
					}
					c.ClientSide.Timestamps, c.ServerSide.Timestamps = "missing", "missing"
					json.Unmarshal([]byte(strings.NewReplacer(`"client_side"`, `"ClientSide"`, `"server_side"`, `"ServerSide"`).Replace(line)), &c)
					for _, s := range []string{c.ClientSide.Timestamps, c.ServerSide.Timestamps} {
						if s != tt.wantTS {
							t.Errorf("%s: conn %d: timestamps %q, want %q", tt.path, c.ID, s, tt.wantTS)
						}
					}
					if tt.cut && (c.ClientSide.TSvalFirst != nil || c.ServerSide.TSvalFirst != nil) {
						t.Errorf("%s: conn %d: a TSval from a cut header", tt.path, c.ID)
					}
				}
				for _, f := range o.report.Findings {
					if f.Kind == "nat_ts_regression" {
						t.Errorf("%s: nat_ts_regression found: per-connection offsets are no finding", tt.path)
					}
				}
				if nat := o.report.NATTimestamps != nil && o.report.NATTimestamps.Addresses > 0; nat != tt.wantNAT {
					t.Errorf("%s: timestamps summary %v, want %v", tt.path, nat, tt.wantNAT)
				}
				for _, f := range o.report.Findings {
					if f.Kind != "tuple_reuse" {
						continue
					}
					if v, ok := f.Evidence["timestamps"]; !ok || (v == nil) != tt.cut {
						t.Errorf("%s: tuple_reuse evidence timestamps = %v, want null only when cut", tt.path, v)
					}
				}
			}
		})
	}
}

// TestSYNFloodReport checks that the report says how many half-open
// connections a SYN flood made the tracker evict, in the text, the JSON
// totals and a warning.
func TestSYNFloodReport(t *testing.T) {
	const syns = 40000
	var capture bytes.Buffer
	if err := synth.Flood(&capture, synth.FloodConfig{Kind: synth.SYNFlood, Packets: syns, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	jsonPath := filepath.Join(t.TempDir(), "r.json")
	var out, errb bytes.Buffer
	if code := execute([]string{"analyze", "--json", jsonPath, "-"}, &capture, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	evicted := syns - 32768 // the default bound
	line := fmt.Sprintf("%d half-open connections evicted (SYN flood or scan?)", evicted)
	if !strings.Contains(out.String(), line) || !strings.Contains(errb.String(), "warning: "+line) {
		t.Errorf("stdout and stderr lack %q:\n%s\n%s", line, out.String(), errb.String())
	}
	var o outcome
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &o.report); err != nil {
		t.Fatal(err)
	}
	if got := o.report.Totals["half_open_evicted"]; got != evicted || o.report.Totals["connections"] != syns {
		t.Errorf("totals %v, want %d half-open evicted", o.report.Totals, evicted)
	}
}

// TestTwoCapturePoints analyzes the client's and the server's capture of
// the same connections together: every packet that crossed both points is
// in both files, and must count once (no doubled FIN retransmissions).
func TestTwoCapturePoints(t *testing.T) {
	server, client := "../../testdata/corpus/lab/lost_final_ack.pcap", "../../testdata/corpus/lab/lost_final_ack.c1-eth0.pcap"
	one := analyzeOutcome(t, client)
	dir := t.TempDir()
	connsPath, jsonPath := filepath.Join(dir, "c.ndjson"), filepath.Join(dir, "r.json")
	if _, stderr, code := runCLI(t, "analyze", "--conns", connsPath, "--json", jsonPath, server, client); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var both outcome
	b, _ := os.ReadFile(connsPath)
	both.conns = string(b)
	b, _ = os.ReadFile(jsonPath)
	if err := json.Unmarshal(b, &both.report); err != nil {
		t.Fatal(err)
	}
	if g, w := closeFacts(t, both.conns), closeFacts(t, one.conns); g != w {
		t.Errorf("closes from both points\n%s\nwant\n%s", g, w)
	}
	if g, w := findingKinds(both), findingKinds(one); g != w {
		t.Errorf("findings %s, want %s", g, w)
	}
	if n := both.report.Totals["duplicate_packets"]; n < 100 {
		t.Errorf("%d duplicate packets, want the ~110 seen at both points", n)
	}
}
