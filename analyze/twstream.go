package analyze

import (
	"cmp"
	"math"
	"slices"
)

// Streaming TIME_WAIT occupancy. The timeWait detector keeps one interval
// per socket in TIME_WAIT and sweeps them all at the end, which is exact
// and simple but grows with the capture. Past twExactLimit intervals it
// switches to streaming: whenever the tracker's watermark says no record
// still to come has a close (hence a TIME_WAIT entry) or a four-tuple reuse
// (hence a cut) before time wm, every event before wm is final, so it is
// applied in time order to running counts per host and per port pressure
// group (current, peak and when, the sockets held at the peak) and the
// interval is dropped once it has ended. Peaks, their times and the listed
// connections are the same as the exact sweep's; the occupancy series for
// plots is kept in at most twSeriesBins bins of adaptive width.

// twExactLimit is how many intervals are kept whole before streaming (a
// variable for the tests).
var twExactLimit = 1 << 14

const (
	// twSettleEvery is how far the watermark moves between two settles.
	twSettleEvery = int64(10e9)
	// twSeriesBins bounds the bins of one streamed occupancy series.
	twSeriesBins  = 64
	twSeriesWidth = int64(1e8) // initial bin width, 100 ms
)

// twSeries is the highest count of each time bin; it doubles its bin width
// when it runs out of bins.
type twSeries struct {
	origin, width int64
	max           []int32 // -1: no event in the bin
}

func (s *twSeries) add(t int64, n int) {
	if s.width == 0 {
		s.origin, s.width = t, twSeriesWidth
	}
	t = max(t, s.origin)
	b := (t - s.origin) / s.width
	for b >= twSeriesBins {
		for i := 0; i < len(s.max); i += 2 {
			m := s.max[i]
			if i+1 < len(s.max) {
				m = max(m, s.max[i+1])
			}
			s.max[i/2] = m
		}
		s.max = s.max[:(len(s.max)+1)/2]
		s.width *= 2
		b = (t - s.origin) / s.width
	}
	for int64(len(s.max)) <= b {
		s.max = append(s.max, -1)
	}
	if int32(n) > s.max[b] {
		s.max[b] = int32(n)
	}
}

// points renders the series over the capture as timeWait.series does:
// one point per bin of (span+1)/seriesPoints that saw an event, with the
// highest count in it.
func (s *twSeries) points(first, last int64) []TimeWaitPoint {
	span := max(last-first, 1)
	var pts []TimeWaitPoint
	bin := int64(-1)
	for i, m := range s.max {
		if m < 0 {
			continue
		}
		t := max(s.origin+int64(i)*s.width, first)
		b := (t - first) * seriesPoints / (span + 1)
		if b != bin || len(pts) == 0 {
			bin = b
			pts = append(pts, TimeWaitPoint{T: Seconds(first + b*(span+1)/seriesPoints - first), N: int(m)})
		} else if int(m) > pts[len(pts)-1].N {
			pts[len(pts)-1].N = int(m)
		}
	}
	return pts
}

// twAcc is the running occupancy of one host or port pressure group.
type twAcc struct {
	cur, peak int
	at        int64
	series    twSeries
	changed   bool         // a group's peak moved in this settle
	listed    []twInterval // for a group: the sockets held at the peak, first maxListed
}

type twStream struct {
	hosts, groups []twAcc
	settled       int64 // every event before this is applied
	ev            []twEvent
}

