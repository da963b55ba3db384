package analyze

import (
	"net/netip"
	"sort"

	"github.com/twscope/twscope/reassembly"
)

// The verdict answers the question people bring to a capture first: who
// closes first, who holds TIME_WAIT, how many sockets at most and when,
// against the limits that matter (net.ipv4.tcp_max_tw_buckets, the port
// range), and whether that is a problem, with its cause and what to do
// (domain.md section 7). It is computed from the closes, hosts and
// finding counts once every detector has finished; the report renders it
// from its codes.

// DefaultTWBuckets is net.ipv4.tcp_max_tw_buckets as most Linux servers
// run it: the kernel sets it to half the established hash table, which
// scales with memory, and 262,144 is what a machine of 4 GB or more gets
// (inet_hashinfo sizing in tcp_init). Options.TWBuckets overrides it.
const DefaultTWBuckets = 262144

// Cause is why the verdict is what it is: the most important fact of the
// capture about TIME_WAIT and the closes, one per verdict.
type Cause string

// Causes, the most pressing first: a verdict takes the first that holds.
const (
	CauseNoConnections   Cause = "no_connections"      // no TCP connection in the capture
	CauseFinalAckRST     Cause = "final_ack_rst"       // resent FINs answered by RST: TIME_WAIT state was dropped
	CausePortExhaustion  Cause = "port_exhaustion"     // a client's ports held in TIME_WAIT near its port range
	CauseOldDuplicate    Cause = "old_duplicate"       // an old incarnation's segment reached a new one
	CauseNATTimestamps   Cause = "nat_timestamps"      // SYNs behind NAT dropped by a per-IP timestamp check
	CauseTWBuckets       Cause = "tw_buckets"          // a host's TIME_WAIT peak near tcp_max_tw_buckets
	CauseCloseWait       Cause = "close_wait"          // an application does not close its sockets
	CauseUnprotectedUse  Cause = "unprotected_reuse"   // four-tuples reused inside TIME_WAIT without protection
	CauseServerCloses    Cause = "server_closes_first" // the server holds TIME_WAIT: harmless within the limits
	CauseSimultaneous    Cause = "simultaneous_close"  // FINs crossed: both sides hold TIME_WAIT
	CauseClientCloses    Cause = "client_closes_first" // the clients hold TIME_WAIT: as it should be
	CauseAbortiveCloses  Cause = "abortive_closes"     // RSTs end the connections: nobody holds TIME_WAIT
	CauseUnfinished      Cause = "unfinished_closes"   // no close finished in the capture
	CauseNoTimeWaitOther Cause = "no_time_wait"        // nobody holds TIME_WAIT for another reason
)

// Causes lists every cause in the order a verdict tries them.
var Causes = [...]Cause{
	CauseNoConnections, CauseFinalAckRST, CausePortExhaustion, CauseOldDuplicate, CauseNATTimestamps,
	CauseTWBuckets, CauseCloseWait, CauseUnprotectedUse, CauseServerCloses, CauseSimultaneous,
	CauseClientCloses, CauseAbortiveCloses, CauseUnfinished, CauseNoTimeWaitOther,
}

// Healthy reports whether the cause needs nothing changed.
func (c Cause) Healthy() bool {
	switch c {
	case CauseClientCloses, CauseNoConnections, CauseUnfinished, CauseNoTimeWaitOther:
		return true
	}
	return false
}

// AdviceCode is one piece of advice of domain.md section 7; the report
// words it.
type AdviceCode string

// Advice, as the evidence calls for it, never blanket tuning.
const (
	AdviceNothing        AdviceCode = "nothing"           // nothing to change
	AdviceLetClientClose AdviceCode = "let_client_close"  // move TIME_WAIT to the clients: let them close first
	AdviceKeepAlive      AdviceCode = "keep_alive"        // reuse connections instead of one per request
	AdviceTWReuse        AdviceCode = "tw_reuse"          // tcp_tw_reuse on the connecting side, with timestamps
	AdviceWidenPortRange AdviceCode = "widen_port_range"  // only when port pressure is shown
	AdviceRaiseTWBuckets AdviceCode = "raise_tw_buckets"  // when RSTs answer resent FINs, or the peak nears it
	AdviceFixClosePath   AdviceCode = "fix_close_path"    // the application must close() on the peer's EOF
	AdviceNeverTWRecycle AdviceCode = "never_tw_recycle"  // per-IP timestamp checks break NAT
	AdviceKeepTimestamps AdviceCode = "keep_timestamps"   // PAWS keeps old segments out
	AdviceNoFinTimeout   AdviceCode = "no_fin_timeout"    // tcp_fin_timeout does not shorten TIME_WAIT
	AdviceLingerCost     AdviceCode = "linger_cost"       // RST closes avoid TIME_WAIT at a cost
	AdviceCheckPathLoss  AdviceCode = "check_path_loss"   // lost final ACKs, when frequent
	AdviceDoNotShortenTW AdviceCode = "do_not_shorten_tw" // TIME_WAIT is what keeps old duplicates out
	AdviceCheckInjection AdviceCode = "check_injection"   // segments no receiver would accept: injection or a rewriting middlebox
)

