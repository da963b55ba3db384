package analyze

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/twscope/twscope/reassembly"
)

// One map, then a reduce (architecture.md). A run over one capture point
// (its rotated files in order) writes a Partial: its Result, plus what the
// Result keeps out of its JSON and a merge needs to rebuild it (the
// per-endpoint counts the plots and golden files use, the reuse gaps, and
// each host's TIME_WAIT occupancy as steps or fixed bins). Merge combines
// partials of distinct capture points. It is a function of the set of
// partials, not of their order or grouping: partials are put in capture
// point order first, and every table is merged by a rule of its own:
//
//   - counters (totals, close counts, finding counts, per-endpoint and
//     per-host counts) are summed: exact;
//   - listed findings are the union, ordered as one analysis orders them
//     (then by capture point), each kind and severity bounded by
//     MaxExamples again; the counts beside them stay exact;
//   - a host's TIME_WAIT peak is exact when one capture point saw the host,
//     and is the peak of the sum of its occupancy steps when several did
//     (its sockets counted once per capture point that saw them); when a
//     part had binned its series (twExactLimit), the peak is the highest
//     single point's, a lower bound, and a warning says so;
//   - reuse gaps are the smallest MaxReuseGaps of the union.
//
// For one partial, the merge is the Result of analyzing it directly.

// PartialFormat is the version of the partial result file.
const PartialFormat = 1

// Partial is the mergeable result of one capture point.
type Partial struct {
	Format       int    `json:"twscope_partial"`
	CapturePoint string `json:"capture_point,omitempty"`
	// Merged names the capture points of a merged partial (sorted);
	// Lowered the hosts whose TIME_WAIT peak in it is a lower bound.
	Merged  []string `json:"merged,omitempty"`
	Lowered []string `json:"lowered,omitempty"`
	Result  *Result  `json:"result"`
	// Endpoints are the per-endpoint counts Result.Endpoints keeps out of
	// its JSON, in the same order.
	Endpoints     []PartialEndpoint `json:"endpoints"`
	ReuseGaps     []float64         `json:"reuse_gaps"`
	ReuseGapsMore int               `json:"reuse_gaps_more"`
	// First and Last are the first connection's start and the last one's
	// end (Unix ns); SeriesEnd is where the last TIME_WAIT ends, at or
	// after Last: the occupancy series are drawn from First to SeriesEnd.
	First     int64           `json:"first"`
	Last      int64           `json:"last"`
	SeriesEnd int64           `json:"series_end"`
	Occupancy []HostOccupancy `json:"time_wait_occupancy"`
}

// PartialEndpoint is what the plots and golden files count per endpoint
// beyond the JSON.
type PartialEndpoint struct {
	FinalAck   map[string]int      `json:"final_ack"`
	RSTBy      map[string]int      `json:"rst_by"`
	FirstClose [NumFirstCloses]int `json:"first_close"`
}

// HostOccupancy is one host's TIME_WAIT occupancy: every step [t ns, n]
// of the capture points that kept them (summed), and when one kept bins
// instead, Binned, the highest count in each bin of Width ns from Origin
// (-1: no event in the bin) and the highest peak of those points (Peak at
// PeakAt).
type HostOccupancy struct {
	IP     string     `json:"ip"`
	Steps  [][2]int64 `json:"steps,omitempty"`
	Binned bool       `json:"binned,omitempty"`
	Origin int64      `json:"origin,omitempty"`
	Width  int64      `json:"width,omitempty"`
	Max    []int32    `json:"max,omitempty"`
	Peak   int        `json:"peak,omitempty"`
	PeakAt int64      `json:"peak_at,omitempty"`
}

// occupancy is what the timeWait detector leaves in a Result for a
// partial (Options.KeepOccupancy).
type occupancy struct {
	first, last, seriesEnd int64
	hosts                  []hostSeries
}

type hostSeries struct {
	ip     string
	series *twSeries
}

