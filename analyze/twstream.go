package analyze

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
)

// TIME_WAIT occupancy, streamed. The timeWait detector keeps one interval
// per socket in TIME_WAIT. Whenever the tracker's watermark says no record
// still to come has a close (hence a TIME_WAIT entry) or a four-tuple reuse
// (hence a cut) before time wm, every event before wm is final, so it is
// applied in time order to running counts per host and per port pressure
// group (current, peak and when, the sockets held at the peak) and the
// interval is dropped once it has ended. Peaks, their times and the listed
// connections are those of a sweep over all intervals at the end (the
// test oracle, timewait_oracle_test.go). The occupancy series for plots
// keeps every step until twExactLimit intervals have been seen, and is
// drawn from them exactly; past that it keeps at most twSeriesBins bins of
// adaptive width, so that memory stays flat in the capture's length.

// twExactLimit is how many intervals may come before the series are kept
// in bins (a variable for the tests).
var twExactLimit = 1 << 14

const (
	// twSettleEvery is how far the watermark moves between two settles.
	twSettleEvery = int64(10e9)
	// twSeriesBins bounds the bins of one streamed occupancy series.
	twSeriesBins  = 64
	twSeriesWidth = int64(1e8) // initial bin width, 100 ms
	// twRadixMax bounds the changes sortChanges sorts with room of their
	// size (16 bytes a change): a settle of the busiest mix has some
	// 20,000.
	twRadixMax = 1 << 16
)

// twSeries is an occupancy series: every step while not binned, then the
// highest count of each time bin, doubling its bin width when it runs out
// of bins. Only the bins that saw an event are kept, in time order: most
// of the tens of thousands of port pressure groups of a busy capture see
// a few.
type twSeries struct {
	steps         []twStep // until binned
	binned        bool
	origin, width int64
	bins          []twBin
}

// twBin is the highest count in bin i of a series.
type twBin struct{ i, max int32 }

// twStep is the count from time t on.
type twStep struct {
	t int64
	n int32
}

func (s *twSeries) add(t int64, n int) {
	if !s.binned {
		s.steps = append(s.steps, twStep{t, int32(n)})
		return
	}
	s.addBinned(t, n)
}

// bin turns the steps kept so far into bins.
func (s *twSeries) bin() {
	if s.binned {
		return
	}
	s.binned = true
	for _, st := range s.steps {
		s.addBinned(st.t, int(st.n))
	}
	s.steps = nil
}

func (s *twSeries) addBinned(t int64, n int) {
	if s.width == 0 {
		s.origin, s.width = t, twSeriesWidth
	}
	t = max(t, s.origin)
	// Times come in order, and most fall in the last bin: found without
	// a division.
	if k := len(s.bins); k > 0 {
		last, d := &s.bins[k-1], t-s.origin
		if d >= int64(last.i)*s.width && d < int64(last.i+1)*s.width {
			last.max = max(last.max, int32(n))
			return
		}
	}
	b := (t - s.origin) / s.width
	for b >= twSeriesBins {
		// Bins 2i and 2i+1 become bin i, with the higher count.
		k := 0
		for _, x := range s.bins {
			x.i /= 2
			if k > 0 && s.bins[k-1].i == x.i {
				s.bins[k-1].max = max(s.bins[k-1].max, x.max)
				continue
			}
			s.bins[k] = x
			k++
		}
		s.bins = s.bins[:k]
		s.width *= 2
		b = (t - s.origin) / s.width
	}
	// Times come in order, so the bin is a new one after the last; a
	// search keeps the order should one come earlier.
	j := len(s.bins)
	for j > 0 && s.bins[j-1].i > int32(b) {
		j--
	}
	if j > 0 && s.bins[j-1].i == int32(b) {
		s.bins[j-1].max = max(s.bins[j-1].max, int32(n))
		return
	}
	s.bins = slices.Insert(s.bins, j, twBin{int32(b), int32(n)})
}

