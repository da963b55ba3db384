package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// timeWait rebuilds how many sockets each host held in TIME_WAIT over the
// capture, fills the report's hosts section, and reports ephemeral port
// pressure (domain.md section 4).
//
// A holder's socket is in TIME_WAIT from the moment the capture shows it
// entering the state: its final ACK (its ACK of the peer's FIN), or after
// crossed FINs the peer's ACK of its own FIN (CLOSING to TIME_WAIT);
// the record's close time when neither is seen. It stays there for the
// profile's TIME_WAIT length, less when the next incarnation of the same
// four-tuple starts (its SYN ends the old TIME_WAIT: tcp_tw_reuse on the
// client, a SYN accepted in TIME_WAIT on the server), and the occupancy is
// known only up to the end of the capture. Connections that were already
// in TIME_WAIT when the capture started are not visible, so every figure is
// a lower bound.
//
// Records arrive in finish order, not time order, so the detector keeps one
// small interval per TIME_WAIT and applies them in time order as the
// tracker's watermark passes them (twstream.go).
type timeWait struct {
	limited         // port_pressure findings are listed up to MaxExamples
	tw        int64 // TIME_WAIT length, ns
	portRange [2]int

	first, last int64
	seriesEnd   int64 // the last TIME_WAIT's end, at or after last: where series end
	base        int64 // Result.SeriesStart: what series times count from
	// hosts finds an address's row in hostList, groups a pair's in
	// groupList: rows by index, in slices without pointers to scan.
	hosts     idTable[addrKey]
	hostList  []hostAcc
	groups    idTable[groupKey]
	groupList []pressureGroup
	intervals []twInterval
	// byConn finds the intervals of a record that a later incarnation of
	// the same four-tuple may cut short, by the seq of its first interval
	// still kept (its low 31 bits, seqLow and seqOf: an id of idTable);
	// an entry goes once it is used or its intervals are.
	byConn     idTable[connKey]
	nextSeq    int64 // of the next interval
	lastServer int32 // the last server's host, to skip a lookup (-1: none)
	// otherHost is the row (in hostList, after the others) summing the
	// addresses first seen once MaxHosts were kept, -1 until then;
	// pairsOther sums the pairs past MaxPairs (tables.go).
	otherHost  int32
	pairsOther PairsFold
	// stream is the running occupancy (twstream.go).
	stream twStream
	keep   bool // leave every host's series in the result (Options.KeepOccupancy)
}

// twInterval is one socket in TIME_WAIT: [start, end) on a host.
type twInterval struct {
	start, end int64
	seq        int64 // intervals are numbered as they come, so d.intervals is in seq order
	host       int32 // index into hostList
	group      int32 // port pressure group when the client held it, else -1
	conn       int32
	frame      int32  // frame of the ACK that put the socket into TIME_WAIT
	file       int32  // capture file of that frame
	port       uint16 // the client's port, to name the connection
	flags      twFlags
}

// twFlags are an interval's facts in one byte, for a 48-byte interval.
type twFlags uint8

const (
	twTwo     twFlags = 1 << iota // the next interval belongs to the same record (both sides held it)
	twStarted                     // streaming: its entry is applied (twstream.go)
	twIndexed                     // byConn holds its seq: it is its record's first interval still kept
)

func (f twFlags) has(x twFlags) bool { return f&x != 0 }

// set turns x on or off.
func (f *twFlags) set(x twFlags, on bool) {
	if on {
		*f |= x
	} else {
		*f &^= x
	}
}

// hostAcc is what one IP address did in the capture.
type hostAcc struct {
	addr                      netip.Addr
	index                     int32
	conns, closes, rsts, held int
}

// groupKey is a pressureKey by the hosts' indexes: small, and without
// pointers, so cheap to hash and compare.
type groupKey struct {
	client, server int32
	port           uint16
}

// pressureGroup is one client IP's connections toward one server endpoint
// (by its hosts' rows: no pointer in the table).
type pressureGroup struct {
	groupKey
	index             int32
	conns             int
	firstSYN, lastSYN int64
	timestamps        int // connections with timestamps on both sides
	held              int // client-held TIME_WAITs
	// loPort and hiPort bound the client ports seen: the range it was
	// seen to use (seenRange).
	loPort, hiPort uint16
	// twReuse counts new incarnations whose client ISN carries the
	// tcp_tw_reuse fingerprint (reuseMechanism): the option is on at
	// this client.
	twReuse int
}

