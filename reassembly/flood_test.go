package reassembly

import (
	"io"
	"runtime"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// floodHeapCap is the most live heap the tracker may hold under a flood
// with the default bounds. Run's tracker is sharded (shard.go): its
// partitions each grow their own tables, and hold the bounds together
// only at each epoch's end, which costs some 30 MB over one tracker.
const floodHeapCap = 185 << 20

// TestTrackerSYNFloodMemory runs a SYN flood from random addresses and a
// port scan answered by RSTs, over a million random four-tuples each,
// through the whole reading pipeline (generated on the fly, nothing on
// disk), and checks that the live heap stays under floodHeapCap and that
// every half-open incarnation past the bound was evicted and counted.
func TestTrackerSYNFloodMemory(t *testing.T) {
	tests := []struct {
		name string
		kind synth.FloodKind
		n    int // SYNs
	}{
		{"syn-flood", synth.SYNFlood, 1_000_000},
		{"port-scan", synth.PortScan, 500_000}, // and as many RSTs
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			if testing.Short() {
				n /= 8
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(synth.Flood(pw, synth.FloodConfig{Kind: tt.kind, Packets: n, Seed: 1})) }()
			src, err := Open([]string{"-"}, pr)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			var peak uint64
			records, flagged := 0, 0
			sample := func() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > base {
					peak = max(peak, ms.HeapAlloc-base)
				}
			}
			_, st, err := Run(src, Config{}, func(r *Record) {
				records++
				if r.HalfOpenEvicted {
					flagged++
				}
				if records%100_000 == 0 {
					sample()
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d SYNs: peak live heap %.1f MB, %d half-open evicted, %d tuples and %d clocks forgotten",
				n, float64(peak)/(1<<20), st.HalfOpenEvicted, st.TuplesForgotten, st.ClocksForgotten)
			if peak > floodHeapCap {
				t.Errorf("peak live heap %d MB, cap %d MB", peak>>20, floodHeapCap>>20)
			}
			// A scan may hit a four-tuple twice: its second SYN then
			// finishes the first incarnation, which is not evicted.
			if want := n - defaultMaxHalfOpen; st.HalfOpenEvicted > want || st.HalfOpenEvicted < want-n/1000 || flagged != st.HalfOpenEvicted {
				t.Errorf("%d half-open evicted (%d records flagged), want %d", st.HalfOpenEvicted, flagged, want)
			}
			if records != n || st.Connections != n {
				t.Errorf("%d records, %d connections, want %d", records, st.Connections, n)
			}
		})
	}
}
