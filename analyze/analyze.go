package analyze

import (
	"cmp"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// Options are the knobs of an analysis.
type Options struct {
	Profile   Profile
	PortRange [2]int // the clients' ephemeral port range, inclusive
	Tracker   reassembly.Config
	Tool      string // name and version written into the report
	// PlaceFindings fills Finding.Servers, remembering every connection's
	// server endpoint to do so (4 bytes a connection): for golden files.
	PlaceFindings bool
	// Select keeps only the connections asked about (select.go).
	Select Selection
	// CapturePoint names the capture point in the result's captures and
	// findings; KeepOccupancy keeps every host's TIME_WAIT series in the
	// result, for a partial result (merge.go).
	CapturePoint  string
	KeepOccupancy bool
	// TWBuckets is net.ipv4.tcp_max_tw_buckets of the hosts, for the
	// verdict; 0 assumes DefaultTWBuckets.
	TWBuckets int
}

// DefaultPortRange is Linux's net.ipv4.ip_local_port_range.
var DefaultPortRange = [2]int{32768, 60999}

// detector is one kind of analysis: it sees every record once, in the
// order the tracker finishes them, and adds what it found to the result.
type detector interface {
	observe(r *reassembly.Record)
	finish(res *Result)
}

// Analyzer feeds records to every detector.
type Analyzer struct {
	opts      Options
	detectors []detector
	limit     *findingLimit
	selected  selectCounter
}

// New returns an analyzer with every detector on.
func New(opts Options) *Analyzer {
	if opts.PortRange == [2]int{} {
		opts.PortRange = DefaultPortRange
	}
	a := &Analyzer{opts: opts, limit: newFindingLimit(), detectors: []detector{
		newCloseSummary(),
		newNATTimestamps(),
		newFinalAck(opts),
		newCloseWait(),
		newTimeWait(opts),
		newTupleReuse(opts.Profile.TimeWait),
		newSeqOverlap(opts.Profile.TimeWait),
		&suspectSegments{},
		&oneSided{},
	}}
	if opts.PlaceFindings {
		a.detectors = append(a.detectors, newFindingPlaces()) // last: it places the others' findings
	}
	for _, d := range a.detectors {
		if l, ok := d.(limitable); ok {
			l.setLimit(a.limit)
		}
	}
	return a
}

// Observe takes one finished incarnation, when the selection keeps it.
func (a *Analyzer) Observe(r *reassembly.Record) {
	if a.keep(r) {
		a.observe(r)
	}
}

func (a *Analyzer) observe(r *reassembly.Record) {
	a.limit.conn = a.limit.conn[:0]
	for _, d := range a.detectors {
		// A half-open incarnation the tracker closed out past its flood
		// bound is counted, and kept from the per-address detectors, whose
		// tables would grow with every spoofed source of a SYN flood.
		if r.HalfOpenEvicted && !seesEvicted(d) {
			continue
		}
		d.observe(r)
	}
}

// seesEvicted tells the detectors that see the half-open incarnations
// closed out past the flood bound too: the close counts, and the places
// of connections (a NAT finding may name one).
func seesEvicted(d detector) bool {
	switch d.(type) {
	case *closeSummary, *findingPlaces:
		return true
	}
	return false
}

// watermark passes the tracker's watermark to the detectors that settle
// time-ordered state early, to keep memory flat in the capture's length.
func (a *Analyzer) watermark(t int64) {
	for _, d := range a.detectors {
		if s, ok := d.(interface{ settle(int64) }); ok {
			s.settle(t)
		}
	}
}

// tupleNeedMargin is added to the TIME_WAIT for the tracker's TupleNeed:
// segments reach the tracker up to a reorder window out of time order.
const tupleNeedMargin = 5 * time.Second

// Run reads src to the end, calling each (when not nil) for every record
// the selection keeps as it is finished, and returns the result. A fatal
// input error is returned with the result of everything read before it.
func Run(src *reassembly.Source, opts Options, each func(*reassembly.Record)) (*Result, error) {
	a := New(opts)
	observe := func(r *reassembly.Record) {
		if !a.keep(r) {
			return
		}
		a.observe(r)
		if each != nil {
			each(r)
		}
	}
	return a.run(src, observe)
}

// RunConns is Run for outputs that name each connection's findings: each
// is called for every record once every detector has judged it, with the
// findings about that record alone (ConnFindings), all of them, listed in
// the report or past its bound. The slice is reused for the next record.
func RunConns(src *reassembly.Source, opts Options, each func(*reassembly.Record, []ConnFinding)) (*Result, error) {
	a := New(opts)
	a.limit.conns = true
	observe := func(r *reassembly.Record) {
		if !a.keep(r) {
			return
		}
		a.observe(r)
		each(r, a.limit.conn)
	}
	return a.run(src, observe)
}

// run reads src to the end with observe as the per-record function.
func (a *Analyzer) run(src *reassembly.Source, observe func(*reassembly.Record)) (*Result, error) {
	if a.opts.Select.Active() {
		a.opts.Select.resolve(captureStart(src))
	}
	opts := a.opts
	cfg := opts.Tracker
	cfg.Watermark = a.watermark
	if cfg.TupleNeed == 0 {
		// Reuse inside TIME_WAIT, and sequence overlap within it, are what
		// the remembered four-tuples are for; older ones only add the
		// informational gaps, so forgetting them first is no loss to warn of.
		cfg.TupleNeed = timeWaitLimit(opts.Profile.TimeWait) + tupleNeedMargin
	}
	var p *pipe
	if cfg.Workers != 1 && runtime.GOMAXPROCS(0) >= 2 {
		p = newPipe(observe, a.watermark)
		observe, cfg.Watermark, cfg.NewRecord = p.record, p.watermark, p.newRecord
	}
	counts, stats, err := reassembly.Run(src, cfg, observe)
	if p != nil {
		p.close()
	}
	res := a.result(src, counts, stats)
	if err != nil {
		res.Error = err.Error()
	}
	return res, err
}

func (a *Analyzer) result(src *reassembly.Source, n reassembly.Counts, st reassembly.TrackerStats) *Result {
	res := &Result{
		Schema: Schema,
		Tool:   a.opts.Tool,
		Profile: ProfileInfo{
			Name:      a.opts.Profile.Name,
			TimeWaitS: a.opts.Profile.TimeWait.Seconds(),
			Source:    a.opts.Profile.Source,
			PortRange: a.opts.PortRange,
		},
		Totals: Totals{
			Packets: n.Packets, TCPPackets: n.TCP, NonTCP: n.NonTCP, Fragments: n.Fragments,
			Truncated: n.Truncated, Filtered: n.Filtered, Connections: st.Connections, Partial: st.Partial,
			Evicted: st.Evicted, OldDuplicate: st.OldDuplicate,
			HalfOpenEvicted: st.HalfOpenEvicted, Duplicates: st.Duplicates,
			TuplesForgotten: st.TuplesForgotten, ClocksForgotten: st.ClocksForgotten,
			Suspect: st.Suspect, TimeJumps: st.TimeJumpCount,
		},
		Findings: []Finding{},
		Hosts:    []Host{},
		Warnings: []string{},
	}
	for _, f := range src.Files() {
		c := Capture{File: filepath.Base(f.Name), Format: f.Format, Packets: f.Packets, LinkTypes: []string{}}
		if f.Packets > 0 {
			c.First, c.Last = timePtr(f.First), timePtr(f.Last)
		}
		for _, lt := range f.LinkTypes {
			c.LinkTypes = append(c.LinkTypes, lt.String())
		}
		res.Captures = append(res.Captures, c)
	}
	res.SeriesStart = seriesStart(res.Captures)
	for _, w := range src.Warnings() {
		res.Warnings = append(res.Warnings, w.Error())
	}
	a.selectResult(res)
	res.Warnings = append(res.Warnings, boundWarnings(st)...)
	res.Warnings = append(res.Warnings, linkWarnings(n)...)
	res.Warnings = append(res.Warnings, timeJumpWarnings(st, src.Files())...)
	for _, d := range a.detectors {
		d.finish(res)
	}
	res.Warnings = append(res.Warnings, foldWarnings(res)...)
	for i := range res.Findings {
		res.Findings[i].bound()
		res.Findings[i].nameFiles(res.Captures)
	}
	sortFindings(res.Findings)
	if a.opts.CapturePoint != "" {
		for i := range res.Captures {
			res.Captures[i].CapturePoint = a.opts.CapturePoint
		}
		for i := range res.Findings {
			res.Findings[i].CapturePoint = a.opts.CapturePoint
		}
	}
	res.FindingCounts = countFindings(res.Findings, a.limit.omitted)
	for k, n := range a.limit.omitted {
		if res.FindingsOmitted == nil {
			res.FindingsOmitted = map[string]int{}
		}
		res.FindingsOmitted[k.kind] += n
	}
	res.Verdict = NewVerdict(res, a.opts.TWBuckets)
	return res
}

// sortFindings orders findings most severe first, then by kind and time,
// so that the report is the same for the same capture.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return compareFindings(&fs[i], &fs[j]) < 0 })
}

// compareFindings is the report's order of findings (merge.go orders by it
// too).
func compareFindings(a, b *Finding) int {
	if a.Severity.Rank() != b.Severity.Rank() {
		return cmp.Compare(a.Severity.Rank(), b.Severity.Rank())
	}
	if a.Kind != b.Kind {
		return strings.Compare(a.Kind, b.Kind)
	}
	if a.Time != b.Time {
		return cmp.Compare(a.Time, b.Time)
	}
	return cmp.Compare(first(a.Conns), first(b.Conns))
}

func first(ids []int) int {
	if len(ids) == 0 {
		return 0
	}
	return ids[0]
}