// denseBins are the bins as a count per bin, -1 where none was seen (the
// partial result's form).
func (s *twSeries) denseBins() []int32 {
	if len(s.bins) == 0 {
		return nil
	}
	m := make([]int32, s.bins[len(s.bins)-1].i+1)
	for i := range m {
		m[i] = -1
	}
	for _, x := range s.bins {
		m[x.i] = x.max
	}
	return m
}

// sparseBins are the bins seen of a count per bin (denseBins).
func sparseBins(m []int32) []twBin {
	var bins []twBin
	for i, x := range m {
		if x >= 0 {
			bins = append(bins, twBin{int32(i), x})
		}
	}
	return bins
}

// points renders the series over the capture from first to last: every
// step when there are at most seriesPoints, else one point per bin of
// (span+1)/seriesPoints that saw a step, with the highest count in it;
// the times in seconds since base (Result.SeriesStart).
func (s *twSeries) points(first, last, base int64) []TimeWaitPoint {
	span := max(last-first, 1)
	if !s.binned {
		return stepPoints(s.steps, first, span, base)
	}
	var pts []TimeWaitPoint
	bin := int64(-1)
	for _, x := range s.bins {
		i, m := x.i, x.max
		t := max(s.origin+int64(i)*s.width, first)
		b := (t - first) * seriesPoints / (span + 1)
		if b != bin || len(pts) == 0 {
			bin = b
			pts = append(pts, TimeWaitPoint{T: Seconds(first + b*(span+1)/seriesPoints - base), N: int(m)})
		} else if int(m) > pts[len(pts)-1].N {
			pts[len(pts)-1].N = int(m)
		}
	}
	return pts
}

// stepPoints draws steps as twSeries.points does.
func stepPoints(steps []twStep, first, span, base int64) []TimeWaitPoint {
	var pts []TimeWaitPoint
	bin := int64(-1)
	for _, st := range steps {
		cur := int(st.n)
		b := (st.t - first) * seriesPoints / (span + 1)
		if b != bin || len(pts) == 0 {
			bin = b
			t := st.t
			if len(steps) > seriesPoints {
				t = first + b*(span+1)/seriesPoints
			}
			pts = append(pts, TimeWaitPoint{T: Seconds(t - base), N: cur})
			continue
		}
		if len(steps) <= seriesPoints {
			pts = append(pts, TimeWaitPoint{T: Seconds(st.t - base), N: cur})
		} else if cur > pts[len(pts)-1].N {
			pts[len(pts)-1].N = cur
		}
	}
	return pts
}

// twChange is a socket entering or leaving TIME_WAIT at t: its host's
// index + 1, negated when it leaves, and its port pressure group (-1 for
// none). The event carries what it changes, so that applying the events
// in time order does not reach back into the intervals.
type twChange struct {
	t     int64
	host  int32
	group int32
}

func (e twChange) delta() int {
	if e.host < 0 {
		return -1
	}
	return 1
}

// twAcc is the running occupancy of one host or port pressure group.
type twAcc struct {
	cur, peak int
	at        int64
	series    twSeries
	listed    []twHeld // for a group: the sockets held at the peak, first maxListed
}

// twHeld names a socket held at a group's peak: what a finding lists of
// it, a quarter of its interval's size (tens of thousands of groups may
// each keep maxListed).
type twHeld struct {
	conn, frame, file int32
	port              uint16
}

type twStream struct {
	hosts, groups []twAcc
	settled       int64      // every event before this is applied
	applied       bool       // settled is set
	binned        bool       // the series are in bins
	ev, tmp       []twChange // the changes of a settle, and sortChanges' room
	// moved tells, by group, that its peak moved in this settle: a byte
	// a group, apart from the accumulators, so that the pass over the
	// intervals touches only the moved groups'.
	moved []bool
}

