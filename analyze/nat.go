package analyze

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"

	"github.com/twscope/twscope/reassembly"
)

// natTimestamps finds, per source IP, the SYNs whose TSval is behind the
// TSval most recently seen from that IP (domain.md 5): what Linux's
// tcp_tw_recycle checked per peer, and dropped silently behind NAT.
//
// The tracker judges each SYN as it passes (Record.SYNTS); this detector
// adds what only the whole capture shows: how many timestamp clocks the IP
// has, and whether their offsets are drawn per address pair (old Linux:
// one line per host, so the lines count the hosts behind a NAT) or per
// four-tuple (Linux 6.x: every connection has its own line, NAT or not).
//
// A SYN behind by at most TCP_PAWS_WINDOW (1 tick) is not listed: Linux let
// it pass, and one clock's segments of two connections can swap places on
// the way to the capture point.
type natTimestamps struct {
	ips map[netip.Addr]*ipStamps
	// last is the entry of the last client and server address, to skip
	// a lookup: a few servers take most connections.
	last [2]*ipStamps
}

// Bounds on what is kept per source IP, so that memory does not grow with
// the capture: the timestamped connections that estimate the clocks (and
// become plot points), the SYNs listed in a finding, its frames, and the
// IPs that get plot points.
const (
	natMaxConns  = 128
	natMaxSYNs   = 1000
	natMaxFrames = 200
	natMaxPoints = 2000
	natPlotIPs   = 10
	// natMinConns is how many timestamped connections an IP needs before
	// per-connection and per-host offsets can be told apart.
	natMinConns = 3
	// pawsWindow is TCP_PAWS_WINDOW: how far behind Linux let a TSval be.
	pawsWindow = 1
)

// Offset models of contract.md.
const (
	OffsetsPerAddressPair = "per_address_pair"
	OffsetsPerConnection  = "per_connection"
	OffsetsUnknown        = "unknown"
)

// Clock matching. Two timestamps lie on one clock when the second is where
// the first's clock, ticking at the rate, would be by then, within
// clockJitter seconds of path delay between the sender and the capture
// point plus clockDrift of the time between them (crystals are within
// 100 ppm; 1000 ppm leaves room for a rate a little off its nominal
// value). With random 32-bit offsets a chance match is a few in 10^7 per
// pair; the verdict below tolerates a few.
const (
	clockJitter = 0.5  // s
	clockDrift  = 1e-3 // relative
)

// tsRates are the TSval clock rates (Hz) of real stacks, the most common
// first: 1000 (Linux since 4.13, Windows, FreeBSD), 250 and 100 (older
// Linux, HZ-based), 10, and 2 (old BSDs' 500 ms slow timer, PR_SLOWHZ).
var tsRates = []float64{1000, 250, 100, 10, 2}

// freshTS is the highest TSval at a SYN or SYN+ACK taken for a clock that
// started with the connection (some BSD-derived stacks send TSval 1 in
// every SYN): such a clock is the connection's own, whatever the time. A
// random or uptime-based offset lands this low a few times in 10^8.
const freshTS = 100

func newNATTimestamps() *natTimestamps {
	return &natTimestamps{ips: make(map[netip.Addr]*ipStamps)}
}

// ipStamps is what one source IP's timestamps looked like over the capture.
type ipStamps struct {
	addr      netip.Addr
	conns     []stampConn // its timestamped sides of connections
	skipped   int         // timestamped sides past natMaxConns
	syns      []natSYN    // SYNs behind, or that the tcp_tw_recycle rule would drop
	listed    int         // all such SYNs, listed or not
	behind    int         // of them, behind the latest TSval
	recycle   int         // of them, where the exact tcp_tw_recycle rule applies
	maxBy     uint32
	others    map[int]bool // connections that sent the TSvals the SYNs are behind
	unanswerd int          // listed SYNs sent again before any SYN+ACK
}

// stampConn is one side of a connection as a clock sample: its first and
// last TSval and when they were captured.
type stampConn struct {
	id              int
	firstAt, lastAt int64
	first, last     uint32
	peer            addrPort16
	port            uint16 // the IP's own port
	client          bool   // the IP is the client (sent the SYN)
	synTS           bool   // the first TSval is the SYN's (or SYN+ACK's)
	clock           int32  // index of the clock it lies on, over the whole IP
}