// NewPartial is the partial result of res, an analysis of one capture
// point run with Options.KeepOccupancy.
func NewPartial(point string, res *Result) *Partial {
	p := &Partial{Format: PartialFormat, CapturePoint: point, Result: res,
		Endpoints: make([]PartialEndpoint, len(res.Endpoints)), ReuseGaps: res.ReuseGaps, ReuseGapsMore: res.ReuseGapsMore,
		Occupancy: []HostOccupancy{}}
	if p.ReuseGaps == nil {
		p.ReuseGaps = []float64{}
	}
	for i, e := range res.Endpoints {
		p.Endpoints[i] = PartialEndpoint{FinalAck: e.FinalAck, RSTBy: e.RSTBy, FirstClose: e.FirstClose}
	}
	if o := res.occupancy; o != nil {
		p.First, p.Last, p.SeriesEnd = o.first, o.last, o.seriesEnd
		peaks := map[string]Host{}
		for _, h := range res.Hosts {
			peaks[h.IP] = h
		}
		for _, h := range o.hosts {
			occ := h.series.export(h.ip)
			if occ.Binned {
				host := peaks[h.ip]
				occ.Peak, occ.PeakAt = host.PeakTimeWait, int64(*host.PeakAt)
			}
			p.Occupancy = append(p.Occupancy, occ)
		}
	}
	return p
}

func (s *twSeries) export(ip string) HostOccupancy {
	h := HostOccupancy{IP: ip, Binned: s.binned, Origin: s.origin, Width: s.width, Max: s.denseBins()}
	for _, st := range s.steps {
		h.Steps = append(h.Steps, [2]int64{st.t, int64(st.n)})
	}
	return h
}

// series is the occupancy as the analysis kept it: the binned series when
// there is one and it peaks higher than the steps, else the steps.
func (h *HostOccupancy) series() *twSeries {
	s := &twSeries{}
	for _, st := range h.Steps {
		s.steps = append(s.steps, twStep{st[0], int32(st[1])})
	}
	if h.Binned && seriesPeak(s) < int32(h.Peak) || len(h.Steps) == 0 {
		return &twSeries{binned: h.Binned, origin: h.Origin, width: h.Width, bins: sparseBins(h.Max)}
	}
	return s
}

// ReadPartial reads a partial result file written from NewPartial's value
// as JSON; name is the file's name for messages.
func ReadPartial(r io.Reader, name string) (*Partial, error) {
	var p Partial
	dec := json.NewDecoder(r)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: not a twscope partial result: %w", name, err)
	}
	switch {
	case p.Format != PartialFormat:
		return nil, fmt.Errorf("%s: partial result format %d, this twscope reads %d", name, p.Format, PartialFormat)
	case p.Result == nil:
		return nil, fmt.Errorf("%s: partial result without a result", name)
	case len(p.Endpoints) != len(p.Result.Endpoints):
		return nil, fmt.Errorf("%s: partial result has %d endpoint counts for %d endpoints", name, len(p.Endpoints), len(p.Result.Endpoints))
	}
	for i := range p.Result.Endpoints {
		e := &p.Result.Endpoints[i]
		e.Addr, _ = netip.ParseAddrPort(e.Server) // a row that is no endpoint (a folded rest) has none
		e.FinalAck, e.RSTBy, e.FirstClose = p.Endpoints[i].FinalAck, p.Endpoints[i].RSTBy, p.Endpoints[i].FirstClose
	}
	p.Result.ReuseGaps, p.Result.ReuseGapsMore = p.ReuseGaps, p.ReuseGapsMore
	return &p, nil
}

