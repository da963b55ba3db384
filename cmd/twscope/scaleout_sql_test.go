package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// duckQuery runs the SQL file of scripts/sql in DuckDB (duckDB) after
// viewing the hive-partitioned Parquet files under dir/parquet as conns,
// as README "Running it at scale" does.
func duckQuery(t *testing.T, dir string) func(file string) []map[string]any {
	t.Helper()
	duck := duckDB(t)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	view := "CREATE VIEW conns AS SELECT * FROM read_parquet('" + filepath.Join(abs, "parquet", "*", "*.parquet") + "', hive_partitioning = true); "
	return func(file string) []map[string]any {
		t.Helper()
		sql := mustRead(t, filepath.Join("../../scripts/sql", file))
		return duck(file, view+string(sql))
	}
}

// TestScaleOutSQL runs README's SQL (scripts/sql) over the Parquet files of
// four generated capture points and checks it against the merged report:
// closes per endpoint, TIME_WAIT peaks per host (summed over the capture
// points, to the microsecond), reuse inside TIME_WAIT, and where a loss
// happened between two capture points.
func TestScaleOutSQL(t *testing.T) {
	dir, names := mergePoints(t)
	query := duckQuery(t, dir)
	merged := decodeReport(t, mergeJSON(t, dir, names...))
	var full struct {
		Hosts []struct {
			IP     string `json:"ip"`
			Peak   int    `json:"time_wait_peak"`
			PeakAt string `json:"time_wait_peak_at"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "merged.json")), &full); err != nil {
		t.Fatal(err)
	}

	t.Run("closes per endpoint", func(t *testing.T) {
		rows := query("closes_per_endpoint.sql")
		if len(rows) != min(5, len(merged.Endpoints)) {
			t.Fatalf("%d rows, want %d", len(rows), min(5, len(merged.Endpoints)))
		}
		for i, r := range rows {
			e := merged.Endpoints[i]
			if got, want := fmt.Sprint(r["server"], " ", r["connections"]), fmt.Sprint(e.Server, " ", e.Connections); got != want {
				t.Errorf("row %d: SQL %s, merged report %s", i, got, want)
			}
		}
	})

	t.Run("TIME_WAIT peaks per host", func(t *testing.T) {
		rows := query("time_wait_peaks.sql")
		if len(rows) == 0 {
			t.Fatal("no TIME_WAIT in the SQL")
		}
		peaks := map[string][2]string{}
		for _, h := range full.Hosts {
			at, _ := time.Parse(time.RFC3339Nano, h.PeakAt)
			peaks[h.IP] = [2]string{fmt.Sprint(h.Peak), at.Truncate(time.Microsecond).Format("2006-01-02 15:04:05.999999")}
		}
		for _, r := range rows {
			host := fmt.Sprint(r["host"])
			got := [2]string{fmt.Sprint(r["time_wait_peak"]), strings.TrimSuffix(fmt.Sprint(r["peak_at"]), "+00")}
			if got != peaks[host] {
				t.Errorf("host %s: SQL peak %v, merged report %v", host, got, peaks[host])
			}
		}
	})

	t.Run("reuse inside TIME_WAIT", func(t *testing.T) {
		rows := query("reuse_in_time_wait.sql")
		if len(rows) != len(names) {
			t.Fatalf("%d rows, want one per capture point", len(rows))
		}
		for i, r := range rows {
			single := decodeReport(t, mustRead(t, filepath.Join(dir, names[i]+".json")))
			want := 0
			for _, c := range single.FindingCounts {
				if c.Kind == "tuple_reuse" {
					want += c.Count
				}
			}
			if got := fmt.Sprint(r["capture_point"], " ", r["inside_time_wait"]); got != fmt.Sprint(names[i], " ", want) || want == 0 {
				t.Errorf("SQL %s, tuple_reuse findings at %s: %d", got, names[i], want)
			}
		}
	})

	t.Run("loss between capture points", func(t *testing.T) {
		// cp1's traffic seen again nearer the server, where the final
		// ACKs of its lost_final_ack findings never arrived: the same
		// capture less those frames.
		var report struct {
			Findings []struct {
				Kind     string `json:"kind"`
				Conns    []int  `json:"conns"`
				Evidence struct {
					FinalAckFrame *int `json:"final_ack_frame"`
				} `json:"evidence"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "cp1.json")), &report); err != nil {
			t.Fatal(err)
		}
		drop := map[int]bool{}
		for _, f := range report.Findings {
			if f.Kind == "lost_final_ack" && f.Evidence.FinalAckFrame != nil {
				drop[*f.Evidence.FinalAckFrame] = true
			}
		}
		if len(drop) == 0 {
			t.Fatal("cp1 has no lost final ACK seen before the loss")
		}
		capture := filepath.Join(dir, "cp1-server.pcap")
		dropFrames(t, filepath.Join(dir, "cp1.pcap"), capture, drop)
		pq := filepath.Join(dir, "parquet", "capture_point=cp1-server")
		if err := os.MkdirAll(pq, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := runCLI(t, "analyze", "--quiet", "--capture-point", "cp1-server", "--parquet", filepath.Join(pq, "conns.parquet"), capture); code != 0 {
			t.Fatalf("analyze: exit %d: %s", code, stderr)
		}
		rows := query("loss_between_points.sql")
		if len(rows) != len(drop) {
			t.Fatalf("%d incarnations lost packets between the points, %d final ACKs were dropped", len(rows), len(drop))
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprint(r["seen_at"], ">", r["missing_at"], " client ", r["client_packets_missing"], " server ", r["server_packets_missing"]))
		}
		sort.Strings(got)
		for _, g := range got {
			if g != "cp1>cp1-server client 1 server 0" {
				t.Errorf("join row %q, want a client packet seen at cp1 and missing at cp1-server", g)
			}
		}
	})
}

// dropFrames copies a pcap file without the given frames (numbered from 1).
func dropFrames(t *testing.T, from, to string, drop map[int]bool) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(out)
	if r.Resolution().ToDuration() < time.Microsecond {
		w = pcapgo.NewWriterNanos(out)
	}
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if !drop[n] {
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
