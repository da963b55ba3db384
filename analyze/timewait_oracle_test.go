package analyze

import (
	"bytes"
	"reflect"
	"sort"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// The exact TIME_WAIT sweep, the oracle of the streamed occupancy
// (twstream.go): keep every interval to the end, then sweep each host's
// and each port pressure group's in time order.

// oracleTimeWait is the result of the exact sweep over a timeWait that
// observed every record and was never settled, its series counted from
// start (the streamed result's SeriesStart).
func oracleTimeWait(d *timeWait, start Time) *Result {
	res := &Result{SeriesStart: start}
	d.base = seriesBase(res, d.first)
	d.seriesEnd = d.last
	for _, iv := range d.intervals {
		d.seriesEnd = max(d.seriesEnd, iv.end)
	}
	byHost := make([][]int32, len(d.hostList))
	byGroup := make([][]int32, len(d.groupList))
	for i, iv := range d.intervals {
		byHost[iv.host] = append(byHost[iv.host], int32(i))
		if iv.group >= 0 {
			byGroup[iv.group] = append(byGroup[iv.group], int32(i))
		}
	}
	peaks := make([]hostPeak, 0, d.hosts.len())
	for i := range d.hostList {
		h := &d.hostList[i]
		if h.index == d.otherHost {
			continue
		}
		n, at := oraclePeak(d.oracleSweep(byHost[h.index]))
		peaks = append(peaks, hostPeak{h, n, at})
	}
	d.reportHosts(res, peaks, func(h *hostAcc) []TimeWaitPoint { return d.oracleSeries(d.oracleSweep(byHost[h.index])) })

	// Port pressure: put the sweep's peak, sockets and series where
	// pressure reads them.
	d.stream.groups = make([]twAcc, len(d.groupList))
	for i := range d.groupList {
		g := &d.groupList[i]
		ivs := byGroup[g.index]
		ev := d.oracleSweep(ivs)
		a := &d.stream.groups[g.index]
		a.peak, a.at = oraclePeak(ev)
		for _, i := range ivs {
			if iv := d.intervals[i]; iv.start <= a.at && a.at < iv.end && len(a.listed) < maxListed {
				a.listed = append(a.listed, twHeld{conn: iv.conn, frame: iv.frame, file: iv.file, port: iv.port})
			}
		}
		for _, e := range ev {
			a.cur += int(e.delta)
			a.series.add(e.t, a.cur)
		}
		if f, ok := d.pressure(g); ok {
			res.Findings = append(res.Findings, f)
		}
	}
	sortFindings(res.Findings)
	return res
}

// oracleSweep orders the events of the given intervals, leaving before
// entering at the same instant ([start, end) intervals).
// twEvent is a socket entering (+1) or leaving (-1) TIME_WAIT.
type twEvent struct {
	t     int64
	iv    int32
	delta int32
}

func (d *timeWait) oracleSweep(ivs []int32) []twEvent {
	ev := make([]twEvent, 0, 2*len(ivs))
	for _, i := range ivs {
		iv := d.intervals[i]
		if iv.end <= iv.start {
			continue
		}
		ev = append(ev, twEvent{iv.start, i, 1}, twEvent{iv.end, i, -1})
	}
	sort.Slice(ev, func(a, b int) bool {
		if ev[a].t != ev[b].t {
			return ev[a].t < ev[b].t
		}
		return ev[a].delta < ev[b].delta
	})
	return ev
}

// oraclePeak returns the most sockets held at once and the first time it
// held that many.
func oraclePeak(ev []twEvent) (n int, at int64) {
	cur := 0
	for _, e := range ev {
		cur += int(e.delta)
		if cur > n {
			n, at = cur, e.t
		}
	}
	return n, at
}

// oracleSeries turns events into step points, keeping the highest count
// of each time bin so that the peak survives the downsampling.
func (d *timeWait) oracleSeries(ev []twEvent) []TimeWaitPoint {
	span := max(d.seriesEnd-d.first, 1)
	var pts []TimeWaitPoint
	cur, bin := 0, int64(-1)
	for _, e := range ev {
		cur += int(e.delta)
		b := (e.t - d.first) * seriesPoints / (span + 1)
		if b != bin || len(pts) == 0 {
			bin = b
			t := e.t
			if len(ev) > seriesPoints {
				t = d.first + b*(span+1)/seriesPoints
			}
			pts = append(pts, TimeWaitPoint{T: Seconds(t - d.base), N: cur})
			continue
		}
		if len(ev) <= seriesPoints {
			pts = append(pts, TimeWaitPoint{T: Seconds(e.t - d.base), N: cur})
		} else if cur > pts[len(pts)-1].N {
			pts[len(pts)-1].N = cur
		}
	}
	return pts
}

// TestTimeWaitOracle checks the streamed occupancy against the exact
// sweep: the same hosts, peaks, series and port pressure findings, on
// lab captures and on a generated one of 400k packets (settled many times
// over). With the series binned (past twExactLimit intervals) everything
// but the series points must still agree.
func TestTimeWaitOracle(t *testing.T) {
	var gen bytes.Buffer
	mix := synth.DefaultMix
	mix.Reuse = 0 // a reuse's second SYN comes seconds later and would stretch the rate's span
	if _, err := synth.Generate(&gen, synth.GenConfig{Seed: 3, Packets: 400000, Rate: 3000, Clients: 3, Servers: 1, Mix: &mix}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		file   string // or the generated capture
		opts   Options
		limit  int
		binned bool
	}{
		{"lab port pressure", lab("fast_port_reuse_tw_reuse.pcap"), Options{PortRange: [2]int{40000, 40001}}, twExactLimit, false},
		{"lab server close", lab("server_close_first.pcap"), Options{}, twExactLimit, false},
		{"lab lost final ACK", lab("lost_final_ack.pcap"), Options{}, twExactLimit, false},
		{"generated, steps", "", Options{}, 1 << 30, false},
		{"generated, binned", "", Options{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(old int) { twExactLimit = old }(twExactLimit)
			twExactLimit = tt.limit
			opts := tt.opts
			if opts.Profile.TimeWait == 0 {
				opts.Profile = Profiles["linux"]
			}
			oracle := newTimeWait(opts)
			var got *Result
			if tt.file == "" {
				got = twAnalyze(t, opts, oracle.observe, []string{"-"}, bytes.NewReader(gen.Bytes()))
			} else {
				got = twAnalyze(t, opts, oracle.observe, []string{tt.file}, nil)
			}
			want := oracleTimeWait(oracle, got.SeriesStart)
			if len(want.Hosts) == 0 || len(want.TimeWait) == 0 {
				t.Fatal("no TIME_WAIT in the test capture")
			}
			if !reflect.DeepEqual(got.Hosts, want.Hosts) {
				t.Errorf("hosts differ:\nstreamed %+v\nexact    %+v", got.Hosts, want.Hosts)
			}
			pressure := func(r *Result) []Finding {
				var out []Finding
				for _, f := range r.Findings {
					if f.Kind == KindPortPressure {
						if tt.binned {
							ev := *f.Evidence.(*PortPressureEvidence)
							ev.Points = nil
							f.Evidence = &ev
						}
						out = append(out, f)
					}
				}
				return out
			}
			if pg, pw := pressure(got), pressure(want); !reflect.DeepEqual(pg, pw) {
				t.Errorf("port pressure differs:\nstreamed %+v\nexact    %+v", pg, pw)
			}
			if len(got.TimeWait) != len(want.TimeWait) {
				t.Fatalf("series of %d hosts, want %d", len(got.TimeWait), len(want.TimeWait))
			}
			for i, s := range got.TimeWait {
				w := want.TimeWait[i]
				if s.IP != w.IP || s.Peak != w.Peak || s.Start != w.Start || len(s.Points) == 0 {
					t.Errorf("series %d: %s peak %d, want %s peak %d", i, s.IP, s.Peak, w.IP, w.Peak)
				}
				if !tt.binned && !reflect.DeepEqual(s.Points, w.Points) {
					t.Errorf("series %d (%s): points differ:\nstreamed %v\nexact    %v", i, s.IP, s.Points, w.Points)
				}
			}
		})
	}
}