// UnmarshalJSON reads a finding as the JSON report writes it, its
// evidence as the struct of its kind.
func (f *Finding) UnmarshalJSON(b []byte) error {
	type plain Finding
	aux := struct {
		*plain
		Evidence json.RawMessage `json:"evidence"`
	}{plain: (*plain)(f)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	ev, ok := EvidenceTypes()[f.Kind] // fresh values on every call
	if !ok {
		return fmt.Errorf("finding kind %q unknown", f.Kind)
	}
	if len(aux.Evidence) > 0 && string(aux.Evidence) != "null" {
		if err := json.Unmarshal(aux.Evidence, ev); err != nil {
			return fmt.Errorf("%s evidence: %w", f.Kind, err)
		}
	}
	f.Evidence = ev
	return nil
}

// Merge combines the partial results of distinct capture points into one
// Result. Partials must come from the same profile and tool version.
func Merge(parts ...*Partial) (*Result, error) {
	p, err := MergePartials(parts...)
	if err != nil {
		return nil, err
	}
	return p.Report(), nil
}

// Report is the partial's Result, with the warning a merge owes when a
// host's TIME_WAIT peak is only a lower bound.
func (p *Partial) Report() *Result {
	if len(p.Lowered) == 0 {
		return p.Result
	}
	res := *p.Result
	res.Warnings = append(slices.Clone(res.Warnings), fmt.Sprintf("TIME_WAIT peaks of %d hosts seen at several capture points are lower bounds: "+
		"a capture point kept their occupancy in bins, not steps (e.g. %s)", len(p.Lowered), p.Lowered[0]))
	return &res
}

// Points are the capture points a partial covers.
func (p *Partial) Points() []string {
	if len(p.Merged) > 0 {
		return p.Merged
	}
	return []string{p.CapturePoint}
}

// MergePartials combines partial results into one that covers all their
// capture points, so that merges can be merged again (a tree of reduces):
// the result is the same however the partials are grouped and ordered.
func MergePartials(parts ...*Partial) (*Partial, error) {
	if len(parts) == 0 {
		return nil, errors.New("nothing to merge")
	}
	ps := slices.Clone(parts)
	slices.SortFunc(ps, func(a, b *Partial) int { return strings.Compare(a.Points()[0], b.Points()[0]) })
	var points []string
	for _, p := range ps {
		points = append(points, p.Points()...)
		a, b := ps[0].Result, p.Result
		if a.Schema != b.Schema || a.Tool != b.Tool || a.Profile != b.Profile {
			return nil, fmt.Errorf("capture points %q and %q were analyzed differently (%s %s %gs, %s %s %gs): merge partials of one tool version and profile",
				ps[0].Points()[0], p.Points()[0], a.Tool, a.Profile.Name, a.Profile.TimeWaitS, b.Tool, b.Profile.Name, b.Profile.TimeWaitS)
		}
	}
	slices.Sort(points)
	for i := 1; i < len(points); i++ {
		if points[i] == points[i-1] {
			return nil, fmt.Errorf("capture point %q is in two partial results: analyze each capture point (all its rotated files) in one run", points[i])
		}
	}
	if len(ps) == 1 {
		return ps[0], nil
	}
	first := ps[0].Result
	res := &Result{Schema: first.Schema, Tool: first.Tool, Profile: first.Profile,
		Captures: []Capture{}, Closes: newCounts(), Findings: []Finding{}, Hosts: []Host{}, Warnings: []string{}}
	out := &Partial{Format: PartialFormat, Merged: points, Result: res}
	var errs []string
	for _, p := range ps {
		r := p.Result
		for _, w := range r.Warnings {
			if len(p.Merged) == 0 {
				w = p.CapturePoint + ": " + w
			}
			res.Warnings = append(res.Warnings, w)
		}
		if r.Error != "" {
			if len(p.Merged) == 0 {
				errs = append(errs, p.CapturePoint+": "+r.Error)
			} else {
				errs = append(errs, strings.Split(r.Error, "; ")...)
			}
		}
		res.Totals = addTotals(res.Totals, r.Totals)
		for _, m := range [][2]map[string]int{
			{res.Closes.ByKind, r.Closes.ByKind}, {res.Closes.ByCloser, r.Closes.ByCloser},
			{res.Closes.TimeWaitHolders, r.Closes.TimeWaitHolders}, {res.Closes.FinalAck, r.Closes.FinalAck},
			{res.Closes.RSTBy, r.Closes.RSTBy},
		} {
			addMap(m[0], m[1])
		}
	}
	// Warnings and errors by capture point (the text before ": "), each
	// point's in its own order.
	byPoint := func(a, b string) int {
		pa, _, _ := strings.Cut(a, ": ")
		pb, _, _ := strings.Cut(b, ": ")
		return strings.Compare(pa, pb)
	}
	slices.SortStableFunc(res.Warnings, byPoint)
	slices.SortStableFunc(errs, byPoint)
	res.Error = strings.Join(errs, "; ")
	findings := mergeCaptures(res, ps)
	mergeEndpoints(res, ps)
	mergeFindings(res, ps, findings)
	mergeHosts(out, ps)
	mergeReuseGaps(res, ps)
	out.ReuseGaps, out.ReuseGapsMore = res.ReuseGaps, res.ReuseGapsMore
	out.Endpoints = make([]PartialEndpoint, len(res.Endpoints))
	for i, e := range res.Endpoints {
		out.Endpoints[i] = PartialEndpoint{FinalAck: e.FinalAck, RSTBy: e.RSTBy, FirstClose: e.FirstClose}
	}
	return out, nil
}

// addTotals sums every counter of Totals.
func addTotals(a, b Totals) Totals {
	return Totals{
		Packets: a.Packets + b.Packets, TCPPackets: a.TCPPackets + b.TCPPackets, NonTCP: a.NonTCP + b.NonTCP,
		Fragments: a.Fragments + b.Fragments, Truncated: a.Truncated + b.Truncated, Filtered: a.Filtered + b.Filtered,
		Connections: a.Connections + b.Connections, Partial: a.Partial + b.Partial, Evicted: a.Evicted + b.Evicted,
		OldDuplicate: a.OldDuplicate + b.OldDuplicate, HalfOpenEvicted: a.HalfOpenEvicted + b.HalfOpenEvicted,
		Duplicates: a.Duplicates + b.Duplicates, TuplesForgotten: a.TuplesForgotten + b.TuplesForgotten,
		ClocksForgotten: a.ClocksForgotten + b.ClocksForgotten,
	}
}

func addMap(dst, src map[string]int) {
	for k, n := range src {
		dst[k] += n
	}
}

// mergeCaptures lists every capture file by capture point (each point's
// in its own order), and returns each partial's findings (copies) with
// their frames pointed at their files in the merged list and their plot
// series counted from the merged captures' first packet.
func mergeCaptures(res *Result, ps []*Partial) [][]Finding {
	type capture struct {
		Capture
		part, index int
	}
	var all []capture
	for i, p := range ps {
		for j, c := range p.Result.Captures {
			if c.CapturePoint == "" {
				c.CapturePoint = p.CapturePoint
			}
			all = append(all, capture{c, i, j})
		}
	}
	slices.SortStableFunc(all, func(a, b capture) int { return strings.Compare(a.CapturePoint, b.CapturePoint) })
	moved := make([][]int, len(ps)) // by partial, the new index of each capture
	for i, p := range ps {
		moved[i] = make([]int, len(p.Result.Captures))
	}
	for n, c := range all {
		moved[c.part][c.index] = n
		res.Captures = append(res.Captures, c.Capture)
	}
	res.SeriesStart = seriesStart(res.Captures)
	findings := make([][]Finding, len(ps))
	for i, p := range ps {
		findings[i] = slices.Clone(p.Result.Findings)
		for j := range findings[i] {
			f := &findings[i][j]
			if p.Result.SeriesStart != 0 && res.SeriesStart != 0 {
				f.shiftSeries(Seconds(int64(p.Result.SeriesStart - res.SeriesStart)))
			}
			if f.CapturePoint == "" {
				f.CapturePoint = p.CapturePoint
			}
			if len(f.Frames) == 0 || len(moved[i]) == 0 {
				continue
			}
			if f.FrameFiles == nil { // one file: the run had no need to say which
				f.FrameFiles = make([]int, len(f.Frames))
				if f.Filters == nil {
					f.Filters = map[string]string{p.Result.Captures[0].File: f.Filter}
				}
			} else {
				f.FrameFiles = slices.Clone(f.FrameFiles)
			}
			for k, file := range f.FrameFiles {
				if file < len(moved[i]) {
					f.FrameFiles[k] = moved[i][file]
				}
			}
		}
	}
	return findings
}

// mergeEndpoints sums the close counts of each server endpoint.
func mergeEndpoints(res *Result, ps []*Partial) {
	by := map[string]*Endpoint{}
	for _, p := range ps {
		for _, e := range p.Result.Endpoints {
			m := by[e.Server]
			if m == nil {
				m = &Endpoint{Server: e.Server, Addr: e.Addr, Closer: map[string]int{}, Close: map[string]int{},
					TimeWaitHolders: map[string]int{}, FinalAck: map[string]int{}, RSTBy: map[string]int{}}
				by[e.Server] = m
			}
			m.Connections += e.Connections
			addMap(m.Closer, e.Closer)
			addMap(m.Close, e.Close)
			addMap(m.TimeWaitHolders, e.TimeWaitHolders)
			addMap(m.FinalAck, e.FinalAck)
			addMap(m.RSTBy, e.RSTBy)
			for i, n := range e.FirstClose {
				m.FirstClose[i] += n
			}
		}
	}
	res.Endpoints = make([]Endpoint, 0, len(by))
	for _, e := range by {
		res.Endpoints = append(res.Endpoints, *e)
	}
	sortEndpoints(res.Endpoints)
}

// mergeFindings lists the findings of every capture point as one analysis
// orders them, capture points in name order breaking ties, at most
// MaxExamples per kind and severity, and sums the counts of all of them.
func mergeFindings(res *Result, ps []*Partial, findings [][]Finding) {
	var all []Finding
	counts := map[kindSeverity]int{}
	for i, p := range ps {
		all = append(all, findings[i]...)
		for _, c := range p.Result.Counts() {
			counts[kindSeverity{c.Kind, c.Severity}] += c.Count
		}
	}
	// As one run orders them, then by capture point; stable, so each
	// point's findings keep their own order.
	slices.SortStableFunc(all, func(a, b Finding) int {
		if c := compareFindings(&a, &b); c != 0 {
			return c
		}
		return strings.Compare(a.CapturePoint, b.CapturePoint)
	})
	listed := map[kindSeverity]int{}
	for _, f := range all {
		k := kindSeverity{f.Kind, f.Severity}
		if listed[k] < MaxExamples {
			listed[k]++
			res.Findings = append(res.Findings, f)
		}
	}
	omitted := map[kindSeverity]int{}
	for k, n := range counts {
		if n > listed[k] {
			omitted[k] = n - listed[k]
			if res.FindingsOmitted == nil {
				res.FindingsOmitted = map[string]int{}
			}
			res.FindingsOmitted[k.kind] += n - listed[k]
		}
	}
	res.FindingCounts = countFindings(res.Findings, omitted)
}

// mergeHosts sums each host's counts over the capture points that saw it
// and rebuilds its TIME_WAIT peak and occupancy: the peak of the summed
// steps, or of the highest binned point when that is higher (then only a
// lower bound).
func mergeHosts(out *Partial, ps []*Partial) {
	res := out.Result
	type seen struct {
		host  Host
		parts int
		occ   []*HostOccupancy
	}
	by := map[string]*seen{}
	for _, p := range ps {
		if p.First != 0 && (out.First == 0 || p.First < out.First) {
			out.First = p.First
		}
		out.Last = max(out.Last, p.Last)
		out.SeriesEnd = max(out.SeriesEnd, p.SeriesEnd)
		occ := map[string]*HostOccupancy{}
		for i := range p.Occupancy {
			occ[p.Occupancy[i].IP] = &p.Occupancy[i]
		}
		for _, h := range p.Result.Hosts {
			s := by[h.IP]
			if s == nil {
				s = &seen{host: h}
				by[h.IP] = s
			} else {
				s.host.Connections += h.Connections
				s.host.TimeWaitHeld += h.TimeWaitHeld
				s.host.ClosesInitiated += h.ClosesInitiated
				s.host.RSTsSent += h.RSTsSent
			}
			s.parts++
			if o := occ[h.IP]; o != nil {
				s.occ = append(s.occ, o)
			}
		}
		out.Lowered = append(out.Lowered, p.Lowered...)
	}
	type merged struct {
		h    Host
		addr netip.Addr
		occ  *HostOccupancy
	}
	var hosts []merged
	for ip, s := range by {
		m := merged{h: s.host}
		m.addr, _ = netip.ParseAddr(ip)
		switch {
		case len(s.occ) == 1 && s.parts == 1: // one capture point: as it is
			m.occ = s.occ[0]
		case len(s.occ) > 0:
			o := &HostOccupancy{IP: ip}
			for _, st := range sumSteps(s.occ) {
				o.Steps = append(o.Steps, [2]int64{st.t, int64(st.n)})
			}
			m.h.PeakTimeWait, m.h.PeakAt = 0, nil
			for _, st := range o.Steps {
				if int(st[1]) > m.h.PeakTimeWait {
					m.h.PeakTimeWait, m.h.PeakAt = int(st[1]), timePtr(st[0])
				}
			}
			for _, b := range s.occ {
				if b.Binned && (!o.Binned || b.Peak > o.Peak || b.Peak == o.Peak && b.PeakAt < o.PeakAt) {
					o.Binned, o.Origin, o.Width, o.Max, o.Peak, o.PeakAt = true, b.Origin, b.Width, b.Max, b.Peak, b.PeakAt
				}
			}
			if o.Binned && o.Peak > 0 {
				if o.Peak > m.h.PeakTimeWait || o.Peak == m.h.PeakTimeWait && o.PeakAt < int64(*m.h.PeakAt) {
					m.h.PeakTimeWait, m.h.PeakAt = o.Peak, timePtr(o.PeakAt)
				}
				if len(s.occ) > 1 { // the others' sockets are not added to it
					out.Lowered = append(out.Lowered, ip)
				}
			}
			m.occ = o
		}
		if m.occ != nil {
			out.Occupancy = append(out.Occupancy, *m.occ)
		}
		hosts = append(hosts, m)
	}
	slices.Sort(out.Lowered)
	out.Lowered = slices.Compact(out.Lowered)
	slices.SortFunc(out.Occupancy, func(a, b HostOccupancy) int { return strings.Compare(a.IP, b.IP) })
	sort.Slice(hosts, func(i, j int) bool {
		a, b := hosts[i], hosts[j]
		return hostBefore(a.h.TimeWaitHeld, a.h.Connections, a.addr, b.h.TimeWaitHeld, b.h.Connections, b.addr)
	})
	for _, m := range hosts {
		res.Hosts = append(res.Hosts, m.h)
	}
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].h.PeakTimeWait > hosts[j].h.PeakTimeWait })
	for _, m := range hosts[:min(len(hosts), seriesHosts)] {
		if m.h.PeakTimeWait == 0 || m.occ == nil {
			break
		}
		base := seriesBase(res, out.First)
		res.TimeWait = append(res.TimeWait, TimeWaitSeries{IP: m.h.IP, Peak: m.h.PeakTimeWait, Start: Time(base),
			CaptureEnd: Seconds(out.Last - base), Points: m.occ.series().points(out.First, max(out.SeriesEnd, out.Last), base)})
	}
}