// addrPort16 is a netip.AddrPort without the pointer netip.Addr carries:
// 20 bytes instead of 32, for samples kept by the thousand.
type addrPort16 struct {
	addr [16]byte
	port uint16
	v4   bool
}

func packAddrPort(ap netip.AddrPort) addrPort16 {
	return addrPort16{ap.Addr().As16(), ap.Port(), ap.Addr().Is4()}
}

func (a addrPort16) addrPort() netip.AddrPort {
	ip := netip.AddrFrom16(a.addr)
	if a.v4 {
		ip = ip.Unmap()
	}
	return netip.AddrPortFrom(ip, a.port)
}

// natSYN is one listed SYN with what locates it.
type natSYN struct {
	NATSYN
	at     int64
	frame  reassembly.Frame
	client netip.AddrPort
	server netip.AddrPort
}

// NATSYN is one SYN in a nat_ts_regression finding's evidence.
type NATSYN struct {
	Conn   int     `json:"conn"`
	Frame  int     `json:"frame"`
	Time   string  `json:"time"`
	Server string  `json:"server"`
	TSval  *uint32 `json:"tsval"` // null: the SYN had no timestamp option
	// Latest is the latest TSval from the IP within 60 s before the SYN,
	// sent by LatestConn LatestAgoS seconds earlier (null: none).
	Latest     *uint32  `json:"latest"`
	LatestConn int      `json:"latest_conn,omitempty"`
	LatestAgoS *float64 `json:"latest_ago_s"`
	Behind     bool     `json:"behind"`
	BehindBy   uint32   `json:"behind_by"` // TSval ticks
	// Recycle: the exact tcp_tw_recycle rule applies; the TSval the server
	// remembered when it put RecycleConn into TIME_WAIT is ahead by more
	// than 1 (or the SYN had no timestamp).
	Recycle     bool `json:"recycle"`
	RecycleConn int  `json:"recycle_conn,omitempty"`
	Answered    bool `json:"answered"` // a SYN+ACK came back
	SentAgain   int  `json:"sent_again"`
	Clock       int  `json:"clock"` // index into the IP's clocks; -1 without timestamp
}

// NATPoint is one TSval seen from a source IP, kept for the plot of TSval
// against capture time with one colour per clock and the SYNs a per-IP
// timestamp check would drop marked.
type NATPoint struct {
	Conn    int     `json:"conn"`
	T       float64 `json:"t"` // Unix seconds
	TSval   uint32  `json:"tsval"`
	Clock   int     `json:"clock"`
	SYN     bool    `json:"syn"`
	Behind  bool    `json:"behind"`  // a SYN behind the IP's latest TSval
	Dropped bool    `json:"dropped"` // a SYN tcp_tw_recycle would drop
}

func (d *natTimestamps) ip(addr netip.Addr) *ipStamps {
	ip := d.ips[addr]
	if ip == nil {
		ip = &ipStamps{addr: addr, others: map[int]bool{}}
		d.ips[addr] = ip
	}
	return ip
}

