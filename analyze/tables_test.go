package analyze

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// TestTablesFolded: captures with more server endpoints, addresses and
// client-server pairs than the tables keep. The first keys keep their
// rows, the rest are summed in one "other" row, and rows plus other add
// up exactly to the totals; a warning says so.
func TestTablesFolded(t *testing.T) {
	t.Run("port scan", func(t *testing.T) {
		// 2 hosts x 3000 ports: 6000 endpoints, each SYN answered by RST.
		var capture bytes.Buffer
		if err := synth.Flood(&capture, synth.FloodConfig{Kind: synth.PortScan, ScanHosts: 2, ScanPorts: 3000}); err != nil {
			t.Fatal(err)
		}
		res := twRunBytes(t, Options{}, capture.Bytes())
		if len(res.Endpoints) != MaxEndpoints || res.EndpointsOther == nil {
			t.Fatalf("%d endpoints, other %v; want %d and the rest folded", len(res.Endpoints), res.EndpointsOther, MaxEndpoints)
		}
		sum, rst := res.EndpointsOther.Connections, res.EndpointsOther.Close["rst"]
		for _, e := range res.Endpoints {
			sum += e.Connections
			rst += e.Close["rst"]
		}
		if sum != res.Totals.Connections || sum != 6000 || rst != res.Closes.ByKind["rst"] {
			t.Errorf("endpoints sum to %d connections (%d rst), totals %d (%d rst), want 6000", sum, rst, res.Totals.Connections, res.Closes.ByKind["rst"])
		}
		if !hasWarning(res, "server endpoints folded") {
			t.Errorf("no warning of the fold: %q", res.Warnings)
		}
	})
	t.Run("busy endpoints after a scan", func(t *testing.T) {
		// A scan of 3 x 4000 ports fills the table with endpoints of one
		// connection each; then the 4 endpoints of a busy service start.
		// They are folded in no fold: their rows are exact.
		dir := t.TempDir()
		var scan, service bytes.Buffer
		if err := synth.Flood(&scan, synth.FloodConfig{Kind: synth.PortScan, ScanHosts: 3, ScanPorts: 4000}); err != nil {
			t.Fatal(err)
		}
		st, err := synth.Generate(&service, synth.GenConfig{Seed: 3, Packets: 20000, Start: synth.Epoch.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
		if os.WriteFile(a, scan.Bytes(), 0o644) != nil || os.WriteFile(b, service.Bytes(), 0o644) != nil {
			t.Fatal("writing the captures")
		}
		res := twRun(t, Options{}, a, b)
		if len(res.Endpoints) != MaxEndpoints || res.EndpointsOther == nil {
			t.Fatalf("%d endpoints, other %v", len(res.Endpoints), res.EndpointsOther)
		}
		busy := 0
		for _, e := range res.Endpoints[:4] {
			if a := e.Addr.Addr(); a.Is4() && a.As4()[0] == 192 { // the service's 192.168.0.x
				busy += e.Connections
			}
		}
		if busy != st.Connections {
			t.Errorf("the busy service's 4 rows count %d connections, generated %d; rows %v", busy, st.Connections, res.Endpoints[:5])
		}
	})
	t.Run("many clients", func(t *testing.T) {
		defer func(h, p int) { maxHosts, maxPairs = h, p }(maxHosts, maxPairs)
		maxHosts, maxPairs = 500, 1000
		var capture bytes.Buffer
		if _, err := synth.Generate(&capture, synth.GenConfig{Seed: 2, Packets: 100000, Clients: 2000, Rate: 5000}); err != nil {
			t.Fatal(err)
		}
		res := twRunBytes(t, Options{}, capture.Bytes())
		if len(res.Hosts) != maxHosts || res.HostsOther == nil || res.PairsOther == nil {
			t.Fatalf("%d hosts, other %v, pairs other %v; want %d and the rest folded", len(res.Hosts), res.HostsOther, res.PairsOther, maxHosts)
		}
		// Servers are seen first and keep their rows: every connection
		// counts at its server's row and at its client's row or other.
		conns, held := res.HostsOther.Connections, res.HostsOther.TimeWaitHeld
		for _, h := range res.Hosts {
			conns += h.Connections
			held += h.TimeWaitHeld
		}
		holders := res.Closes.TimeWaitHolders
		if conns != 2*res.Totals.Connections || held != holders["client"]+holders["server"]+2*holders["both"] {
			t.Errorf("hosts sum to %d connections and %d TIME_WAITs; want %d and %v", conns, held, 2*res.Totals.Connections, holders)
		}
		if !hasWarning(res, "hosts folded") || !hasWarning(res, "pairs folded") {
			t.Errorf("no warning of the folds: %q", res.Warnings)
		}
		// The same keys fold whatever the number of workers.
		one := twRunBytes(t, Options{Tracker: reassembly.Config{Workers: 1}}, capture.Bytes())
		a, _ := json.Marshal(res)
		b, _ := json.Marshal(one)
		if !bytes.Equal(a, b) {
			t.Error("the report differs with one worker")
		}
	})
}

func hasWarning(res *Result, s string) bool {
	for _, w := range res.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}