// AdviceCodes lists every piece of advice.
var AdviceCodes = [...]AdviceCode{
	AdviceNothing, AdviceLetClientClose, AdviceKeepAlive, AdviceTWReuse, AdviceWidenPortRange,
	AdviceRaiseTWBuckets, AdviceFixClosePath, AdviceNeverTWRecycle, AdviceKeepTimestamps,
	AdviceNoFinTimeout, AdviceLingerCost, AdviceCheckPathLoss, AdviceDoNotShortenTW,
	AdviceCheckInjection,
}

// KindAdvice is the advice for each finding kind, in the order it is given.
var KindAdvice = map[string][]AdviceCode{
	KindLostFinalAck:    {AdviceCheckPathLoss},
	KindFinalAckRST:     {AdviceRaiseTWBuckets, AdviceLingerCost},
	KindTupleReuse:      {AdviceKeepAlive, AdviceTWReuse, AdviceNeverTWRecycle},
	KindNATTSRegression: {AdviceNeverTWRecycle},
	KindSeqOverlap:      {AdviceKeepTimestamps},
	KindOldDuplicate:    {AdviceDoNotShortenTW, AdviceKeepTimestamps},
	KindSeqWrap:         {AdviceKeepTimestamps},
	KindCloseWait:       {AdviceFixClosePath},
	KindPortPressure:    {AdviceKeepAlive, AdviceTWReuse, AdviceWidenPortRange},
	KindSuspectSegment:  {AdviceCheckInjection},
}

// causeAdvice is the advice the verdict gives for its cause.
var causeAdvice = map[Cause][]AdviceCode{
	CauseNoConnections:   {AdviceNothing},
	CauseFinalAckRST:     {AdviceRaiseTWBuckets, AdviceLingerCost},
	CausePortExhaustion:  {AdviceKeepAlive, AdviceTWReuse, AdviceWidenPortRange},
	CauseOldDuplicate:    {AdviceDoNotShortenTW, AdviceKeepTimestamps},
	CauseNATTimestamps:   {AdviceNeverTWRecycle},
	CauseTWBuckets:       {AdviceLetClientClose, AdviceKeepAlive, AdviceRaiseTWBuckets},
	CauseCloseWait:       {AdviceFixClosePath},
	CauseUnprotectedUse:  {AdviceKeepAlive, AdviceKeepTimestamps},
	CauseServerCloses:    {AdviceLetClientClose, AdviceNoFinTimeout},
	CauseSimultaneous:    {AdviceLetClientClose},
	CauseClientCloses:    {AdviceNothing},
	CauseAbortiveCloses:  {AdviceLingerCost},
	CauseUnfinished:      {AdviceNothing},
	CauseNoTimeWaitOther: {AdviceNothing},
}

// Thresholds of a TIME_WAIT peak against tcp_max_tw_buckets: past the
// limit the kernel drops TIME_WAIT sockets ("TCP: time wait bucket table
// overflow").
const (
	bucketsWarning   = 0.5
	bucketsCritical  = 0.9
	verdictHosts     = 10 // hosts listed in the verdict
	verdictEndpoints = 25 // server endpoints listed in the verdict, the busiest
)

