package reassembly

import (
	"net/netip"
	"runtime"
	"testing"
)

// frozenConns feeds n connections, each opened, used and closed (FINs both
// ways, or a RST), to tr one after another; clock gives each segment's time.
// It returns the most incarnations held at once.
func frozenConns(tr *Tracker, n int, rst bool, clock func(seg int) int64) int {
	srv := netip.AddrFrom4([4]byte{10, 0, 0, 2})
	peak, k := 0, 0
	for i := range n {
		cli := netip.AddrFrom4([4]byte{10, 1, byte(i >> 16), byte(i >> 8)})
		cport := uint16(1024 + i&0xff)
		send := func(fromClient bool, seq, ack uint32, flags uint8) {
			seg := Segment{Frame: k + 1, Time: clock(k), SrcPort: cport, DstPort: 80,
				Seq: seq, Ack: ack, Flags: flags, Window: 1000, IPID: uint16(k), OptionsKnown: true}
			seg.SetAddrs(cli, srv)
			if !fromClient {
				seg.SrcPort, seg.DstPort = 80, cport
				seg.SetAddrs(srv, cli)
			}
			k++
			tr.Feed(&seg)
		}
		send(true, 100, 0, FlagSYN)
		send(false, 500, 101, FlagSYN|FlagACK)
		send(true, 101, 501, FlagACK)
		if rst {
			send(true, 101, 501, FlagRST|FlagACK)
		} else {
			send(true, 101, 501, FlagFIN|FlagACK)
			send(false, 501, 102, FlagACK)
			send(false, 501, 102, FlagFIN|FlagACK)
			send(true, 102, 502, FlagACK)
		}
		peak = max(peak, tr.Live())
	}
	return peak
}

// TestTrackerFrozenClock checks that connections whose clock stands still
// (every packet at one time, or the zero time of pcapng simple packet
// blocks) are still closed out once they lingered lingerPackets segments,
// so that the tracker holds a bounded number of them; and that with a
// moving clock the time bound still decides first.
func TestTrackerFrozenClock(t *testing.T) {
	const n = 200_000
	tests := []struct {
		name    string
		rst     bool
		segs    int // per connection
		clock   func(int) int64
		maxLive int
	}{
		{"one-timestamp-fin", false, 7, func(int) int64 { return 1.7e18 }, (lingerPackets+lingerSweepEvery)/7 + 2},
		{"one-timestamp-rst", true, 4, func(int) int64 { return 1.7e18 }, (lingerPackets+lingerSweepEvery)/4 + 2},
		{"simple-packet-blocks", false, 7, func(int) int64 { return simpleTime }, (lingerPackets+lingerSweepEvery)/7 + 2},
		// 10 µs a segment: 20 s of linger are 2 million segments, so the
		// segment bound closes them out first, never later.
		{"moving-clock", false, 7, func(k int) int64 { return 1.7e18 + int64(k)*10e3 }, (lingerPackets+lingerSweepEvery)/7 + 2},
		// 1 ms a segment: the 20 s linger is 20,000 segments.
		{"slow-clock", false, 7, func(k int) int64 { return 1.7e18 + int64(k)*1e6 }, 20_000/7 + 1000/7 + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emitted, closed := 0, 0
			tr := NewTracker(Config{}, func(r *Record) {
				emitted++
				if want := map[bool]CloseKind{false: CloseFIN, true: CloseRST}[tt.rst]; r.Close == want && !r.Evicted {
					closed++
				}
			})
			peak := frozenConns(tr, n, tt.rst, tt.clock)
			before := emitted
			tr.Flush()
			if peak > tt.maxLive {
				t.Errorf("held %d incarnations at once, want at most %d", peak, tt.maxLive)
			}
			if before < n-tt.maxLive {
				t.Errorf("%d of %d records out before the end", before, n)
			}
			if emitted != n || closed != n {
				t.Errorf("%d records, %d closed, want %d", emitted, closed, n)
			}
		})
	}
}

// BenchmarkFrozenClockHeap runs 300,000 connections at one timestamp (the
// shape of issue 12) and reports the tracker's peak live heap.
func BenchmarkFrozenClockHeap(b *testing.B) {
	for range b.N {
		tr := NewTracker(Config{}, func(*Record) {})
		peak := heapPeak(func(sample func()) {
			frozenConns(tr, 300_000, false, func(k int) int64 {
				if k%100_000 == 0 {
					sample()
				}
				return 1.7e18
			})
		})
		tr.Flush()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	}
}

// heapPeak runs f, which calls sample now and then, and returns the most
// live heap above what was live before.
func heapPeak(f func(sample func())) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	f(func() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > base {
			peak = max(peak, ms.HeapAlloc-base)
		}
	})
	return peak
}