// seriesPeak is the highest count in a series.
func seriesPeak(s *twSeries) int32 {
	var p int32
	for _, st := range s.steps {
		p = max(p, st.n)
	}
	for _, b := range s.bins {
		p = max(p, b.max)
	}
	return p
}

// sumSteps adds step functions: the count at each time any of them
// changes is the sum of each one's count after its last step at or
// before that time.
func sumSteps(occ []*HostOccupancy) []twStep {
	type ev struct {
		t    int64
		part int
		n    int64
	}
	var evs []ev
	for i, o := range occ {
		for _, st := range o.Steps {
			evs = append(evs, ev{st[0], i, st[1]})
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return cmp.Compare(a.t, b.t) })
	cur := make([]int64, len(occ))
	var sum int64
	var out []twStep
	for i, e := range evs {
		sum += e.n - cur[e.part]
		cur[e.part] = e.n
		if i+1 < len(evs) && evs[i+1].t == e.t {
			continue // the count after every change at this time
		}
		out = append(out, twStep{e.t, int32(sum)})
	}
	return out
}

// mergeReuseGaps keeps the smallest MaxReuseGaps gaps of every capture
// point and counts the rest.
func mergeReuseGaps(res *Result, ps []*Partial) {
	for _, p := range ps {
		res.ReuseGaps = append(res.ReuseGaps, p.Result.ReuseGaps...)
		res.ReuseGapsMore += p.Result.ReuseGapsMore
	}
	sort.Float64s(res.ReuseGaps)
	if len(res.ReuseGaps) > MaxReuseGaps {
		res.ReuseGapsMore += len(res.ReuseGaps) - MaxReuseGaps
		res.ReuseGaps = res.ReuseGaps[:MaxReuseGaps]
	}
}