// Verdict is the answer first: who holds TIME_WAIT, how many sockets,
// where, and whether it is a problem.
type Verdict struct {
	Severity Severity     `json:"severity"`
	Cause    Cause        `json:"cause"`
	Advice   []AdviceCode `json:"advice"`
	// Holder is the side that holds TIME_WAIT in most connections
	// (client, server, both, none), in Held of Connections.
	Holder      string `json:"time_wait_holder"`
	Held        int    `json:"time_wait_held"`
	Connections int    `json:"connections"`
	// Closer is the side that sent the first FIN most often, in
	// ClosedFirst connections.
	Closer      string `json:"closer"`
	ClosedFirst int    `json:"closed_first"`
	// Peak is the highest number of sockets one host held in TIME_WAIT at
	// once, PeakHost that host (its Role) and PeakAt when (nil: none held).
	Peak     int    `json:"time_wait_peak"`
	PeakHost string `json:"time_wait_peak_host,omitempty"`
	PeakRole string `json:"time_wait_peak_role,omitempty"`
	PeakAt   *Time  `json:"time_wait_peak_at,omitempty"`
	// TWBuckets is the tcp_max_tw_buckets judged against (assumed unless
	// given), PortRange the clients' port range.
	TWBuckets     int    `json:"tcp_max_tw_buckets"`
	PortRange     [2]int `json:"port_range"`
	PortRangeSize int    `json:"port_range_size"`
	// CauseCount counts the findings behind the cause (0 when the cause
	// is not a finding kind).
	CauseCount int `json:"cause_count"`
	// Sides answers per side that held TIME_WAIT: the server first, then
	// the clients.
	Sides []SideAnswer `json:"sides"`
	// Endpoints answers per server endpoint, Hosts per host (the highest
	// TIME_WAIT peaks first, at most verdictHosts; HostsHolding counts
	// every host that held one); Endpoints the busiest verdictEndpoints,
	// of EndpointsTotal.
	Endpoints      []EndpointAnswer `json:"endpoints"`
	EndpointsTotal int              `json:"endpoints_total"`
	Hosts          []HostAnswer     `json:"hosts"`
	HostsHolding   int              `json:"hosts_holding"`
}

// SideAnswer is what one side (all servers, or all clients) did: the
// connections it closed first, those whose TIME_WAIT it held (a
// simultaneous close counts for both), and its busiest host's peak.
type SideAnswer struct {
	Side        string `json:"side"`
	ClosedFirst int    `json:"closed_first"`
	Held        int    `json:"time_wait_held"`
	Peak        int    `json:"time_wait_peak"`
	PeakHost    string `json:"time_wait_peak_host,omitempty"`
	PeakAt      *Time  `json:"time_wait_peak_at,omitempty"`
	// PeakShared says that the clients' TIME_WAIT sockets sat only on
	// hosts that are server addresses too (a client and a server on one
	// address: loopback, a proxy), and is set on both sides when they
	// name the same host: PeakHost's peak then counts the sockets of both
	// roles, as the host's one TIME_WAIT table does, and is no measure of
	// the clients' ports.
	PeakShared bool `json:"time_wait_peak_shared,omitempty"`
}

// EndpointAnswer is the verdict's line for one server endpoint.
type EndpointAnswer struct {
	Server      string `json:"server"`
	Connections int    `json:"connections"`
	Closer      string `json:"closer"`
	ClosedFirst int    `json:"closed_first"`
	Holder      string `json:"time_wait_holder"`
	Held        int    `json:"time_wait_held"`
	// By side: connections closed first by the server, by the client and
	// simultaneously, and whose TIME_WAIT the server and the client held
	// (a simultaneous close counts for both).
	ServerClosedFirst int `json:"server_closed_first"`
	ClientClosedFirst int `json:"client_closed_first"`
	Simultaneous      int `json:"simultaneous"`
	ServerHeld        int `json:"server_time_wait_held"`
	ClientHeld        int `json:"client_time_wait_held"`
	// ServerPeak is the peak of the server's host over all its ports
	// (the TIME_WAIT table is per host, not per port).
	ServerPeak   int   `json:"server_time_wait_peak"`
	ServerPeakAt *Time `json:"server_time_wait_peak_at,omitempty"`
}

// HostAnswer is the verdict's line for one host.
type HostAnswer struct {
	IP     string `json:"ip"`
	Role   string `json:"role"` // server when it is a server endpoint's address, else client
	Held   int    `json:"time_wait_held"`
	Peak   int    `json:"time_wait_peak"`
	PeakAt *Time  `json:"time_wait_peak_at,omitempty"`
	// BucketsFraction is Peak over tcp_max_tw_buckets; PortsFraction,
	// for a client, over its port range (0 for a server).
	BucketsFraction float64 `json:"buckets_fraction"`
	PortsFraction   float64 `json:"ports_fraction,omitempty"`
}

// Host roles in the verdict.
const (
	RoleServer = "server"
	RoleClient = "client"
)