// settle applies every event before the tracker's watermark wm, at most
// once per twSettleEvery of capture time; past twExactLimit intervals it
// turns the series into bins first.
func (d *timeWait) settle(wm int64) {
	st := &d.stream
	if !st.binned && d.nextSeq >= int64(twExactLimit) {
		st.binned = true
		for i := range st.hosts {
			st.hosts[i].series.bin()
		}
		for i := range st.groups {
			st.groups[i].series.bin()
		}
	}
	if st.applied && wm != math.MaxInt64 && wm-st.settled < twSettleEvery {
		return
	}
	d.apply(wm)
}

// apply applies every event before wm.
func (d *timeWait) apply(wm int64) {
	st := &d.stream
	if !st.applied {
		st.settled, st.applied = math.MinInt64, true
	}
	for len(st.hosts) < d.numHosts() {
		st.hosts = append(st.hosts, twAcc{series: twSeries{binned: st.binned}})
	}
	for len(st.groups) < len(d.groupList) {
		st.groups = append(st.groups, twAcc{series: twSeries{binned: st.binned}})
		st.moved = append(st.moved, false)
	}
	ev := st.ev[:0]
	for i := range d.intervals {
		iv := &d.intervals[i]
		if iv.end <= iv.start {
			continue
		}
		if !iv.flags.has(twStarted) && iv.start < wm {
			ev = append(ev, twChange{max(iv.start, st.settled), iv.host + 1, iv.group})
		}
		if iv.end < wm {
			ev = append(ev, twChange{max(iv.end, st.settled), -(iv.host + 1), iv.group})
		}
	}
	ev = sortChanges(ev, &st.tmp)
	var changed []int32 // groups whose peak moved
	for _, e := range ev {
		delta := e.delta()
		h := &st.hosts[e.host*int32(delta)-1]
		h.cur += delta
		if h.cur > h.peak {
			h.peak, h.at = h.cur, e.t
		}
		h.series.add(e.t, h.cur)
		if e.group >= 0 {
			g := &st.groups[e.group]
			g.cur += delta
			if g.cur > g.peak {
				if !st.moved[e.group] {
					st.moved[e.group] = true
					changed = append(changed, e.group)
				}
				g.peak, g.at = g.cur, e.t
			}
			g.series.add(e.t, g.cur)
		}
	}
	st.ev = ev
	// The sockets held at a group's new peak are among the intervals still
	// here: any other ended before the last settle, before the peak. The
	// same pass drops the intervals that ended and keeps the rest in
	// arrival order (in place: the write index never passes the read
	// index).
	for _, gi := range changed {
		st.groups[gi].listed = st.groups[gi].listed[:0]
	}
	kept := d.intervals[:0]
	for i, iv := range d.intervals {
		if iv.group >= 0 && st.moved[iv.group] {
			g := &st.groups[iv.group]
			if iv.start <= g.at && g.at < iv.end && len(g.listed) < maxListed {
				g.listed = append(g.listed, twHeld{conn: iv.conn, frame: iv.frame, file: iv.file, port: iv.port})
			}
		}
		nextKept := iv.flags.has(twTwo) && i+1 < len(d.intervals) && d.intervals[i+1].end >= wm && d.intervals[i+1].end > d.intervals[i+1].start
		if iv.end <= iv.start || iv.end < wm {
			// A record's entry follows its first interval still kept.
			if iv.flags.has(twIndexed) {
				if nextKept {
					d.byConn.set(connKey(iv.conn), seqLow(d.intervals[i+1].seq))
					d.intervals[i+1].flags.set(twIndexed, true)
				} else {
					d.byConn.del(connKey(iv.conn))
				}
			}
			continue
		}
		iv.flags.set(twStarted, iv.flags.has(twStarted) || iv.start < wm)
		iv.flags.set(twTwo, nextKept)
		kept = append(kept, iv)
	}
	for _, gi := range changed {
		st.moved[gi] = false
	}
	clear(d.intervals[len(kept):])
	d.intervals = kept
	st.settled = wm
}