// seenRange is the client's port range as the capture shows it, when it
// is narrower than the configured one: the client made at least twice as
// many connections as there are ports between the lowest and the highest
// it used, so it came back to the ports of that span, each about twice,
// rather than take one outside it (a stack takes a port outside only when
// its range has one). Fewer connections prove nothing: a client takes its
// ports in sequence (Linux: from an offset per destination), so a short
// capture shows a narrow span from any range. A single port is what an
// application's bind() gives, not a range, and is left alone.
func (g *pressureGroup) seenRange(configured [2]int) ([2]int, bool) {
	lo, hi := int(g.loPort), int(g.hiPort)
	span := hi - lo + 1
	if span < 2 || g.conns < 2*span || span >= configured[1]-configured[0]+1 {
		return configured, false
	}
	return [2]int{lo, hi}, true
}

// Port pressure thresholds, as fractions of the client's port range: at
// half the range a burst or a slower close already risks EADDRNOTAVAIL; at
// 90 % connect() is about to fail.
const (
	pressureWarning  = 0.5
	pressureCritical = 0.9
	// A projection (rate x TIME_WAIT) alone is reported only when the rate
	// was measured over this many connections and this long, so that a
	// short burst is not extrapolated.
	projectMinConns = 100
	projectMinSpan  = int64(time.Second)
	// maxListed bounds connection ids and frames listed in one finding.
	maxListed = 50
	// Occupancy series for plots: the hosts with the highest peaks, each
	// at most seriesPoints points.
	seriesHosts  = 10
	seriesPoints = 500
)

func newTimeWait(opts Options) *timeWait {
	tw := timeWaitLimit(opts.Profile.TimeWait)
	pr := opts.PortRange
	if pr == [2]int{} {
		pr = DefaultPortRange
	}
	return &timeWait{
		tw: int64(tw), portRange: pr,
		hosts:      newIDTable[addrKey](),
		groups:     newIDTable[groupKey](),
		byConn:     newIDTable[connKey](),
		keep:       opts.KeepOccupancy,
		lastServer: -1, otherHost: -1,
	}
}

// host is the index of a's row in hostList, made when it has none.
func (d *timeWait) host(a netip.Addr) int32 {
	k := keyOfAddr(a)
	if i, ok := d.hosts.get(k); ok {
		return i
	}
	if d.hosts.len() >= maxHosts {
		return d.foldedHost()
	}
	i := int32(len(d.hostList))
	d.hostList = append(d.hostList, hostAcc{addr: a, index: i})
	d.hosts.put(k, i)
	return i
}

func (d *timeWait) observe(r *reassembly.Record) {
	if d.first == 0 || r.Start < d.first {
		d.first = r.Start
	}
	if r.End > d.last {
		d.last = r.End
	}
	start := r.Start
	if r.C.SYN.Seen() {
		start = r.C.SYN.Time
	}
	if r.HasPrev {
		d.cut(r.Prev.ID, start)
	}

	ci := d.host(r.Client.Addr())
	si := d.lastServer
	if si < 0 || d.hostList[si].addr != r.Server.Addr() { // a few servers take most connections
		si = d.host(r.Server.Addr())
		d.lastServer = si
	}
	c, s := &d.hostList[ci], &d.hostList[si]
	c.conns++
	if si != ci {
		s.conns++
	}
	for _, x := range [2]struct {
		h    *hostAcc
		side reassembly.Side
	}{{c, reassembly.SideClient}, {s, reassembly.SideServer}} {
		if r.Closer == x.side || r.Closer == reassembly.SideBoth {
			x.h.closes++
		}
		if r.RSTBy == x.side || r.RSTBy == reassembly.SideBoth {
			x.h.rsts++
		}
	}

	g := d.group(ci, si, r, start)
	if g == nil {
		d.pairsOther.Connections++
	} else {
		g.conns++
		g.firstSYN, g.lastSYN = min(g.firstSYN, start), max(g.lastSYN, start)
		if r.C.HasTS && r.S.HasTS {
			g.timestamps++
		}
		g.loPort, g.hiPort = min(g.loPort, r.Client.Port()), max(g.hiPort, r.Client.Port())
		if r.HasPrev && !r.Prev.Turned && !sameSYNAgain(r) && reuseMechanism(r) == mechTWReuse {
			g.twReuse++
		}
	}

	holder := r.TimeWaitHolder
	if holder == reassembly.SideNone {
		return
	}
	d.byConn.set(connKey(r.ID), seqLow(d.nextSeq))
	firstSeq := d.nextSeq
	for _, sd := range [2]reassembly.Side{reassembly.SideClient, reassembly.SideServer} {
		if holder != sd && holder != reassembly.SideBoth {
			continue
		}
		entry := d.entry(r, sd)
		iv := twInterval{
			start: entry.Time, end: entry.Time + d.tw, host: c.index, group: -1,
			conn: int32(r.ID), frame: int32(entry.Frame.N), file: int32(entry.Frame.File), port: r.Client.Port(),
			seq: d.nextSeq,
		}
		iv.flags.set(twTwo, holder == reassembly.SideBoth && sd == reassembly.SideClient)
		iv.flags.set(twIndexed, d.nextSeq == firstSeq)
		d.nextSeq++
		if sd == reassembly.SideServer {
			iv.host = s.index
			s.held++
		} else {
			c.held++
			if g != nil {
				g.held++
				iv.group = g.index
			} else {
				d.pairsOther.ClientTimeWait++
			}
		}
		d.intervals = append(d.intervals, iv)
	}
}