func (d *natTimestamps) observe(r *reassembly.Record) {
	// Both sides are clock samples of their address: the tracker's latest
	// TSval from an IP counts every segment it sent, as a server too.
	for _, s := range []struct {
		f          *reassembly.Flow
		self, peer netip.AddrPort
		client     bool
	}{{&r.C, r.Client, r.Server, true}, {&r.S, r.Server, r.Client, false}} {
		if !s.f.HasTS {
			continue
		}
		side := 0
		if !s.client {
			side = 1
		}
		ip := d.last[side]
		if ip == nil || ip.addr != s.self.Addr() {
			ip = d.ip(s.self.Addr())
			d.last[side] = ip
		}
		if len(ip.conns) >= natMaxConns {
			ip.skipped++
			continue
		}
		ip.conns = append(ip.conns, stampConn{
			id: r.ID, peer: packAddrPort(s.peer), port: s.self.Port(), client: s.client,
			first: s.f.TSFirst, last: s.f.TSLast, firstAt: s.f.TSFirstTime, lastAt: s.f.TSLastTime,
			synTS: s.f.SYNHasTS && s.f.TSFirstTime == s.f.SYN.Time,
		})
	}

	st := &r.SYNTS
	behind := st.Checked && st.Behind && st.By > pawsWindow
	if r.Partial || !r.C.SYN.Seen() || (!behind && !st.Recycle) {
		return
	}
	ip := d.ip(r.Client.Addr())
	ip.listed++
	if behind {
		ip.behind++
		ip.maxBy = max(ip.maxBy, st.By)
		if len(ip.others) < natMaxSYNs {
			ip.others[st.LatestConn] = true
		}
	}
	if st.Recycle {
		ip.recycle++
		if len(ip.others) < natMaxSYNs {
			ip.others[st.RecycleConn] = true
		}
	}
	if st.Unanswered > 0 {
		ip.unanswerd++
	}
	if len(ip.syns) >= natMaxSYNs {
		return
	}
	s := natSYN{at: r.C.SYN.Time, frame: r.C.SYN.Frame, client: r.Client, server: r.Server, NATSYN: NATSYN{
		Conn: r.ID, Frame: r.C.SYN.Frame.N, Time: FormatTime(r.C.SYN.Time), Server: r.Server.String(),
		Behind: behind, Recycle: st.Recycle, Answered: st.Answered, SentAgain: st.Unanswered, Clock: -1,
	}}
	if r.C.SYNHasTS {
		ts := r.C.TSFirst
		s.TSval = &ts
	}
	if st.Checked {
		latest, ago := st.Latest, Seconds(r.C.SYN.Time-st.LatestAt)
		s.Latest, s.LatestConn, s.LatestAgoS = &latest, st.LatestConn, &ago
	}
	if behind {
		s.BehindBy = st.By
	}
	if st.Recycle {
		s.RecycleConn = st.RecycleConn
	}
	ip.syns = append(ip.syns, s)
}

func (d *natTimestamps) finish(res *Result) {
	var flagged []*ipStamps
	for _, ip := range d.ips {
		if ip.listed > 0 {
			flagged = append(flagged, ip)
		}
	}
	// The IPs with the most SYNs behind get plot points.
	sort.Slice(flagged, func(i, j int) bool {
		a, b := flagged[i], flagged[j]
		if a.listed != b.listed {
			return a.listed > b.listed
		}
		return a.addr.Less(b.addr)
	})
	for i, ip := range flagged {
		res.Findings = append(res.Findings, ip.finding(i < natPlotIPs))
	}
}

// finding reports one IP: its SYNs, its clocks, and what they mean.
func (ip *ipStamps) finding(plot bool) Finding {
	fit := fitClocks(ip.conns)
	clockOf := map[int]int{}
	for _, c := range ip.conns {
		if c.client {
			clockOf[c.id] = int(c.clock)
		}
	}

	conns := map[int]bool{}
	for id := range ip.others {
		conns[id] = true
	}
	var frames []reassembly.Frame
	syns := make([]NATSYN, len(ip.syns))
	for i, s := range ip.syns {
		conns[s.Conn] = true
		if len(frames) < natMaxFrames {
			frames = append(frames, s.frame)
		}
		if c, ok := clockOf[s.Conn]; ok && s.TSval != nil {
			s.Clock = c
		}
		syns[i] = s.NATSYN
	}
	ids := make([]int, 0, len(conns))
	for id := range conns {
		if id > 0 {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)

	severity := SeverityWarning
	switch {
	case ip.unanswerd > 0:
		severity = SeverityCritical
	case fit.offsets == OffsetsPerConnection:
		severity = SeverityInfo
	}
	f := newFinding(KindNATTSRegression, severity, ip.syns[0].at, ids...)
	f.addFrames(frames...)
	f.about(ip.syns[0].client, ip.syns[0].server, ip.syns[0].frame)
	if len(f.Frames) == 0 {
		f.Filter = HostFilter(ip.addr)
	}

	ev := &NATEvidence{
		DistinctOffsets:   fit.lines,
		FourTuples:        fit.tuples,
		HostFilter:        HostFilter(ip.addr),
		IP:                ip.addr.String(),
		MaxBehindBy:       ip.maxBy,
		Offsets:           fit.offsets,
		RateHz:            fit.rate,
		SharedClockTuples: fit.shared,
		SYNs:              syns,
		SYNsBehind:        ip.behind,
		SYNsRecycle:       ip.recycle,
		SYNsTotal:         ip.listed,
		TimestampedConns:  len(ip.conns) + ip.skipped,
		Unanswered:        ip.unanswerd,
	}
	if fit.offsets == OffsetsPerAddressPair {
		ev.Clocks = ptr(fit.hosts) // else null: the host count is unknown
	}
	if plot {
		ev.Points = ip.points(syns)
	}
	f.Evidence = ev
	f.Summary = ip.summary(fit)
	f.Advice = ip.advice(fit)
	return f
}

// points are the IP's TSvals for the plot: each connection's first and
// last, as long as natMaxPoints allows; the first ones always.
func (ip *ipStamps) points(syns []NATSYN) []NATPoint {
	bySYN := map[int]NATSYN{}
	for _, s := range syns {
		bySYN[s.Conn] = s
	}
	both := 2*len(ip.conns) <= natMaxPoints
	pts := make([]NATPoint, 0, min(natMaxPoints, 2*len(ip.conns)))
	for _, c := range ip.conns {
		if len(pts) >= natMaxPoints {
			break
		}
		p := NATPoint{Conn: c.id, T: Seconds(c.firstAt), TSval: c.first, Clock: int(c.clock), SYN: c.client && c.synTS}
		if s, ok := bySYN[c.id]; ok && c.client && c.synTS {
			p.Behind, p.Dropped = s.Behind, s.Recycle
		}
		pts = append(pts, p)
		if both && c.lastAt != c.firstAt {
			pts = append(pts, NATPoint{Conn: c.id, T: Seconds(c.lastAt), TSval: c.last, Clock: int(c.clock)})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].T < pts[j].T })
	return pts
}

