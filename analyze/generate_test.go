package analyze

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// TestGeneratedGroundTruth analyzes captures from the benchmark
// generator, the default shape and every traffic mix of scripts/bench
// (synth.TrafficMixes, but the scan, which has no ground truth), and checks
// every count against the generator's own truth.
func TestGeneratedGroundTruth(t *testing.T) {
	cases := []struct {
		name string
		cfg  synth.GenConfig
		nat  bool // clients behind NAT with one clock per host: a NAT finding
	}{{name: "default", cfg: synth.GenConfig{Seed: 7, Packets: 60000, Clients: 300}, nat: true}}
	for _, m := range synth.TrafficMixes() {
		if m.Flood == nil {
			cfg := m.Gen
			cfg.Seed, cfg.Packets = 7, 40000
			// Hosts behind the NAT addresses with a clock per address
			// pair are several clocks: enough of their SYNs show it.
			nat := cfg.NATClients >= 0 && cfg.TS.Offsets != "conn"
			if nat {
				cfg.Packets = 150000
			}
			cases = append(cases, struct {
				name string
				cfg  synth.GenConfig
				nat  bool
			}{name: m.Name, cfg: cfg, nat: nat})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGroundTruth(t, c.cfg, c.nat) })
	}
}

func checkGroundTruth(t *testing.T, cfg synth.GenConfig, nat bool) {
	var buf bytes.Buffer
	st, err := synth.Generate(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != st.Bytes {
		t.Fatalf("stats say %d bytes, wrote %d", st.Bytes, buf.Len())
	}
	var again bytes.Buffer
	if _, err := synth.Generate(&again, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("the same config gave different bytes")
	}

	res := twRunBytes(t, Options{}, buf.Bytes())
	kinds := map[string]int{}
	for _, f := range res.Findings {
		kinds[f.Kind]++
	}
	for k, n := range res.FindingsOmitted {
		kinds[k] += n
	}
	c := res.Closes
	for _, x := range []struct {
		what      string
		got, want int
	}{
		{"packets", res.Totals.Packets, st.Packets},
		{"connections", res.Totals.Connections, st.Connections},
		{"partial", res.Totals.Partial, 0},
		{"fin closes", c.ByKind["fin"], st.FIN},
		{"simultaneous", c.ByKind["simultaneous"], st.Simultaneous},
		{"rst closes", c.ByKind["rst"], st.RST},
		{"half closes", c.ByKind["half"], st.Half},
		{"open", c.ByKind["open"], 0},
		{"client closers", c.ByCloser["client"], st.ClientCloser},
		{"server closers", c.ByCloser["server"], st.ServerCloser},
		{"lost final ACKs", c.FinalAck["lost"], st.LostFinalAck},
		{"lost_final_ack findings", kinds[KindLostFinalAck], st.LostFinalAck - st.FinalAckRST},
		{"final_ack_rst findings", kinds[KindFinalAckRST], st.FinalAckRST},
		{"tuple_reuse findings", kinds[KindTupleReuse], st.Reuses},
	} {
		if x.got != x.want {
			t.Errorf("%s: twscope %d, generator %d", x.what, x.got, x.want)
		}
	}
	if nat && kinds[KindNATTSRegression] == 0 {
		t.Error("no nat_ts_regression for the clients behind NAT")
	}
	if !nat && kinds[KindNATTSRegression] != 0 {
		t.Errorf("%d nat_ts_regression findings where no address shows several clocks", kinds[KindNATTSRegression])
	}
	if st.Half > 0 && kinds[KindCloseWait] == 0 {
		t.Error("no close_wait for the half-closed connections")
	}
}

// TestWorkersSameOutput checks that the pipelined run (reader, tracker
// and detectors on their own goroutines) gives the very same report as
// one goroutine, whatever the number of workers.
func TestWorkersSameOutput(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 11, Packets: 150000, Clients: 50}); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, workers := range []int{1, 2, 3, 4, 8} {
		src, err := reassembly.Open([]string{"-"}, bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		var ids []int
		opts := Options{Profile: Profiles["linux"]}
		opts.Tracker.Workers = workers
		res, err := Run(src, opts, func(r *reassembly.Record) { ids = append(ids, r.ID) })
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(struct {
			R   *Result
			IDs []int
		}{res, ids})
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
		} else if !bytes.Equal(got, want) {
			t.Errorf("workers=%d: the report differs from workers=1", workers)
		}
	}
}