// TimeWaitEntry is when side s of r entered TIME_WAIT as the capture
// shows it: its final ACK (its ACK of the peer's FIN), or after crossed
// FINs the peer's ACK of its own FIN (CLOSING to TIME_WAIT), else the
// record's close.
func TimeWaitEntry(r *reassembly.Record, s reassembly.Side) reassembly.Event {
	own, peer := r.Flow(s), r.Flow(s.Other())
	e := own.AckOfPeerFIN
	if r.Close == reassembly.CloseSimultaneous {
		e = peer.AckOfPeerFIN
	}
	if !e.Seen() {
		e = r.CloseAt
	}
	return e
}

// TimeWaitEnd is when side s's TIME_WAIT after r ends unless the
// four-tuple's next incarnation cuts it short (its SYN, a record whose
// prev_id is r's): its entry plus the TIME_WAIT length tw (the profile's;
// Linux's when zero). ok is false when s holds none; s may be
// reassembly.SideBoth for the later of the two holders' ends.
func TimeWaitEnd(r *reassembly.Record, s reassembly.Side, tw int64) (end int64, ok bool) {
	if tw <= 0 {
		tw = int64(timeWaitLimit(0))
	}
	for _, x := range [2]reassembly.Side{reassembly.SideClient, reassembly.SideServer} {
		holds := r.TimeWaitHolder == x || r.TimeWaitHolder == reassembly.SideBoth
		if holds && (s == x || s == reassembly.SideBoth) {
			end, ok = max(end, TimeWaitEntry(r, x).Time+tw), true
		}
	}
	return end, ok
}

// shiftSeries moves the times of a finding's plot series by d seconds (to
// the time base of a merged result), on copies: the partial's evidence is
// left as it was.
func (f *Finding) shiftSeries(d float64) {
	if d == 0 {
		return
	}
	switch ev := f.Evidence.(type) {
	case *PortPressureEvidence:
		c := *ev
		c.Points = slices.Clone(ev.Points)
		for i := range c.Points {
			c.Points[i].T = shiftSeconds(c.Points[i].T, d)
		}
		f.Evidence = &c
	case *NATEvidence:
		c := *ev
		c.Points = slices.Clone(ev.Points)
		for i := range c.Points {
			c.Points[i].T = shiftSeconds(c.Points[i].T, d)
		}
		f.Evidence = &c
	}
}

// shiftSeconds is t+d rounded to the nanosecond, as Seconds would give it.
func shiftSeconds(t, d float64) float64 { return math.Round((t+d)*1e9) / 1e9 }