func (ip *ipStamps) summary(fit clockFit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sent %s", ip.addr, plural(ip.listed, "SYN"))
	switch {
	case ip.behind == ip.listed:
		fmt.Fprintf(&b, " whose TSval is behind the latest TSval from that address within 60 s (by up to %d ticks)", ip.maxBy)
	case ip.behind > 0:
		fmt.Fprintf(&b, " that a per-IP timestamp check would refuse: %d behind the latest TSval from that address within 60 s (by up to %d ticks)",
			ip.behind, ip.maxBy)
	default:
		b.WriteString(" that a per-IP timestamp check would refuse")
	}
	if ip.recycle > 0 {
		fmt.Fprintf(&b, "; for %d the exact tcp_tw_recycle rule applies (the newer TSval came from a connection the server held in TIME_WAIT)", ip.recycle)
	}
	b.WriteString("; ")
	answered := 0
	for _, s := range ip.syns {
		if s.Answered {
			answered++
		}
	}
	switch {
	case ip.unanswerd > 0:
		fmt.Fprintf(&b, "%s sent again without a SYN+ACK in between", plural(ip.unanswerd, "SYN was", "SYNs were"))
	case answered == len(ip.syns):
		b.WriteString("the server answered every one")
	default:
		fmt.Fprintf(&b, "the server answered %d of them, and none was sent again", answered)
	}
	b.WriteString(", seen in the capture. ")
	switch fit.offsets {
	case OffsetsPerConnection:
		fmt.Fprintf(&b, "Its %d timestamped connections show %d clock offsets, one per four-tuple", fit.conns, fit.lines)
		if fit.fresh > 0 {
			fmt.Fprintf(&b, " (%d start their clock at the SYN)", fit.fresh)
		}
		b.WriteString(": a stack that draws a timestamp offset per connection (as Linux 6.x does), so TSvals jump between connections with or without NAT, and how many hosts use this address is unknown.")
	case OffsetsPerAddressPair:
		fmt.Fprintf(&b, "Its %d timestamped connections lie on %d clocks, each shared across source ports toward one address (offsets per address pair): about %d hosts, or network namespaces, share this address (NAT).",
			fit.conns, fit.hosts, fit.hosts)
	default:
		if fit.conns < natMinConns {
			fmt.Fprintf(&b, "Only %d timestamped connections: too few to tell per-connection offsets from several hosts behind NAT.", fit.conns)
		} else {
			fmt.Fprintf(&b, "Its %d timestamped connections show %d clock offsets, some shared across source ports and some not: per-connection offsets and per-host clocks mixed, host count unknown.",
				fit.conns, fit.lines)
		}
	}
	return b.String()
}