// entry is when a side entered TIME_WAIT as the capture shows it.
func (d *timeWait) entry(r *reassembly.Record, s reassembly.Side) reassembly.Event {
	return TimeWaitEntry(r, s)
}

// cut ends the TIME_WAIT of incarnation id when its four-tuple's next
// incarnation starts at t.
func (d *timeWait) cut(id int, t int64) {
	low, ok := d.byConn.get(connKey(id))
	if !ok {
		return
	}
	d.byConn.del(connKey(id))
	i, ok := slices.BinarySearchFunc(d.intervals, d.seqOf(low), func(iv twInterval, seq int64) int { return cmp.Compare(iv.seq, seq) })
	if !ok {
		return
	}
	d.intervals[i].flags.set(twIndexed, false)
	for {
		iv := &d.intervals[i]
		iv.end = max(min(iv.end, t), iv.start)
		if !iv.flags.has(twTwo) {
			return
		}
		i++
	}
}

// seqMask keeps the low 31 bits of a seq.
const seqMask = 1<<31 - 1

// seqLow is the low 31 bits of seq.
func seqLow(seq int64) int32 { return int32(seq & seqMask) }

// seqOf is the seq whose low 31 bits are low: the latest at or before
// nextSeq, as the intervals kept span far fewer than 2^31 seqs (they end
// within a TIME_WAIT length).
func (d *timeWait) seqOf(low int32) int64 {
	return d.nextSeq - (d.nextSeq-int64(low))&seqMask
}

// TimeWaitSeries is one host's TIME_WAIT occupancy over the capture, for
// plots: the most it held in each of at most 500 equal time bins.
type TimeWaitSeries struct {
	IP   string `json:"ip"`
	Peak int    `json:"peak"`
	// Start is Result.SeriesStart, the capture's first packet, which T
	// counts from (the same for every series).
	Start Time `json:"start"`
	// CaptureEnd is the last connection's end (seconds since Start):
	// Points run on past it to where the sockets still held then leave
	// TIME_WAIT (unless a new incarnation of their four-tuple came).
	CaptureEnd float64         `json:"capture_end"`
	Points     []TimeWaitPoint `json:"points"`
}

// TimeWaitPoint is a step of an occupancy series.
type TimeWaitPoint struct {
	T float64 `json:"t"` // seconds since Result.SeriesStart
	N int     `json:"n"` // sockets in TIME_WAIT from T on
}

// hostPeak is one host's highest TIME_WAIT occupancy and when it was.
type hostPeak struct {
	h    *hostAcc
	peak int
	at   int64
}

