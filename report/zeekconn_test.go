package report

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly"
)

func TestFormatMicros(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{0, "0.000000"},
		{1_795_301_971_634_191_123, "1795301971.634191"}, // truncated, as %.6f of the microsecond time Zeek keeps
		{1_000, "0.000001"},
		{999, "0.000000"},
		{60_000_000_000, "60.000000"},
		{-1, "-0.000001"},         // floor: before 1970, the fraction stays positive
		{-1_500_000, "-0.001500"}, // exact microseconds are not moved
	}
	for _, tt := range tests {
		if got := formatMicros(tt.ns); got != tt.want {
			t.Errorf("formatMicros(%d) = %s, want %s", tt.ns, got, tt.want)
		}
	}
}

// record is a finished FIN close seen from its SYN: 2 s long, one
// previous incarnation 3 s before.
func record() *reassembly.Record {
	r := &reassembly.Record{ID: 7,
		Client: netip.MustParseAddrPort("128.232.110.120:34855"), Server: netip.MustParseAddrPort("66.35.250.204:80"),
		Start: 1_000_000_000_000_000_000, End: 1_000_000_002_000_000_000,
		Closer: reassembly.SideClient, Close: reassembly.CloseFIN, TimeWaitHolder: reassembly.SideClient,
		FinalAck: reassembly.FinalAckSeen, ZeekState: "SF", History: "ShADadFf",
		HasPrev: true, ReuseGap: 3_000_000_000,
	}
	r.C.SYN = reassembly.Event{Time: r.Start, Frame: reassembly.Frame{N: 1}}
	r.C.Bytes, r.C.Packets, r.S.Bytes, r.S.Packets = 100, 5, 2000, 4
	return r
}

// TestNewZeekConn checks Zeek's rules for what is set: duration and bytes
// only for a duration above zero, packets always, the reuse gap only after
// a previous incarnation.
func TestNewZeekConn(t *testing.T) {
	z := NewZeekConn(record())
	b, err := json.Marshal(z)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ts":1000000000.000000,"uid":"` + z.UID + `","id.orig_h":"128.232.110.120","id.orig_p":34855,"id.resp_h":"66.35.250.204","id.resp_p":80,` +
		`"proto":"tcp","duration":2.000000,"orig_bytes":100,"resp_bytes":2000,"conn_state":"SF","history":"ShADadFf","orig_pkts":5,"resp_pkts":4,` +
		`"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg=","closer":"client","close":"fin","time_wait_holder":"client","final_ack":"seen","reuse_gap":3.000000}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}

	one := record()
	one.End, one.HasPrev = one.Start, false // a single packet
	z = NewZeekConn(one)
	if z.Duration != nil || z.OrigBytes != nil || z.RespBytes != nil || z.ReuseGap != nil || z.OrigPkts == nil {
		t.Errorf("zero duration: %+v", z)
	}
	if u := ZeekUID(one); u != ZeekUID(record()) || len(u) != 18 || u[0] != 'C' {
		t.Errorf("uid %s: not stable or not of Zeek's form", u)
	}
	other := record()
	other.C.ISN++
	if ZeekUID(other) == ZeekUID(record()) {
		t.Error("two incarnations (different ISN) share a uid")
	}
}

// TestZeekConnWriterTSV checks the header, the unset and empty markers and
// the #open time written in place.
func TestZeekConnWriterTSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conn.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := NewZeekConnWriter(f, false)
	one := record()
	one.End, one.History = one.Start, ""
	if err := zw.Write(one); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(one.Start, one.Start+61e9); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 10 || lines[0] != `#separator \x09` || lines[5] != "#open\t2001-09-09-01-46-40" || lines[9] != "#close\t2001-09-09-01-47-41" {
		t.Fatalf("log:\n%s", b)
	}
	row := strings.Split(lines[8], "\t")
	if len(row) != len(ZeekConnFields) || len(zeekConnTypes) != len(ZeekConnFields) {
		t.Fatalf("%d columns, %d fields, %d types", len(row), len(ZeekConnFields), len(zeekConnTypes))
	}
	col := map[string]string{}
	for i, f := range ZeekConnFields {
		col[f] = row[i]
	}
	for f, want := range map[string]string{"duration": "-", "orig_bytes": "-", "history": "-", "orig_pkts": "5",
		"tunnel_parents": "-", "service": "-", "id.orig_p": "34855", "reuse_gap": "3.000000", "ts": "1000000000.000000"} {
		if col[f] != want {
			t.Errorf("%s = %q, want %q", f, col[f], want)
		}
	}
	if zeekSet([]string{}) != "(empty)" || zeekSet([]string{"a", "b"}) != "a,b" {
		t.Error("set[string]: empty or list written wrong")
	}
}