func (ip *ipStamps) advice(fit clockFit) string {
	const never = "Never enable net.ipv4.tcp_tw_recycle (removed in Linux 4.12); any system still offering a per-IP timestamp check is unsafe for clients behind NAT."
	switch {
	case ip.unanswerd > 0:
		return fmt.Sprintf("%s after its TSval went backwards: something on the path to the server checks timestamps per source IP and drops the SYN silently, as Linux before 4.12 did with tcp_tw_recycle=1 (counter PAWSPassive / \"passive connections rejected because of time stamp\" in netstat -s). If the capture was taken on the server, the server itself dropped them: set net.ipv4.tcp_tw_recycle=0. ",
			plural(ip.unanswerd, "SYN from "+ip.addr.String()+" got no SYN+ACK and was sent again", "SYNs from "+ip.addr.String()+" got no SYN+ACK and were sent again")) + never
	case fit.offsets == OffsetsPerConnection:
		return "Nothing to fix on current kernels: per-connection timestamp offsets are normal, and no SYN was sent again unanswered. Only a server checking timestamps per IP (Linux before 4.12 with tcp_tw_recycle=1) would drop these SYNs. " + never
	case fit.offsets == OffsetsPerAddressPair:
		return fmt.Sprintf("Several hosts share %s: a server with tcp_tw_recycle=1 (Linux before 4.12) would silently drop %s, and their clients would see SYN retransmissions and connect timeouts. None went unanswered in the capture. ",
			ip.addr, plural(ip.listed, "SYN like this one", "of these SYNs")) + never
	}
	return "None of these SYNs went unanswered in the capture; a server checking timestamps per IP (Linux before 4.12 with tcp_tw_recycle=1) would drop them. " + never
}

// clockFit is what one IP's timestamps say about its clocks.
type clockFit struct {
	rate    float64 // TSval ticks per second
	conns   int     // timestamped connection sides considered
	lines   int     // distinct clocks (offsets) over all peers
	hosts   int     // most clocks toward one peer address
	tuples  int     // distinct four-tuples
	shared  int     // four-tuples on a clock another four-tuple is on too
	fresh   int     // connections whose clock started at their SYN
	offsets string
}

// fitClocks groups the connections by clock ("connections whose TSval
// minus rate x time agree share a clock"), per peer address since old
// Linux drew an offset per address pair, and sets each one's clock index.
//
// The verdict: fewer than natMinConns connections tell nothing. When no
// clock is shared by two four-tuples (later incarnations of one four-tuple
// keep its offset on Linux 6.x), or only by a tenth of them (chance), the
// offsets are per connection. When at least half the four-tuples share
// their clock with another, offsets are per address pair and the clocks
// toward one peer estimate the hosts. In between is unknown.
func fitClocks(cs []stampConn) clockFit {
	fit := clockFit{conns: len(cs), rate: tsRates[0]}
	groups := map[netip.Addr][]*stampConn{}
	var peers []netip.Addr
	for i := range cs {
		if cs[i].synTS && cs[i].first <= freshTS {
			fit.fresh++
		}
		p := cs[i].peer.addrPort().Addr()
		if groups[p] == nil {
			peers = append(peers, p)
		}
		groups[p] = append(groups[p], &cs[i])
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Less(peers[j]) })

	type tuple struct {
		peer netip.AddrPort
		port uint16
	}
	all, shared := map[tuple]bool{}, map[tuple]bool{}
	biggest := 0
	for _, p := range peers {
		g := groups[p]
		sort.SliceStable(g, func(i, j int) bool { return g[i].firstAt < g[j].firstAt })
		rate, lines := bestRate(g)
		if len(g) > biggest {
			biggest, fit.rate = len(g), rate
		}
		fit.hosts = max(fit.hosts, len(lines))
		for k, l := range lines {
			for _, c := range l.members {
				c.clock = int32(fit.lines + k)
				all[tuple{c.peer.addrPort(), c.port}] = true
				if len(l.tuples) > 1 {
					shared[tuple{c.peer.addrPort(), c.port}] = true
				}
			}
		}
		fit.lines += len(lines)
	}
	fit.tuples, fit.shared = len(all), len(shared)

	switch {
	case fit.conns < natMinConns:
		fit.offsets = OffsetsUnknown
	case fit.shared == 0 || fit.shared*10 <= fit.tuples:
		fit.offsets = OffsetsPerConnection
	case fit.shared*2 >= fit.tuples:
		fit.offsets = OffsetsPerAddressPair
	default:
		fit.offsets = OffsetsUnknown
	}
	return fit
}

// clockLine is one clock: its latest sample, and who lies on it.
type clockLine struct {
	ts      uint32
	at      int64
	members []*stampConn
	tuples  map[uint32]bool // peer port << 16 | own port
	fresh   bool            // started at its connection's SYN
}