// reportHosts lists every host, those holding the most TIME_WAIT first,
// and the occupancy series of the hosts with the highest peaks.
func (d *timeWait) reportHosts(res *Result, peaks []hostPeak, series func(*hostAcc) []TimeWaitPoint) {
	sort.Slice(peaks, func(i, j int) bool {
		a, b := peaks[i].h, peaks[j].h
		return hostBefore(a.held, a.conns, a.addr, b.held, b.conns, b.addr)
	})
	for _, p := range peaks {
		h := Host{
			IP: p.h.addr.String(), Connections: p.h.conns, TimeWaitHeld: p.h.held,
			PeakTimeWait: p.peak, ClosesInitiated: p.h.closes, RSTsSent: p.h.rsts,
		}
		if p.peak > 0 {
			h.PeakAt = timePtr(p.at)
		}
		res.Hosts = append(res.Hosts, h)
	}
	sort.SliceStable(peaks, func(i, j int) bool { return peaks[i].peak > peaks[j].peak })
	for _, p := range peaks[:min(len(peaks), seriesHosts)] {
		if p.peak == 0 {
			break
		}
		res.TimeWait = append(res.TimeWait, TimeWaitSeries{
			IP: p.h.addr.String(), Peak: p.peak, Start: Time(d.base), CaptureEnd: Seconds(d.last - d.base),
			Points: series(p.h),
		})
	}
}