// NewVerdict computes the verdict of a result whose closes, endpoints,
// hosts and finding counts are complete; twBuckets 0 means
// DefaultTWBuckets.
func NewVerdict(res *Result, twBuckets int) Verdict {
	if twBuckets <= 0 {
		twBuckets = DefaultTWBuckets
	}
	pr := res.Profile.PortRange
	if pr == [2]int{} {
		pr = DefaultPortRange
	}
	v := Verdict{TWBuckets: twBuckets, PortRange: pr, PortRangeSize: pr[1] - pr[0] + 1,
		Connections: res.Totals.Connections, Advice: []AdviceCode{}, Endpoints: []EndpointAnswer{}, Hosts: []HostAnswer{}}
	v.Holder, v.Held = majority(res.Closes.TimeWaitHolders, reassembly.SideServer, reassembly.SideClient, reassembly.SideBoth)
	v.Closer, v.ClosedFirst = majority(res.Closes.ByCloser, reassembly.SideServer, reassembly.SideClient, reassembly.SideBoth)

	servers := map[netip.Addr]bool{}
	for _, e := range res.Endpoints {
		if e.Addr.IsValid() {
			servers[e.Addr.Addr()] = true
		}
	}
	hostPeak := map[string]Host{}
	for _, h := range res.Hosts {
		hostPeak[h.IP] = h
		if h.PeakTimeWait > 0 {
			v.HostsHolding++
		}
	}
	hosts := append([]Host(nil), res.Hosts...)
	sort.SliceStable(hosts, func(i, j int) bool { return hosts[i].PeakTimeWait > hosts[j].PeakTimeWait })
	for _, h := range hosts {
		if h.PeakTimeWait == 0 || len(v.Hosts) == verdictHosts {
			break
		}
		a, _ := netip.ParseAddr(h.IP)
		role := RoleClient
		if servers[a] {
			role = RoleServer
		}
		ha := HostAnswer{IP: h.IP, Role: role, Held: h.TimeWaitHeld, Peak: h.PeakTimeWait, PeakAt: h.PeakAt,
			BucketsFraction: fraction(h.PeakTimeWait, twBuckets)}
		if role == RoleClient {
			ha.PortsFraction = fraction(h.PeakTimeWait, v.PortRangeSize)
		}
		v.Hosts = append(v.Hosts, ha)
	}
	if len(v.Hosts) > 0 {
		top := v.Hosts[0]
		v.Peak, v.PeakHost, v.PeakRole, v.PeakAt = top.Peak, top.IP, top.Role, top.PeakAt
	}
	v.Sides = []SideAnswer{}
	both := res.Closes.TimeWaitHolders[reassembly.SideBoth.String()]
	for _, sd := range []struct {
		side reassembly.Side
		role string
	}{{reassembly.SideServer, RoleServer}, {reassembly.SideClient, RoleClient}} {
		a := SideAnswer{Side: sd.side.String(), ClosedFirst: res.Closes.ByCloser[sd.side.String()],
			Held: res.Closes.TimeWaitHolders[sd.side.String()] + both}
		if a.Held == 0 {
			continue
		}
		// Every host, highest peak first (not only the listed ones): a
		// side's busiest host may be below ten busier hosts of the other.
		var shared *Host
		for i := range hosts {
			h := &hosts[i]
			if h.PeakTimeWait == 0 {
				break
			}
			a2, _ := netip.ParseAddr(h.IP)
			if servers[a2] != (sd.role == RoleServer) {
				if shared == nil && servers[a2] {
					shared = h
				}
				continue
			}
			a.Peak, a.PeakHost, a.PeakAt = h.PeakTimeWait, h.IP, h.PeakAt
			break
		}
		if a.PeakHost == "" && shared != nil && sd.role == RoleClient {
			// The clients held TIME_WAIT, and only server addresses held
			// any: the clients share an address with a server.
			a.Peak, a.PeakHost, a.PeakAt, a.PeakShared = shared.PeakTimeWait, shared.IP, shared.PeakAt, true
			for i := range v.Sides {
				if v.Sides[i].PeakHost == a.PeakHost {
					v.Sides[i].PeakShared = true // the server's peak counts the clients' sockets too
				}
			}
		}
		v.Sides = append(v.Sides, a)
	}
	v.EndpointsTotal = len(res.Endpoints)
	for _, e := range res.Endpoints[:min(len(res.Endpoints), verdictEndpoints)] {
		ea := EndpointAnswer{Server: e.Server, Connections: e.Connections}
		ea.Closer, ea.ClosedFirst = majority(e.Closer, reassembly.SideServer, reassembly.SideClient, reassembly.SideBoth)
		ea.Holder, ea.Held = majority(e.TimeWaitHolders, reassembly.SideServer, reassembly.SideClient, reassembly.SideBoth)
		both := e.TimeWaitHolders[reassembly.SideBoth.String()]
		ea.ServerClosedFirst, ea.ClientClosedFirst = e.Closer[reassembly.SideServer.String()], e.Closer[reassembly.SideClient.String()]
		ea.Simultaneous = e.Closer[reassembly.SideBoth.String()]
		ea.ServerHeld = e.TimeWaitHolders[reassembly.SideServer.String()] + both
		ea.ClientHeld = e.TimeWaitHolders[reassembly.SideClient.String()] + both
		if e.Addr.IsValid() {
			if h, ok := hostPeak[e.Addr.Addr().String()]; ok {
				ea.ServerPeak, ea.ServerPeakAt = h.PeakTimeWait, h.PeakAt
			}
		}
		v.Endpoints = append(v.Endpoints, ea)
	}

	v.Cause, v.Severity, v.CauseCount = cause(res, &v)
	v.Advice = append(v.Advice, causeAdvice[v.Cause]...)
	return v
}