// bestRate clusters the group at each plausible rate and keeps the rate
// that explains it with the fewest clocks; the standard rates come first,
// so a tie keeps the most common. Besides the standard rates it tries the
// rate long connections show on their own (TSLast - TSFirst over their
// duration) and the rate most pairs of nearby connections agree on, for
// stacks (or crafted captures) that tick at another rate.
func bestRate(g []*stampConn) (float64, []*clockLine) {
	var own, pairs []float64
	for i, c := range g {
		if d := c.lastAt - c.firstAt; d >= 1e9 && int32(c.last-c.first) > 0 {
			own = append(own, float64(c.last-c.first)/(float64(d)/1e9))
		}
		for _, n := range g[i+1 : min(len(g), i+9)] {
			d := n.firstAt - c.lastAt
			if t := int32(n.first - c.last); d >= 50e6 && t > 0 {
				pairs = append(pairs, float64(t)/(float64(d)/1e9))
			}
		}
	}
	// The rate a connection measured on itself comes first, so that it
	// wins a tie (every connection on its own clock ties at every rate).
	var rates []float64
	if r := commonRate(own, 1); r > 0 {
		rates = append(rates, snapRate(r))
	}
	rates = append(rates, tsRates...)
	if r := commonRate(pairs, 2); r > 0 {
		rates = append(rates, snapRate(r))
	}
	var best []*clockLine
	bestR := rates[0]
	for _, r := range rates {
		lines := cluster(g, r)
		if best == nil || len(lines) < len(best) {
			best, bestR = lines, r
		}
	}
	return bestR, best
}

// commonRate is the rate (1 Hz to 10 kHz, RFC 7323 allows 1 Hz to 1 kHz)
// at least n of the slopes agree on within 2%, the most agreed first;
// 0 when none.
func commonRate(slopes []float64, n int) float64 {
	bins := map[int][]float64{}
	for _, s := range slopes {
		if s >= 1 && s <= 1e4 {
			k := int(math.Round(math.Log(s) / math.Log(1.02)))
			bins[k] = append(bins[k], s)
		}
	}
	bestK, bestN := 0, 0
	for k, v := range bins {
		if len(v) > bestN || (len(v) == bestN && k < bestK) {
			bestK, bestN = k, len(v)
		}
	}
	if bestN < n {
		return 0
	}
	v := bins[bestK]
	sort.Float64s(v)
	return math.Round(v[len(v)/2]*10) / 10
}

// snapRate returns the standard rate within 5% of r, else r.
func snapRate(r float64) float64 {
	for _, s := range tsRates {
		if math.Abs(r-s) <= 0.05*s {
			return s
		}
	}
	return r
}

// cluster puts each connection, in order of its first TSval, on the clock
// whose latest sample predicts that TSval best, within the tolerance, or
// on a new clock. A clock that started at its connection's SYN is that
// connection's alone.
func cluster(g []*stampConn, rate float64) []*clockLine {
	var lines []*clockLine
	for _, c := range g {
		var on *clockLine
		var onGap int64
		fresh := c.synTS && c.first <= freshTS
		for _, l := range lines {
			if fresh || l.fresh {
				continue
			}
			dt := c.firstAt - l.at
			gap := abs64(clockGap(l.ts, l.at, c.first, c.firstAt, rate))
			tol := int64(rate*(clockJitter+clockDrift*math.Abs(float64(dt)/1e9))) + 2
			if gap <= tol && (on == nil || gap < onGap) {
				on, onGap = l, gap
			}
		}
		if on == nil {
			on = &clockLine{ts: c.first, at: c.firstAt, fresh: fresh, tuples: map[uint32]bool{}}
			lines = append(lines, on)
		}
		on.members = append(on.members, c)
		on.tuples[uint32(c.peer.port)<<16|uint32(c.port)] = true
		if c.lastAt >= on.at {
			on.ts, on.at = c.last, c.lastAt
		}
	}
	return lines
}

// clockGap is how far ts2 at at2 lies from where a clock that read ts at
// at, ticking at rate, would be: in ticks, serially (TSvals wrap).
func clockGap(ts uint32, at int64, ts2 uint32, at2 int64, rate float64) int64 {
	ticks := int64(math.Round(rate * float64(at2-at) / 1e9))
	return int64(int32(ts2 - (ts + uint32(ticks))))
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