// sortChanges orders ev by time, a socket leaving before one entering at
// the same time (changes equal in both change the same counts the same
// way in any order), using *tmp as room; it returns ev, sorted, or *tmp.
// The changes of a settle come in the order the records were finished,
// nowhere near time order, and a comparison sort of them was most of a
// settle: this is a radix sort (least significant digit first, so each
// pass keeps the order of the ones before), first by leaving or entering,
// then a byte at a time of the time since the earliest change, over as
// many bytes as the span of times needs. Past twRadixMax changes (a burst,
// as when a capture's clock stands still) they are sorted in place, so
// that the room stays small.
func sortChanges(ev []twChange, tmp *[]twChange) []twChange {
	if len(ev) < 2 {
		return ev
	}
	if len(ev) > twRadixMax {
		slices.SortFunc(ev, func(a, b twChange) int {
			if a.t != b.t {
				return cmp.Compare(a.t, b.t)
			}
			return a.delta() - b.delta()
		})
		return ev
	}
	lo, hi := ev[0].t, ev[0].t
	for _, e := range ev {
		lo, hi = min(lo, e.t), max(hi, e.t)
	}
	if cap(*tmp) < len(ev) {
		*tmp = make([]twChange, len(ev))
	}
	src, dst := ev, (*tmp)[:len(ev)]
	// Leaving first, in place of the lowest digit.
	k := 0
	for _, e := range src {
		if e.host < 0 {
			dst[k] = e
			k++
		}
	}
	for _, e := range src {
		if e.host >= 0 {
			dst[k] = e
			k++
		}
	}
	src, dst = dst, src
	span := uint64(hi) - uint64(lo)
	for shift := 0; shift < 64 && span>>shift != 0; shift += 8 {
		var count [256]int
		for _, e := range src {
			count[byte((uint64(e.t)-uint64(lo))>>shift)]++
		}
		pos := 0
		for b, n := range count {
			count[b] = pos
			pos += n
		}
		for _, e := range src {
			b := byte((uint64(e.t) - uint64(lo)) >> shift)
			dst[count[b]] = e
			count[b]++
		}
		src, dst = dst, src
	}
	*tmp = dst[:0]
	return src
}

// finish reports the hosts, series and port pressure from the running
// counts, once every event is applied. The sockets still in TIME_WAIT
// when the capture ends stay there until their TIME_WAIT ends (the
// series runs on past the capture, to seriesEnd), so that a plot does not
// show them all leaving at the last packet.
func (d *timeWait) finish(res *Result) {
	d.seriesEnd = d.last
	for _, iv := range d.intervals {
		d.seriesEnd = max(d.seriesEnd, iv.end)
	}
	d.apply(math.MaxInt64)
	st := &d.stream
	peaks := make([]hostPeak, 0, d.hosts.len())
	for i := range d.hostList {
		h := &d.hostList[i]
		if h.index == d.otherHost {
			continue
		}
		a := &st.hosts[h.index]
		peaks = append(peaks, hostPeak{h, a.peak, a.at})
	}
	d.base = seriesBase(res, d.first)
	d.reportHosts(res, peaks, func(h *hostAcc) []TimeWaitPoint { return st.hosts[h.index].series.points(d.first, d.seriesEnd, d.base) })
	if d.keep {
		res.occupancy = &occupancy{first: d.first, last: d.last, seriesEnd: d.seriesEnd}
		for _, h := range res.Hosts { // in report order; a row that is no address (a folded rest) has no series
			a, err := netip.ParseAddr(h.IP)
			if i, ok := d.hosts.get(keyOfAddr(a)); err == nil && ok && h.PeakTimeWait > 0 {
				res.occupancy.hosts = append(res.occupancy.hosts, hostSeries{h.IP, &st.hosts[i].series})
			}
		}
	}
	d.reportFolded(res)
	for i := range d.groupList {
		if f, ok := d.pressure(&d.groupList[i]); ok && d.lim.take(KindPortPressure, f.Severity) {
			res.Findings = append(res.Findings, f)
		}
	}
}