// cause picks the verdict's cause: the first of the Cause list that the
// findings or the closes show, with its severity.
func cause(res *Result, v *Verdict) (Cause, Severity, int) {
	worst := func(kind string, min Severity) (Severity, int) {
		var s Severity
		n := 0
		for _, c := range res.Counts() {
			if c.Kind == kind && c.Severity.Rank() <= min.Rank() {
				n += c.Count
				if s == "" || c.Severity.Rank() < s.Rank() {
					s = c.Severity
				}
			}
		}
		return s, n
	}
	if v.Connections == 0 {
		return CauseNoConnections, SeverityInfo, 0
	}
	for _, k := range []struct {
		kind  string
		min   Severity
		cause Cause
	}{
		{KindFinalAckRST, SeverityWarning, CauseFinalAckRST},
		{KindPortPressure, SeverityWarning, CausePortExhaustion},
		{KindOldDuplicate, SeverityCritical, CauseOldDuplicate},
		{KindNATTSRegression, SeverityCritical, CauseNATTimestamps},
	} {
		if s, n := worst(k.kind, k.min); n > 0 {
			return k.cause, s, n
		}
	}
	if f := fraction(v.Peak, v.TWBuckets); f >= bucketsWarning {
		s := SeverityWarning
		if f >= bucketsCritical {
			s = SeverityCritical
		}
		return CauseTWBuckets, s, 0
	}
	for _, k := range []struct {
		kind  string
		cause Cause
	}{{KindCloseWait, CauseCloseWait}, {KindTupleReuse, CauseUnprotectedUse}} {
		if s, n := worst(k.kind, SeverityWarning); n > 0 {
			return k.cause, s, n
		}
	}
	// Whoever holds TIME_WAIT in most connections.
	switch v.Holder {
	case reassembly.SideServer.String():
		return CauseServerCloses, SeverityInfo, 0
	case reassembly.SideBoth.String():
		return CauseSimultaneous, SeverityInfo, 0
	case reassembly.SideClient.String():
		return CauseClientCloses, SeverityInfo, 0
	}
	if res.Closes.ByKind[reassembly.CloseRST.String()] > 0 {
		return CauseAbortiveCloses, SeverityInfo, 0
	}
	if res.Closes.ByKind[reassembly.CloseHalf.String()]+res.Closes.ByKind[reassembly.CloseOpen.String()] == v.Connections {
		return CauseUnfinished, SeverityInfo, 0
	}
	return CauseNoTimeWaitOther, SeverityInfo, 0
}

// majority is the side counted most in m among sides (the first of them
// on a tie), and its count; "none" and 0 when none is counted.
func majority(m map[string]int, sides ...reassembly.Side) (string, int) {
	best, n := reassembly.SideNone.String(), 0
	for _, s := range sides {
		if c := m[s.String()]; c > n {
			best, n = s.String(), c
		}
	}
	return best, n
}

// fraction is n/of rounded to 1e-4.
func fraction(n, of int) float64 {
	if of <= 0 {
		return 0
	}
	return float64(int(float64(n)/float64(of)*1e4+0.5)) / 1e4
}