// settle applies every event before wm, once streaming.
func (d *timeWait) settle(wm int64) {
	if d.stream == nil {
		if len(d.intervals) < twExactLimit {
			return
		}
		d.stream = &twStream{settled: math.MinInt64}
	}
	st := d.stream
	if wm != math.MaxInt64 && st.settled != math.MinInt64 && wm-st.settled < twSettleEvery {
		return
	}
	for len(st.hosts) < len(d.hosts) {
		st.hosts = append(st.hosts, twAcc{})
	}
	for len(st.groups) < len(d.groupList) {
		st.groups = append(st.groups, twAcc{})
	}
	ev := st.ev[:0]
	for i := range d.intervals {
		iv := &d.intervals[i]
		if iv.end <= iv.start {
			continue
		}
		if !iv.started && iv.start < wm {
			ev = append(ev, twEvent{max(iv.start, st.settled), 1, int32(i)})
		}
		if iv.end < wm {
			ev = append(ev, twEvent{max(iv.end, st.settled), -1, int32(i)})
		}
	}
	slices.SortFunc(ev, func(a, b twEvent) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return a.delta - b.delta
	})
	var changed []int32 // groups whose peak moved
	for _, e := range ev {
		iv := &d.intervals[e.iv]
		h := &st.hosts[iv.host]
		h.cur += e.delta
		if h.cur > h.peak {
			h.peak, h.at = h.cur, e.t
		}
		h.series.add(e.t, h.cur)
		if iv.group >= 0 {
			g := &st.groups[iv.group]
			g.cur += e.delta
			if g.cur > g.peak {
				if !g.changed {
					g.changed = true
					changed = append(changed, iv.group)
				}
				g.peak, g.at = g.cur, e.t
			}
			g.series.add(e.t, g.cur)
		}
	}
	st.ev = ev
	// The sockets held at a group's new peak are among the intervals still
	// here: any other ended before the last settle, before the peak.
	for _, gi := range changed {
		st.groups[gi].listed = st.groups[gi].listed[:0]
	}
	for _, iv := range d.intervals {
		if iv.group < 0 {
			continue
		}
		g := &st.groups[iv.group]
		if g.changed && iv.start <= g.at && g.at < iv.end && len(g.listed) < maxListed {
			g.listed = append(g.listed, iv)
		}
	}
	for _, gi := range changed {
		st.groups[gi].changed = false
	}
	// Drop the intervals that ended; keep the rest in arrival order (in
	// place: the write index never passes the read index).
	kept := d.intervals[:0]
	for i, iv := range d.intervals {
		nextKept := iv.two && i+1 < len(d.intervals) && d.intervals[i+1].end >= wm && d.intervals[i+1].end > d.intervals[i+1].start
		if iv.end <= iv.start || iv.end < wm {
			// A record's entry follows its first interval still kept.
			if seq, ok := d.byConn[int(iv.conn)]; ok && seq == iv.seq {
				if nextKept {
					d.byConn[int(iv.conn)] = d.intervals[i+1].seq
				} else {
					delete(d.byConn, int(iv.conn))
				}
			}
			continue
		}
		iv.started = iv.started || iv.start < wm
		iv.two = nextKept
		kept = append(kept, iv)
	}
	clear(d.intervals[len(kept):])
	d.intervals = kept
	st.settled = wm
}

// finishStream is finish once streaming: the hosts, series and port
// pressure from the running counts.
func (d *timeWait) finishStream(res *Result) {
	for i := range d.intervals {
		iv := &d.intervals[i]
		iv.end = max(min(iv.end, d.last+1), iv.start)
	}
	d.settle(math.MaxInt64)
	st := d.stream
	peaks := make([]hostPeak, 0, len(d.hosts))
	for _, h := range d.hosts {
		a := &st.hosts[h.index]
		peaks = append(peaks, hostPeak{h, a.peak, a.at})
	}
	d.reportHosts(res, peaks, func(h *hostAcc) []TimeWaitPoint { return st.hosts[h.index].series.points(d.first, d.last) })
	for _, g := range d.groupList {
		if f, ok := d.pressure(g, nil); ok {
			res.Findings = append(res.Findings, f)
		}
	}
}

// pressurePeak is a group's peak, its time and the sockets held then.
func (d *timeWait) pressurePeak(g *pressureGroup, ivs []int32) (n int, at int64, held []twInterval, points []TimeWaitPoint) {
	if st := d.stream; st != nil {
		a := &st.groups[g.index]
		return a.peak, a.at, a.listed, a.series.points(d.first, d.last)
	}
	ev := d.sweep(ivs)
	n, at = peak(ev)
	for _, i := range ivs {
		held = append(held, d.intervals[i])
	}
	return n, at, held, d.series(ev)
}