// pressure judges one client's TIME_WAIT ports toward one server endpoint
// against its port range.
func (d *timeWait) pressure(g *pressureGroup) (Finding, bool) {
	client, server := d.hostList[g.client].addr, netip.AddrPortFrom(d.hostList[g.server].addr, g.port)
	portRange, narrowed := g.seenRange(d.portRange)
	size := portRange[1] - portRange[0] + 1
	a := &d.stream.groups[g.index]
	n, at, held, points := a.peak, a.at, a.listed, a.series.points(d.first, max(d.seriesEnd, d.last), d.base)
	if n == 0 {
		return Finding{}, false
	}
	fraction := float64(n) / float64(size)
	span := g.lastSYN - g.firstSYN
	rate := 0.0
	if g.conns > 1 && span > 0 {
		rate = float64(g.conns-1) / (float64(span) / 1e9)
	}
	// Only the connections the client closed first leave it a TIME_WAIT.
	twRate := rate * float64(g.held) / float64(g.conns)
	steady := twRate * float64(d.tw) / 1e9 // ports held once the rate has run for a TIME_WAIT length
	projected := g.conns >= projectMinConns && span >= projectMinSpan && steady >= pressureWarning*float64(size)

	var severity Severity
	switch {
	case fraction >= pressureCritical:
		severity = SeverityCritical
	case fraction >= pressureWarning:
		severity = SeverityWarning
	case projected:
		severity = SeverityInfo
	default:
		return Finding{}, false
	}
	var exhaustion *float64 // nil: the range does not run out
	if steady >= float64(size) && twRate > 0 {
		exhaustion = ptr(max(0, float64(size-n)/twRate))
	}

	// The sockets in TIME_WAIT at the peak prove it.
	var ids []int
	var frames []reassembly.Frame
	var example twHeld
	for _, iv := range held { // held at the peak, at most maxListed
		if len(ids) == 0 {
			example = iv
		}
		ids = append(ids, int(iv.conn))
		frames = append(frames, reassembly.Frame{File: int(iv.file), N: int(iv.frame)})
	}
	sort.Ints(ids)
	f := newFinding(KindPortPressure, severity, at, ids...)
	f.addFrames(frames...)
	f.ConnsTotal, f.FramesTotal = n, n // every socket held at the peak
	f.about(netip.AddrPortFrom(client, example.port), server, reassembly.Frame{File: int(example.file), N: int(example.frame)})
	basis := "observed"
	if fraction < pressureWarning {
		basis = "projected"
	}
	hostFilter := fmt.Sprintf("%s && tcp.dstport==%d && ip.dst==%s", HostFilter(client), server.Port(), server.Addr())
	if server.Addr().Is6() && !server.Addr().Is4In6() {
		hostFilter = fmt.Sprintf("%s && tcp.dstport==%d && ipv6.dst==%s", HostFilter(client), server.Port(), server.Addr())
	}
	f.Evidence = &PortPressureEvidence{
		Basis:                basis,
		ClientIP:             client.String(),
		ClientTimeWait:       g.held,
		ConnRatePerS:         float64(int(rate*100+0.5)) / 100,
		Connections:          g.conns,
		ExhaustionS:          exhaustion,
		Fraction:             float64(int(fraction*1e4+0.5)) / 1e4,
		HostFilter:           hostFilter,
		ListedConnsTruncated: n > len(ids),
		Peak:                 n,
		PeakAt:               FormatTime(at),
		Points:               points,
		PortRange:            portRange,
		PortRangeSize:        size,
		PortRangeSeen:        narrowed,
		ConfiguredPortRange:  d.portRange,
		TWReuseSeen:          g.twReuse,
		Server:               server.String(),
		SteadyStatePorts:     int(steady + 0.5),
		TimeWaitRatePerS:     float64(int(twRate*100+0.5)) / 100,
		TimeWaitS:            Seconds(d.tw),
	}

	pct := fraction * 100
	if basis == "observed" {
		f.Summary = fmt.Sprintf("Seen in the capture: %s held %d ports in TIME_WAIT toward %s at once (%.0f%% of its %d-port range) at %s.",
			client, n, server, pct, size, FormatTime(at))
	} else {
		f.Summary = fmt.Sprintf("Seen in the capture: %s opens %.0f connections/s to %s and closes %.0f/s of them first; "+
			"sustained for a %s TIME_WAIT that holds about %d ports (%.0f%% of its %d-port range; peak seen %d).",
			client, rate, server, twRate, seconds(d.tw), int(steady+0.5), 100*steady/float64(size), size, n)
	}
	if narrowed {
		f.Summary += fmt.Sprintf(" The range is the one the client was seen to use, %d-%d: it made %d connections on %d ports, narrower than --port-range %d-%d.",
			portRange[0], portRange[1], g.conns, size, d.portRange[0], d.portRange[1])
	}
	switch {
	case n >= size:
		f.Summary += " Every port of the range was in TIME_WAIT: connect() fails with EADDRNOTAVAIL until one leaves it"
		if g.twReuse > 0 {
			f.Summary += " (with tcp_tw_reuse on, as its ISNs show: until its last timestamp is about 1 s old)"
		}
		f.Summary += "."
	case exhaustion != nil:
		f.Summary += fmt.Sprintf(" At the observed rate the range runs out in about %s (connect() fails with EADDRNOTAVAIL).",
			seconds(int64(*exhaustion*1e9)))
	}
	advice := fmt.Sprintf("%s closed %d of its %d connections to %s first, so it keeps their TIME_WAIT: reuse connections "+
		"(HTTP keep-alive, a connection pool) instead of opening one per request.", client, g.held, g.conns, server)
	switch {
	case g.twReuse > 0:
		advice += fmt.Sprintf(" net.ipv4.tcp_tw_reuse is already on at this client: %d of its new connections to %s start at the old "+
			"next sequence + 65537, its fingerprint. It lets connect() take a port still in TIME_WAIT about 1 s after its close, "+
			"and this pressure is what remains with it on.",
			g.twReuse, server)
	case g.timestamps == g.conns:
		advice += " Its connections carry timestamps, so net.ipv4.tcp_tw_reuse=1 on the client lets connect() reuse " +
			"TIME_WAIT ports safely for these outbound connections."
	default:
		advice += " net.ipv4.tcp_tw_reuse=1 would help only with TCP timestamps on, which not all of these connections carry."
	}
	switch {
	case basis == "observed" && narrowed:
		advice += fmt.Sprintf(" Widening net.ipv4.ip_local_port_range (seen in use: %d-%d) buys headroom, since pressure is shown here.",
			portRange[0], portRange[1])
	case basis == "observed":
		advice += fmt.Sprintf(" Widening net.ipv4.ip_local_port_range (now %d-%d) buys headroom, since pressure is shown here.",
			d.portRange[0], d.portRange[1])
	}
	advice += " Never tcp_tw_recycle; tcp_fin_timeout does not shorten TIME_WAIT."
	f.Advice = advice
	return f, true
}

// unselected: the SYN of an incarnation the selection leaves out still
// ends its four-tuple's previous TIME_WAIT, which may be selected.
func (d *timeWait) unselected(r *reassembly.Record) {
	if !r.HasPrev {
		return
	}
	start := r.Start
	if r.C.SYN.Seen() {
		start = r.C.SYN.Time
	}
	d.cut(r.Prev.ID, start)
}
