package analyze

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twscope/twscope/reassembly"
)

// natTimestamps finds client IPs whose timestamps show several hosts
// behind one address, or a per-IP timestamp check (Linux's tcp_tw_recycle)
// dropping their SYNs (domain.md 5). The unit of every comparison is the
// pair (client IP, server IP): the tracker judges each SYN against the
// TSvals that IP sent to that server and against the stamps that server
// remembered in TIME_WAIT (Record.SYNTS), and the clocks are fitted per
// pair here.
//
// The offset model of a pair is the one that explains its samples with
// fewer clocks (fitPair):
//   - per_address_pair (Linux 4.11 to 5.x: one offset per host and
//     server): needs one clock per line of TSvals, however many four-tuples
//     lie on it;
//   - per_connection (Linux 6.x: one offset per four-tuple, kept by its
//     later incarnations): needs one clock per pre-NAT four-tuple. Behind a
//     NAT that remaps source ports, connections on different public ports
//     are one four-tuple when they follow each other (never open at once)
//     and the later one's ISN continues the earlier one's: its ISN clock
//     (RFC 6528, Linux's 64 ns tick) or TIME_WAIT reuse (old snd_nxt +
//     65537).
//
// per_address_pair when it needs fewer clocks than per_connection by more
// than chance: by at least two clocks (two random 32-bit offsets agree
// within the tolerance a few times in 10^7, so one saved clock can be a
// coincidence, two hardly) and by more than a tenth of the four-tuples;
// per_connection when every line is one four-tuple; unknown when both fit
// (lines shared only by what can be one remapped four-tuple) or with
// fewer than natMinConns samples.
//
// nat_ts_regression is raised for a client IP when, toward one server:
//   - the offsets are per_address_pair with more than one clock (several
//     hosts share the address): info while every SYN to that server was
//     answered at once, warning when some were sent again; or
//   - the SYNs behind (or refused by the exact tcp_tw_recycle rule) went
//     unanswered in the pattern (critical): at least two of their
//     transmissions went unanswered and, were losses striking every SYN
//     alike at the rate the other SYNs to that server show (with one loss
//     and one answer added, Laplace), so many losses among the SYNs behind
//     would happen with a probability below natPatternP (binomial tail).
//     One lost SYN among hundreds is chance, not the pattern.
//
// Otherwise SYNs behind are what per-connection offsets do to any client
// IP (about half its SYNs): no finding, counted in Result.NATTimestamps.
//
// A SYN behind by at most TCP_PAWS_WINDOW (1 tick) is not counted: Linux
// let it pass, and one clock's segments of two connections can swap places
// on the way to the capture point.
type natTimestamps struct {
	// ips finds an address's entry in slab; free are the entries of the
	// addresses forgotten, to be taken again.
	ips  idTable[addrKey]
	slab []ipStamps
	free []int32
	// last is the entry of the last client address, to skip a lookup
	// (-1: none).
	last int32
	now  int64 // the latest record end seen
	// first is the earliest record start seen: the series' time base
	// when the result has none.
	first int64
	// samples are the clock samples kept over every pair, and pairs the
	// pairs held: together they set each pair's share (sampleShare).
	samples, pairs int
	// dropped counts the samples past a pair's share of natMaxSamples
	// (not those past natMaxConns), and early the addresses judged before
	// the capture ended: both exact, said in a warning.
	dropped, early int
	// still counts the pairs whose samples all lie at one capture time
	// (clockFit.still): judged without clocks, said in a warning.
	still int
	// done are the findings of addresses judged early (evicted past
	// natMaxIPs or natMaxSamples), and summary the addresses without a
	// finding.
	done    []Finding
	summary NATSummary
	plotted int
	fitter  fitter
	fits    []clockFit // fitAll's
}

// natFitAllMin is how many pairs are worth fitting on several cores.
const natFitAllMin = 256

// fitAll fits the clocks of every pair judge will fit, on as many
// goroutines as there are cores: at the end of a run the other stages are
// done, and each fit is its pair's alone (its connections' clock indexes
// included), so the findings are the same in any order.
func (d *natTimestamps) fitAll(all []*ipStamps) {
	var ps []*pairStamps
	for _, ip := range all {
		for k := range ip.peers {
			if p := &ip.peers[k]; p.listed > 0 || p.sentAgain > 0 || len(p.conns) >= natMinConns {
				ps = append(ps, p)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(ps)/natFitAllMin)
	if workers < 2 {
		return
	}
	d.fits = make([]clockFit, len(ps))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f fitter
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ps) {
					return
				}
				d.fits[i] = f.fit(ps[i].conns)
			}
		}()
	}
	wg.Wait()
	for i, p := range ps {
		p.fitted = int32(i + 1)
	}
}

// Bounds, so that memory and the report stay small whatever the capture
// holds: the addresses held at once (past it the longest idle is judged
// and forgotten), servers per address, timestamped connections per pair
// (the clock samples), the SYNs, servers and frames listed in a finding
// (each with its exact total), plot points, and addresses plotted. An
// address holds at most natMaxIPConns samples and natMaxSYNs listed SYNs
// over all its servers: a few tens of KB at worst.
const (
	natMaxIPs     = 16384
	natMaxPeers   = 32
	natMaxConns   = 128
	natMaxIPConns = 256 // samples per address, over its servers
	// natMaxSamples bounds the clock samples held over all pairs (72
	// bytes each): past it a pair keeps its share, natMaxSamples over
	// the pairs held (at least natMinShare), its newest samples beyond
	// the share are dropped and counted, and when even the least shares
	// overflow it the addresses idle longest are judged early.
	natMaxSamples = 1 << 17
	natMinShare   = 8
	natMaxSYNs    = 40
	natMaxServers = 32
	natMaxFrames  = 48
	natMaxPoints  = 600
	natPlotIPs    = 10
	// natMinConns is how many timestamped connections a pair needs before
	// per-connection and per-host offsets can be told apart.
	natMinConns = 3
	// pawsWindow is TCP_PAWS_WINDOW: how far behind Linux let a TSval be.
	pawsWindow = 1
	// natPatternP is the chance below which the unanswered SYNs behind
	// are the pattern of a per-IP timestamp check, not loss.
	natPatternP = 0.01
	// isnRate is Linux's ISN clock (ktime ns >> 6, RFC 6528's M), and
	// isnJitter the capture-time uncertainty allowed when following it.
	isnRate   = 1e9 / 64
	isnJitter = 0.002 // s
	// twReuseISN is the ISN step of a four-tuple reused from TIME_WAIT
	// (Linux tcp_twsk_unique: old snd_nxt + 65535 + 2).
	twReuseISN = 65537
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
// pair; the verdict tolerates a tenth.
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
	return &natTimestamps{ips: newIDTable[addrKey](), last: -1}
}

// ipStamps is what one source IP's timestamps looked like, per peer.
type ipStamps struct {
	addr    netip.Addr // invalid: the entry is free
	peers   []pairStamps
	skipped int   // timestamped connections past natMaxPeers or natMaxIPConns
	lastAt  int64 // the latest record end
	samples int   // clock samples kept, over the peers
	// syns are the SYNs listed toward every peer, in the order seen: one
	// list per address, grown in steps to natMaxSYNs (listSYN).
	syns []natSYN
}

// pairStamps is one (source IP, peer IP) pair: its clock samples, and the
// SYNs the source sent to the peer as a client.
type pairStamps struct {
	peer    netip.Addr
	conns   []stampConn
	fitted  int32  // at the end: its fit's index in natTimestamps.fits + 1, 0 for none
	skipped int    // timestamped sides past natMaxConns
	listed  int    // SYNs behind or refused by the exact rule, listed or not
	behind  int    // of them, behind the latest TSval
	recycle int    // of them, where the exact tcp_tw_recycle rule applies
	noTS    int    // of them, SYNs that carried no timestamp (refused by the rule for that)
	maxBy   uint32 // ticks
	// unanswered counts the listed SYNs sent again before any SYN+ACK;
	// sentAgain counts every SYN to the peer that was.
	unanswered, sentAgain int
	// Transmissions and unanswered ones, of the listed SYNs and of the
	// others, for the pattern test.
	txBehind, lostBehind, txOther, lostOther int
}

// stampConn is one side of a connection as a clock sample: its first and
// last TSval and when they were captured, and its ISN facts to tell one
// four-tuple's incarnations behind a NAT that remaps ports.
type stampConn struct {
	id              int
	firstAt, lastAt int64
	first, last     uint32
	start, end      int64
	isn, next       uint32
	peerPort        uint16
	port            uint16 // the IP's own port
	synTS           bool   // the first TSval is the SYN's (or SYN+ACK's)
	isnKnown        bool
	clock           int32 // index of the clock it lies on, within the pair
}

// natSYN is one listed SYN: the facts its NATSYN is made of when a
// finding lists it (64 bytes, no string or pointer to keep while
// tens of thousands of addresses are watched), and what locates it.
type natSYN struct {
	at, latestAt int64
	// The SYN's reassembly.Frame, its file index narrowed (to fewer
	// than 2^31 files) so that the fields below fill the word.
	frameN                        int
	frameFile                     int32
	conn, latestConn, recycleConn int32
	tsval, latest, by             uint32 // by: ticks behind, 0 unless behind
	sentAgain                     int32
	clientPort, serverPort        uint16 // the client is the address's own
	peer                          uint8  // the index of its pair in ipStamps.peers
	flags                         synFlags
}

// synFlags are a listed SYN's yes-or-no facts, one bit each.
type synFlags uint8

const (
	synHasTS    synFlags = 1 << iota // the SYN carried a timestamp
	synChecked                       // there was a latest TSval to judge it by
	synBehind                        // behind that TSval by more than pawsWindow
	synRecycle                       // refused by the exact tcp_tw_recycle rule
	synAnswered                      // a SYN+ACK came back
)

func (s *natSYN) has(f synFlags) bool { return s.flags&f != 0 }

func (s *natSYN) frame() reassembly.Frame {
	return reassembly.Frame{File: int(s.frameFile), N: s.frameN}
}

func (s *natSYN) server(peer netip.Addr) netip.AddrPort {
	return netip.AddrPortFrom(peer, s.serverPort)
}

// synsTo are the SYNs listed toward the address's peer k, in the order
// seen.
func (ip *ipStamps) synsTo(k uint8) iter.Seq[*natSYN] {
	return func(yield func(*natSYN) bool) {
		for i := range ip.syns {
			if s := &ip.syns[i]; s.peer == k && !yield(s) {
				return
			}
		}
	}
}

// listSYN lists s. The list doubles up to natMaxSYNs exactly, not by
// append's rule: an address that lists many SYNs lists natMaxSYNs, and a
// capacity past it would be memory never used.
func (ip *ipStamps) listSYN(s natSYN) {
	if len(ip.syns) == cap(ip.syns) {
		n := min(natMaxSYNs, max(1, 2*cap(ip.syns)))
		ip.syns = append(make([]natSYN, 0, n), ip.syns...)
	}
	ip.syns = append(ip.syns, s)
}

// evidence is the SYN as a finding lists it, toward peer; Clock -1 and
// BehindByS unset, for the finding to fill.
func (s *natSYN) evidence(peer netip.Addr) NATSYN {
	e := NATSYN{
		Conn: int(s.conn), Frame: s.frameN, Time: FormatTime(s.at), Server: s.server(peer).String(),
		Behind: s.has(synBehind), BehindBy: s.by, Recycle: s.has(synRecycle), RecycleConn: int(s.recycleConn),
		Answered: s.has(synAnswered), SentAgain: int(s.sentAgain), Clock: -1,
	}
	if s.has(synHasTS) {
		e.TSval = ptr(s.tsval)
	}
	if s.has(synChecked) {
		e.Latest, e.LatestConn, e.LatestAgoS = ptr(s.latest), int(s.latestConn), ptr(Seconds(s.at-s.latestAt))
	}
	return e
}

// NATSYN is one SYN in a nat_ts_regression finding's evidence.
type NATSYN struct {
	Conn   int     `json:"conn"`
	Frame  int     `json:"frame"`
	Time   string  `json:"time"`
	Server string  `json:"server"`
	TSval  *uint32 `json:"tsval"` // null: the SYN had no timestamp option
	// Latest is the latest TSval from the IP to that server within 60 s
	// before the SYN, sent by LatestConn LatestAgoS seconds earlier (null:
	// none).
	Latest     *uint32  `json:"latest"`
	LatestConn int      `json:"latest_conn,omitempty"`
	LatestAgoS *float64 `json:"latest_ago_s"`
	Behind     bool     `json:"behind"`
	BehindBy   uint32   `json:"behind_by"` // TSval ticks
	// BehindByS is BehindBy in seconds of the pair's clock (null: rate
	// unknown or not behind).
	BehindByS *float64 `json:"behind_by_s"`
	// Recycle: the exact tcp_tw_recycle rule applies; the TSval the server
	// remembered when it put RecycleConn into TIME_WAIT is ahead by more
	// than 1 (or the SYN had no timestamp).
	Recycle     bool `json:"recycle"`
	RecycleConn int  `json:"recycle_conn,omitempty"`
	Answered    bool `json:"answered"` // a SYN+ACK came back
	SentAgain   int  `json:"sent_again"`
	Clock       int  `json:"clock"` // index into the server's clocks; -1 without timestamp
}

// NATServer is what one client IP's timestamps show toward one server IP.
type NATServer struct {
	Server string `json:"server"`
	// Clocks toward this server: the hosts, under per-address-pair
	// offsets (null otherwise).
	Clocks           *int    `json:"clocks"`
	Lines            int     `json:"lines"` // distinct TSval lines
	Offsets          string  `json:"offsets"`
	RateHz           float64 `json:"rate_hz"`
	FourTuples       int     `json:"four_tuples"`
	TimestampedConns int     `json:"timestamped_conns"`
	SYNs             int     `json:"syns"`       // SYNs behind or refused
	Unanswered       int     `json:"unanswered"` // of them, sent again without a SYN+ACK
	SentAgain        int     `json:"sent_again"` // every SYN sent again without a SYN+ACK
	Recycle          int     `json:"syns_recycle"`
	MaxBehindBy      uint32  `json:"max_behind_by"`
	MaxBehindByS     float64 `json:"max_behind_by_s"`
	Pattern          bool    `json:"pattern"` // the unanswered SYNs are the ones behind
	PatternP         float64 `json:"pattern_p"`
}

// NATPoint is one TSval seen from a source IP, kept for the plot of TSval
// against capture time with one colour per clock and the SYNs a per-IP
// timestamp check would drop marked.
type NATPoint struct {
	Conn    int     `json:"conn"`
	T       float64 `json:"t"` // seconds since Result.SeriesStart
	TSval   uint32  `json:"tsval"`
	Clock   int     `json:"clock"` // unique over the IP's servers
	SYN     bool    `json:"syn"`
	Behind  bool    `json:"behind"`  // a SYN behind the IP's latest TSval to that server
	Dropped bool    `json:"dropped"` // a SYN tcp_tw_recycle would drop
	at      int64   // capture time (Unix ns), until T is set from it at finish
}

// NATSummary counts the client addresses whose SYNs fell behind their
// latest TSval to the same server without a finding: per-connection
// offsets (or unknown ones) and no SYN lost in the pattern.
type NATSummary struct {
	Addresses int `json:"addresses"`
	SYNs      int `json:"syns"`         // SYNs a per-IP timestamp check would refuse
	Behind    int `json:"syns_behind"`  // of them, behind the latest TSval to the same server
	Recycle   int `json:"syns_recycle"` // of them, where the exact tcp_tw_recycle rule applies
	// NoTimestamp counts, of them, the SYNs that carried no timestamp
	// while the address had sent one to that server within 60 s: the
	// exact rule refused those too, and they are not "behind" anything.
	NoTimestamp int `json:"syns_without_timestamp"`
}

// ip is the index in slab of addr's entry, made when it has none.
func (d *natTimestamps) ip(addr netip.Addr) int32 {
	k := keyOfAddr(addr)
	if i, ok := d.ips.get(k); ok {
		return i
	}
	if d.ips.len() >= natMaxIPs {
		d.evict()
	}
	var i int32
	if n := len(d.free); n > 0 {
		i, d.free = d.free[n-1], d.free[:n-1]
	} else {
		i = int32(len(d.slab))
		d.slab = append(d.slab, ipStamps{})
	}
	d.slab[i] = ipStamps{addr: addr}
	d.ips.put(k, i)
	return i
}

// evict judges and forgets the quarter of the addresses idle longest, so
// that the table stays within natMaxIPs; an address seen again later
// starts afresh. They are judged from the longest idle, then by address.
func (d *natTimestamps) evict() {
	type idle struct {
		lastAt int64
		addr   netip.Addr
		i      int32
	}
	all := make([]idle, 0, d.ips.len())
	for i := range d.slab {
		if ip := &d.slab[i]; ip.addr.IsValid() {
			all = append(all, idle{ip.lastAt, ip.addr, int32(i)})
		}
	}
	less := func(a, b *idle) bool {
		if a.lastAt != b.lastAt {
			return a.lastAt < b.lastAt
		}
		return a.addr.Less(b.addr)
	}
	n := max(1, len(all)/4)
	selectFirst(all, n, less)
	all = all[:n]
	slices.SortFunc(all, func(a, b idle) int {
		if less(&a, &b) {
			return -1
		}
		return 1 // never equal: the addresses differ
	})
	for _, e := range all {
		ip := &d.slab[e.i]
		d.judge(ip)
		d.early++
		d.samples -= ip.samples
		d.pairs -= len(ip.peers)
		d.ips.del(keyOfAddr(ip.addr))
		*ip = ipStamps{}
		d.free = append(d.free, e.i)
	}
	d.last = -1
}

// pair is ip's pair toward peer and its index in ip.peers, made when it
// has none; nil past natMaxPeers.
func (d *natTimestamps) pair(ip *ipStamps, peer netip.Addr) (*pairStamps, uint8) {
	for i := range ip.peers {
		if p := &ip.peers[i]; p.peer == peer {
			return p, uint8(i)
		}
	}
	if len(ip.peers) >= natMaxPeers {
		return nil, 0
	}
	ip.peers = append(ip.peers, pairStamps{peer: peer})
	d.pairs++
	return &ip.peers[len(ip.peers)-1], uint8(len(ip.peers) - 1)
}

// sampleShare is how many clock samples a pair may keep: natMaxConns
// while every pair fits in natMaxSamples, else its share of it.
func (d *natTimestamps) sampleShare(total int) int {
	return min(natMaxConns, max(natMinShare, total/max(1, d.pairs)))
}

// trim brings the samples held back within natMaxSamples: every pair keeps
// its first samples up to three quarters of the budget's share (so that a
// trim frees room for many samples to come), the rest are dropped and
// counted as skipped; when the least shares are still too many, the
// addresses idle longest are judged early.
func (d *natTimestamps) trim() {
	share := d.sampleShare(natMaxSamples * 3 / 4)
	for i := range d.slab {
		ip := &d.slab[i]
		for k := range ip.peers {
			p := &ip.peers[k]
			if n := len(p.conns) - share; n > 0 {
				p.conns = append([]stampConn(nil), p.conns[:share]...) // release the rest
				p.skipped += n
				d.dropped += n
				ip.samples -= n
				d.samples -= n
			}
		}
	}
	for d.samples > natMaxSamples*3/4 && d.ips.len() > 0 {
		d.evict()
	}
}

func (d *natTimestamps) observe(r *reassembly.Record) {
	d.now = max(d.now, r.End)
	if d.first == 0 || r.Start < d.first {
		d.first = r.Start
	}
	// Only the IP as a client, its flow toward the server: the finding is
	// about the address whose SYNs a server judges, and the server's own
	// TSvals are another clock.
	f := &r.C
	if !f.HasTS && !f.SYN.Seen() {
		return
	}
	if d.last < 0 || d.slab[d.last].addr != r.Client.Addr() {
		d.last = d.ip(r.Client.Addr())
	}
	ip := &d.slab[d.last]
	ip.lastAt = max(ip.lastAt, r.End)
	p, k := d.pair(ip, r.Server.Addr())
	if p == nil {
		ip.skipped++
		return
	}
	if f.SYN.Seen() {
		d.syn(ip, p, k, r)
	}
	if !f.HasTS {
		return
	}
	if len(p.conns) >= d.sampleShare(natMaxSamples) || ip.samples >= natMaxIPConns {
		if len(p.conns) < natMaxConns && ip.samples < natMaxIPConns {
			d.dropped++
		}
		p.skipped++
		return
	}
	ip.samples++
	d.samples++
	p.conns = append(p.conns, stampConn{
		id: r.ID, peerPort: r.Server.Port(), port: r.Client.Port(),
		first: f.TSFirst, last: f.TSLast, firstAt: f.TSFirstTime, lastAt: f.TSLastTime,
		start: r.Start, end: r.End, isn: f.ISN, next: f.NextSeq, isnKnown: f.SYN.Seen(),
		synTS: f.SYNHasTS && f.TSFirstTime == f.SYN.Time,
	})
	if d.samples > natMaxSamples {
		d.trim()
	}
}

// syn counts a client SYN of the pair, and lists it when it is behind the
// pair's latest TSval or refused by the exact tcp_tw_recycle rule.
func (d *natTimestamps) syn(ip *ipStamps, p *pairStamps, k uint8, r *reassembly.Record) {
	st := &r.SYNTS
	tx, lost := 1+st.Unanswered, st.Unanswered
	if st.Unanswered > 0 {
		p.sentAgain++
	}
	behind := st.Checked && st.Behind && st.By > pawsWindow
	if r.Partial || (!behind && !st.Recycle) {
		p.txOther += tx
		p.lostOther += lost
		return
	}
	p.txBehind += tx
	p.lostBehind += lost
	p.listed++
	if behind {
		p.behind++
		if st.By > p.maxBy {
			p.maxBy = st.By
		}
	}
	if st.Recycle {
		p.recycle++
	}
	if !r.C.SYNHasTS {
		p.noTS++
	}
	if st.Unanswered > 0 {
		p.unanswered++
	}
	if len(ip.syns) >= natMaxSYNs {
		return
	}
	s := natSYN{at: r.C.SYN.Time, frameN: r.C.SYN.Frame.N, frameFile: int32(r.C.SYN.Frame.File),
		clientPort: r.Client.Port(), serverPort: r.Server.Port(), peer: k,
		conn: int32(r.ID), sentAgain: int32(st.Unanswered), tsval: r.C.TSFirst,
	}
	if r.C.SYNHasTS {
		s.flags |= synHasTS
	}
	if st.Answered {
		s.flags |= synAnswered
	}
	if st.Checked {
		s.flags |= synChecked
		s.latest, s.latestAt, s.latestConn = st.Latest, st.LatestAt, int32(st.LatestConn)
	}
	if behind {
		s.flags |= synBehind
		s.by = st.By
	}
	if st.Recycle {
		s.flags |= synRecycle
		s.recycleConn = int32(st.RecycleConn)
	}
	ip.listSYN(s)
}

func (d *natTimestamps) finish(res *Result) {
	all := make([]*ipStamps, 0, d.ips.len())
	for i := range d.slab {
		if ip := &d.slab[i]; ip.addr.IsValid() {
			all = append(all, ip)
		}
	}
	// The addresses with the most SYNs listed are judged (and plotted)
	// first; the order never depends on the map's.
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].listedSYNs(), all[j].listedSYNs()
		if a != b {
			return a > b
		}
		return all[i].addr.Less(all[j].addr)
	})
	d.fitAll(all)
	for _, ip := range all {
		d.judge(ip)
	}
	base := seriesBase(res, d.first)
	for _, f := range d.done {
		if ev, ok := f.Evidence.(*NATEvidence); ok {
			for i := range ev.Points {
				ev.Points[i].T = Seconds(ev.Points[i].at - base)
			}
		}
	}
	sort.SliceStable(d.done, func(i, j int) bool { return d.done[i].Severity > d.done[j].Severity })
	res.Findings = append(res.Findings, d.done...)
	if d.summary.Addresses > 0 {
		s := d.summary
		res.NATTimestamps = &s
	}
	if d.dropped > 0 || d.early > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("NAT timestamps: %d clock samples past the %d kept at once were not fitted (each pair's count stays exact), %d client addresses were judged before the capture ended to bound memory: nat_ts_regression may miss some cases",
			d.dropped, natMaxSamples, d.early))
	}
	if d.still > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("NAT timestamps: the capture's clock stood still for %d client-server address pairs (every timestamped packet at one time): their TSvals could not be fitted to clocks, so hosts sharing an address were not counted there", d.still))
	}
}

func (ip *ipStamps) listedSYNs() int {
	n := 0
	for _, p := range ip.peers {
		n += p.listed
	}
	return n
}

// pairVerdict is what one pair's samples say.
type pairVerdict struct {
	p       *pairStamps
	k       uint8 // p's index in ipStamps.peers
	fit     clockFit
	pattern bool
	patP    float64
	several bool // per-address-pair offsets, more than one clock
}

// judge decides an address: a finding, a line of the summary, or nothing.
func (d *natTimestamps) judge(ip *ipStamps) {
	var vs []pairVerdict
	listed, behind, recycle, noTS := 0, 0, 0, 0
	finding := false
	for k := range ip.peers {
		p := &ip.peers[k]
		if p.listed == 0 && p.sentAgain == 0 && len(p.conns) < natMinConns {
			continue
		}
		v := pairVerdict{p: p, k: uint8(k)}
		if p.fitted > 0 {
			v.fit = d.fits[p.fitted-1]
		} else {
			v.fit = d.fitter.fit(p.conns)
		}
		v.patP = binomialTail(p.txBehind, p.lostBehind, float64(p.lostOther+1)/float64(p.txOther+2))
		v.pattern = p.lostBehind >= 2 && v.patP < natPatternP
		v.several = v.fit.offsets == OffsetsPerAddressPair && v.fit.hosts > 1
		if v.fit.still {
			d.still++
		}
		if v.pattern || v.several {
			finding = true
		}
		listed += p.listed
		behind += p.behind
		recycle += p.recycle
		noTS += p.noTS
		if p.listed > 0 || v.several || v.pattern {
			vs = append(vs, v)
		}
	}
	if !finding {
		if listed > 0 {
			d.summary.Addresses++
			d.summary.SYNs += listed
			d.summary.Behind += behind
			d.summary.Recycle += recycle
			d.summary.NoTimestamp += noTS
		}
		return
	}
	plot := d.plotted < natPlotIPs
	if plot {
		d.plotted++
	}
	d.done = append(d.done, ip.finding(vs, plot))
}

// binomialTail is P(X >= k) for X ~ Binomial(n, p).
func binomialTail(n, k int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	sum := 0.0
	for i := k; i <= n; i++ {
		lg := lgamma(n+1) - lgamma(i+1) - lgamma(n-i+1)
		sum += math.Exp(lg + float64(i)*lp + float64(n-i)*lq)
	}
	return min(sum, 1)
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// finding reports one client IP, with the facts per server inside.
func (ip *ipStamps) finding(vs []pairVerdict, plot bool) Finding {
	// Servers in the finding: those that raise it first, then by SYNs.
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if (a.pattern || a.several) != (b.pattern || b.several) {
			return a.pattern || a.several
		}
		if a.p.listed != b.p.listed {
			return a.p.listed > b.p.listed
		}
		return a.p.peer.Less(b.p.peer)
	})
	ev := &NATEvidence{IP: ip.addr.String(), HostFilter: HostFilter(ip.addr), Offsets: OffsetsUnknown,
		Servers: []NATServer{}, SYNs: []NATSYN{}}
	severity := SeverityInfo
	var hosts int
	var first *natSYN
	var firstPeer netip.Addr
	var frames []reassembly.Frame
	conns := map[int]bool{}
	clockBase := 0
	var points []NATPoint
	for _, v := range vs {
		p, fit := v.p, v.fit
		ev.SYNsTotal += p.listed
		ev.DistinctOffsets += fit.lines
		ev.FourTuples += fit.tuples
		ev.SharedClockTuples += fit.sharedTuples
		if ev.RateHz == 0 {
			ev.RateHz = fit.rate
		}
		ev.SYNsBehind += p.behind
		ev.SYNsRecycle += p.recycle
		ev.Unanswered += p.unanswered
		ev.TimestampedConns += len(p.conns) + p.skipped
		ev.MaxBehindBy = max(ev.MaxBehindBy, p.maxBy)
		bySec := float64(p.maxBy) / fit.rate
		ev.MaxBehindByS = max(ev.MaxBehindByS, bySec)
		switch {
		case v.pattern:
			severity = SeverityCritical
		case v.several && p.sentAgain > 0 && severity < SeverityWarning:
			severity = SeverityWarning
		}
		switch {
		case fit.offsets == OffsetsPerAddressPair:
			ev.Offsets = OffsetsPerAddressPair
			hosts = max(hosts, fit.hosts)
		case fit.offsets == OffsetsPerConnection && ev.Offsets == OffsetsUnknown:
			ev.Offsets = OffsetsPerConnection
		}
		srv := NATServer{Server: p.peer.String(), Lines: fit.lines, Offsets: fit.offsets, RateHz: fit.rate,
			FourTuples: fit.tuples, TimestampedConns: len(p.conns) + p.skipped, SYNs: p.listed,
			Unanswered: p.unanswered, SentAgain: p.sentAgain, Recycle: p.recycle, MaxBehindBy: p.maxBy,
			MaxBehindByS: round6(bySec), Pattern: v.pattern, PatternP: roundSig(v.patP)}
		if fit.offsets == OffsetsPerAddressPair {
			srv.Clocks = ptr(fit.hosts)
		}
		if len(ev.Servers) < natMaxServers {
			ev.Servers = append(ev.Servers, srv)
		}
		ev.ServersTotal++
		clockOf := map[int]int{}
		for _, c := range p.conns {
			clockOf[c.id] = clockBase + int(c.clock)
		}
		for syn := range ip.synsTo(v.k) {
			if first == nil {
				first, firstPeer = syn, p.peer
			}
			if len(ev.SYNs) < natMaxSYNs {
				s := syn.evidence(p.peer)
				if c, ok := clockOf[s.Conn]; ok && s.TSval != nil {
					s.Clock = c
				}
				if s.Behind {
					s.BehindByS = ptr(round6(float64(s.BehindBy) / fit.rate))
				}
				ev.SYNs = append(ev.SYNs, s)
				if len(frames) < natMaxFrames {
					frames = append(frames, syn.frame())
				}
				conns[s.Conn] = true
				if s.LatestConn > 0 {
					conns[s.LatestConn] = true
				}
				if s.RecycleConn > 0 {
					conns[s.RecycleConn] = true
				}
			}
		}
		if plot && len(points) < natMaxPoints {
			points = append(points, p.points(ip.synsTo(v.k), clockBase, natMaxPoints-len(points))...)
		}
		clockBase += fit.lines
	}
	if ev.Offsets == OffsetsPerAddressPair {
		ev.Clocks = ptr(hosts) // else null: the host count is unknown
	}
	ids := make([]int, 0, len(conns))
	for id := range conns {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	at := int64(0)
	if first != nil {
		at = first.at
	} else if len(vs) > 0 && len(vs[0].p.conns) > 0 {
		at = vs[0].p.conns[0].firstAt
	}
	f := newFinding(KindNATTSRegression, severity, at, ids...)
	f.addFrames(frames...)
	if first != nil {
		f.about(netip.AddrPortFrom(ip.addr, first.clientPort), first.server(firstPeer), first.frame())
	}
	if len(f.Frames) == 0 {
		f.Filter = HostFilter(ip.addr)
	}
	if plot {
		sort.SliceStable(points, func(i, j int) bool { return points[i].at < points[j].at })
		ev.Points = points
	}
	f.Evidence = ev
	f.Summary = summarize(ev, vs)
	f.Advice = advise(ev, vs)
	return f
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// roundSig keeps three significant digits, so the JSON stays readable.
func roundSig(x float64) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	return v
}

// points are the pair's TSvals for the plot: each connection's first and
// last, up to n points; the first ones always. syns are the pair's listed
// SYNs.
func (p *pairStamps) points(syns iter.Seq[*natSYN], base, n int) []NATPoint {
	bySYN := map[int]*natSYN{}
	for s := range syns {
		bySYN[int(s.conn)] = s
	}
	both := 2*len(p.conns) <= n
	pts := make([]NATPoint, 0, min(n, 2*len(p.conns)))
	for _, c := range p.conns {
		if len(pts) >= n {
			break
		}
		pt := NATPoint{Conn: c.id, at: c.firstAt, TSval: c.first, Clock: base + int(c.clock), SYN: c.synTS}
		if s, ok := bySYN[c.id]; ok && c.synTS {
			pt.Behind, pt.Dropped = s.has(synBehind), s.has(synRecycle)
		}
		pts = append(pts, pt)
		if both && c.lastAt != c.firstAt && len(pts) < n {
			pts = append(pts, NATPoint{Conn: c.id, at: c.lastAt, TSval: c.last, Clock: base + int(c.clock)})
		}
	}
	return pts
}

func summarize(ev *NATEvidence, vs []pairVerdict) string {
	var b strings.Builder
	v := vs[0]
	fmt.Fprintf(&b, "%s toward %s: ", ev.IP, v.p.peer)
	switch {
	case v.several:
		fmt.Fprintf(&b, "its %d timestamped connections lie on %d clocks shared across source ports (offsets per address pair), %d of them in use at once: about %d hosts share this address (NAT)",
			v.fit.conns, v.fit.lines, v.fit.hosts, v.fit.hosts)
	case v.fit.offsets == OffsetsPerConnection:
		fmt.Fprintf(&b, "its %d timestamped connections show %d clock offsets, one per four-tuple (per-connection offsets, as Linux 6.x draws them)", v.fit.conns, v.fit.lines)
	default:
		fmt.Fprintf(&b, "its %d timestamped connections show %d clock offsets; how many hosts use this address is unknown", v.fit.conns, v.fit.lines)
	}
	if v.p.listed > 0 {
		fmt.Fprintf(&b, "; %s behind the latest TSval to that server within 60 s (by up to %d ticks, %s s of its clock)",
			plural(v.p.listed, "SYN was", "SYNs were"), v.p.maxBy, trimNum(float64(v.p.maxBy)/v.fit.rate))
		if v.p.recycle > 0 {
			fmt.Fprintf(&b, ", %d where the exact tcp_tw_recycle rule applies (the newer TSval came from a connection that server held in TIME_WAIT)", v.p.recycle)
		}
	}
	switch {
	case v.pattern:
		fmt.Fprintf(&b, "; %d of them were sent again without a SYN+ACK, far more than loss explains (the other SYNs: %d of %d transmissions unanswered; chance p=%.2g): a per-IP timestamp check drops them",
			v.p.unanswered, v.p.lostOther, v.p.txOther, v.patP)
	case v.p.sentAgain > 0:
		fmt.Fprintf(&b, "; %s sent again without a SYN+ACK, no more than loss explains", plural(v.p.sentAgain, "SYN was", "SYNs were"))
	default:
		b.WriteString("; every SYN was answered at once")
	}
	b.WriteString(".")
	if ev.ServersTotal > 1 {
		fmt.Fprintf(&b, " %d servers in all, each judged on its own.", ev.ServersTotal)
	}
	return b.String()
}

// trimNum writes seconds with at most three decimals, never in e-notation.
func trimNum(x float64) string { return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64) }

func advise(ev *NATEvidence, vs []pairVerdict) string {
	const never = "Never enable net.ipv4.tcp_tw_recycle (removed in Linux 4.12); any system still offering a per-IP timestamp check is unsafe for clients behind NAT."
	for _, v := range vs {
		if v.pattern {
			return fmt.Sprintf("SYNs from %s to %s got no SYN+ACK and were sent again after their TSval went backwards: something on the path to the server checks timestamps per source IP and drops the SYN silently, as Linux before 4.12 did with tcp_tw_recycle=1 (counter PAWSPassive / \"passive connections rejected because of time stamp\" in netstat -s). If the capture was taken on the server, the server itself dropped them: set net.ipv4.tcp_tw_recycle=0. ",
				ev.IP, v.p.peer) + never
		}
	}
	return fmt.Sprintf("Several hosts share %s: a server with tcp_tw_recycle=1 (Linux before 4.12) would silently drop the SYNs whose TSval is behind another host's, and their clients would see SYN retransmissions and connect timeouts. ", ev.IP) + never
}

// clockFit is what one pair's timestamps say about its clocks.
type clockFit struct {
	rate         float64 // TSval ticks per second
	conns        int     // timestamped connection sides considered
	lines        int     // distinct clocks (offsets): what per-address-pair offsets need
	tuples       int     // distinct public four-tuples
	perConn      int     // pre-NAT four-tuples: what per-connection offsets need
	shared       int     // lines that more than one public four-tuple lies on
	sharedTuples int     // four-tuples on those lines
	hosts        int     // most lines in use at once (within 60 s): the hosts under per-address-pair offsets
	fresh        int     // connections whose clock started at their SYN
	// still is true when every sample lies at one capture time while the
	// TSvals differ: the capture's clock stood still, so no line through
	// time can be drawn and the samples are not fitted to clocks.
	still   bool
	offsets string
}

// fitPair groups one pair's connections by clock ("connections whose
// TSval minus rate x time agree share a clock"), sets each one's clock
// index, and decides the offset model (see natTimestamps).
func fitPair(cs []stampConn) clockFit {
	var f fitter
	return f.fit(cs)
}

// fitter holds fitPair's buffers, to use them again from pair to pair:
// the connections in time order, the slopes and rates bestRate tries, and
// the lines of the best rate so far and of the one being tried.
type fitter struct {
	g                 []*stampConn
	own, pairs, rates []float64
	best, cur         lineBuf
}

// lineBuf is what cluster makes its lines of.
type lineBuf struct {
	lines   []*clockLine
	slab    []clockLine
	members []*stampConn
	samples []clockSample
	near    []lineReach
}

func (f *fitter) fit(cs []stampConn) clockFit {
	fit := clockFit{conns: len(cs), rate: tsRates[0], offsets: OffsetsUnknown}
	if len(cs) == 0 {
		return fit
	}
	g := f.g[:0]
	for i := range cs {
		g = append(g, &cs[i])
		if cs[i].synTS && cs[i].first <= freshTS {
			fit.fresh++
		}
	}
	f.g = g
	if fit.still = stoodStill(g); fit.still {
		for _, c := range g {
			c.clock = 0
		}
		return fit
	}
	sort.SliceStable(g, func(i, j int) bool { return g[i].firstAt < g[j].firstAt })
	// No rate needs fewer clocks than one per fresh connection and one
	// for the rest: a rate that needs that few is not beaten.
	floor := fit.fresh
	if fit.fresh < len(g) {
		floor++
	}
	rate, lines := f.bestRate(g, floor)
	fit.rate, fit.lines, fit.tuples = rate, len(lines), distinctTuples(g)
	fit.hosts = concurrentLines(lines)
	for k, l := range lines {
		for _, c := range l.members {
			c.clock = int32(k)
		}
		if n := distinctTuples(l.members); n > 1 {
			fit.shared++
			fit.sharedTuples += n
		}
		fit.perConn += preNATTuples(l.members)
	}
	switch {
	case fit.conns < natMinConns:
	case fit.perConn-fit.lines >= 2 && (fit.perConn-fit.lines)*10 > fit.tuples:
		fit.offsets = OffsetsPerAddressPair
	case fit.shared == 0:
		fit.offsets = OffsetsPerConnection
	}
	return fit
}

// stoodStill reports whether the connections' samples were all captured
// at one time although their TSvals differ by more than a clock's
// tolerance over no time: a clock is a line of TSval over capture time,
// which a capture whose clock stood still (every packet at one time, or
// pcapng simple packet blocks, which have none) cannot give, whereas on a
// moving capture clock samples at one instant are one burst of one clock.
func stoodStill(g []*stampConn) bool {
	if len(g) < 2 {
		return false
	}
	at, lo, hi := g[0].firstAt, g[0].first, g[0].first
	for _, c := range g {
		if c.firstAt != at || c.lastAt != at {
			return false
		}
		for _, ts := range [2]uint32{c.first, c.last} {
			if int32(ts-lo) < 0 {
				lo = ts
			}
			if int32(ts-hi) > 0 {
				hi = ts
			}
		}
	}
	return float64(hi-lo) > tsRates[0]*clockJitter+2
}

// concurrentLines is the most lines in use at once, a line being in use
// from its first sample to 60 s (TCP_PAWS_MSL) after its last: two clocks
// that far apart in time are one host's clock before and after a reboot
// (or two captures), not two hosts a per-IP check confuses.
func concurrentLines(lines []*clockLine) int {
	type edge struct {
		at    int64
		delta int
	}
	var es []edge
	for _, l := range lines {
		first, last := l.members[0].firstAt, l.members[0].lastAt
		for _, c := range l.members {
			first, last = min(first, c.firstAt), max(last, c.lastAt)
		}
		es = append(es, edge{first, 1}, edge{last + natPAWSMSL, -1})
	}
	sort.Slice(es, func(i, j int) bool {
		return es[i].at < es[j].at || es[i].at == es[j].at && es[i].delta > es[j].delta
	})
	n, most := 0, 0
	for _, e := range es {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// natPAWSMSL is TCP_PAWS_MSL, how long Linux trusted a remembered TSval.
const natPAWSMSL = 60e9 // ns

func tupleOf(c *stampConn) uint32 { return uint32(c.peerPort)<<16 | uint32(c.port) }

// preNATTuples is the fewest four-tuples that can have sent one line's
// connections under per-connection offsets: connections on one public
// four-tuple are its incarnations; connections on different public ports
// are one four-tuple whose ports a NAT remapped only when the later one
// starts after the earlier ended and its ISN continues the earlier one's
// (sameTuple). Greedy in start order: each connection extends the first
// chain it continues.
func preNATTuples(members []*stampConn) int {
	ms := append([]*stampConn{}, members...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].start < ms[j].start })
	var chains []*stampConn // the latest connection of each chain
	for _, c := range ms {
		placed := false
		for k, last := range chains {
			if tupleOf(last) == tupleOf(c) && c.start >= last.start || sameTuple(last, c) {
				chains[k], placed = c, true
				break
			}
		}
		if !placed {
			chains = append(chains, c)
		}
	}
	return len(chains)
}

// sameTuple says whether b can be a later incarnation of a's pre-NAT
// four-tuple under another public port: b starts after a ended, and b's
// ISN follows a's on the tuple's ISN clock (RFC 6528 with Linux's 64 ns
// tick: the hash of the four-tuple is the same) or is a's snd_nxt + 65537
// (reused from TIME_WAIT). Only a client's ISNs are compared: they are
// what the tuple's hash and clock decide.
func sameTuple(a, b *stampConn) bool {
	if !a.isnKnown || !b.isnKnown || b.start < a.end || a.peerPort != b.peerPort {
		return false
	}
	if d := int64(int32(b.isn - (a.next + twReuseISN))); abs64(d) <= 1 {
		return true
	}
	dt := float64(b.start-a.start) / 1e9
	want := uint32(int64(math.Round(dt * isnRate)))
	return abs64(int64(int32(b.isn-a.isn-want))) <= int64(isnRate*isnJitter)
}

// clockLine is one clock: its samples in time order, and who lies on it.
type clockLine struct {
	samples []clockSample
	members []*stampConn
	fresh   bool // started at its connection's SYN
	// A bound on where the samples lie, to pass over a line no sample of
	// which can be within gap's tolerance of a TSval: the offset of the
	// first sample (clockOffset) and how far the others' offsets are from
	// it at most. A sample's clockGap to a TSval is at least the distance
	// of their offsets less one tick (each rounds by half a tick), so at
	// least the distance from the first sample's offset less the spread;
	// a tick more keeps it a bound under floating-point rounding.
	off    uint32
	spread int64
	index  int32 // in cluster's order of lines
}

// clockOffset is a TSval less the ticks of a clock at rate since base:
// two samples of one clock have offsets within a tick of their clockGap
// (each side rounds by half a tick), whatever their times.
func clockOffset(ts uint32, at, base int64, rate float64) uint32 {
	return ts - uint32(int64(math.Round(rate*float64(at-base)/1e9)))
}

// offsetDist is the distance of two offsets on the 32-bit circle.
func offsetDist(a, b uint32) int64 { return abs64(int64(int32(a - b))) }

// distinctTuples counts the public four-tuples (tupleOf) among members.
func distinctTuples(members []*stampConn) int {
	ts := make([]uint32, len(members))
	for i, c := range members {
		ts[i] = tupleOf(c)
	}
	slices.Sort(ts)
	return len(slices.Compact(ts))
}

// clockSample is one TSval and when it was captured.
type clockSample struct {
	ts uint32
	at int64
}

// add puts a sample in time order, and widens the line's bound (far) to
// take it in.
func (l *clockLine) add(ts uint32, at, base int64, rate float64) {
	off := clockOffset(ts, at, base, rate)
	if len(l.samples) == 0 {
		l.off = off
	}
	l.spread = max(l.spread, offsetDist(off, l.off))
	i := sort.Search(len(l.samples), func(i int) bool { return l.samples[i].at > at })
	l.samples = append(l.samples, clockSample{})
	copy(l.samples[i+1:], l.samples[i:])
	l.samples[i] = clockSample{ts, at}
}

// gap is how far ts at at lies from the line, judged from its samples
// nearest in time on either side: a clock whose rate wanders (a virtual
// machine's) stays on its line between near samples.
func (l *clockLine) gap(ts uint32, at int64, rate float64) (gap, tol int64) {
	i := sort.Search(len(l.samples), func(i int) bool { return l.samples[i].at > at })
	gap, tol = math.MaxInt64, 0
	for _, k := range [2]int{i - 1, i} {
		if k < 0 || k >= len(l.samples) {
			continue
		}
		sm := l.samples[k]
		g := abs64(clockGap(sm.ts, sm.at, ts, at, rate))
		t := int64(rate*(clockJitter+clockDrift*math.Abs(float64(at-sm.at)/1e9))) + 2
		if g <= t && (tol == 0 || g < gap) {
			gap, tol = g, t
		}
	}
	return gap, tol
}

// bestRate clusters the group at each plausible rate and keeps the rate
// that explains it with the fewest clocks; the standard rates come first,
// so a tie keeps the most common. Besides the standard rates it tries the
// rate long connections show on their own (TSLast - TSFirst over their
// duration) and the rate most pairs of nearby connections agree on, for
// stacks (or crafted captures) that tick at another rate.
func (f *fitter) bestRate(g []*stampConn, floor int) (float64, []*clockLine) {
	own, pairs := f.own[:0], f.pairs[:0]
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
	f.own, f.pairs = own, pairs
	rates := f.rates[:0]
	if r := commonRate(own, 1); r > 0 {
		rates = append(rates, snapRate(r))
	}
	rates = append(rates, tsRates...)
	if r := commonRate(pairs, 2); r > 0 {
		// Snapped, and as measured: a clock a little off its nominal
		// rate (or the capture host's) drifts out of the tolerance over
		// a long gap.
		rates = append(rates, snapRate(r), r)
	}
	f.rates = rates
	var best []*clockLine
	bestR := rates[0]
	for _, r := range rates {
		lines := cluster(g, r, &f.cur)
		if best == nil || len(lines) < len(best) {
			best, bestR = lines, r
			f.best, f.cur = f.cur, f.best // best's lines stay, the next rate's go in the other
		}
		if len(best) <= floor {
			break
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
func cluster(g []*stampConn, rate float64, b *lineBuf) []*clockLine {
	if len(g) == 0 {
		return nil
	}
	lines := b.lines[:0]
	// Every sample and TSval lies between the first connection's first
	// and the latest last: no tolerance is wider than over that span.
	base, end := g[0].firstAt, g[0].firstAt
	for _, c := range g {
		end = max(end, c.lastAt, c.firstAt)
	}
	widest := int64(rate*(clockJitter+clockDrift*math.Abs(float64(end-base)/1e9))) + 2
	// near are the lines a connection may join (not fresh) by the offset
	// of their first sample, in offset order: a line lies within its
	// spread + 2 + widest of a TSval's offset, or the TSval is not on it,
	// so only the lines within the widest such window are judged. Ties
	// go to the line made first, as if every line were judged in order.
	near := b.near[:0]
	var spread int64 // the widest line's
	// Most lines hold one connection: the lines, and room for one member
	// and its two samples each, come from one buffer apiece.
	if cap(b.slab) < len(g) {
		b.slab = make([]clockLine, len(g))
		b.members = make([]*stampConn, len(g))
		b.samples = make([]clockSample, 2*len(g))
	}
	slab, members, samples := b.slab[:len(g)], b.members[:len(g)], b.samples[:2*len(g)]
	for _, c := range g {
		var on *clockLine
		var onGap int64
		fresh := c.synTS && c.first <= freshTS
		if w := spread + 2 + widest; !fresh && len(near) > 0 {
			off := clockOffset(c.first, c.firstAt, base, rate)
			lo := off - uint32(min(w, math.MaxUint32))
			i, _ := slices.BinarySearchFunc(near, lo, func(n lineReach, t uint32) int { return cmp.Compare(n.off, t) })
			for k := range near {
				n := near[(i+k)%len(near)]
				if w < 1<<31 && int64(n.off-lo) > 2*w {
					break
				}
				l := n.line
				if offsetDist(off, n.off) > l.spread+2+widest {
					continue
				}
				gap, tol := l.gap(c.first, c.firstAt, rate)
				if tol > 0 && gap <= tol && (on == nil || gap < onGap || gap == onGap && l.index < on.index) {
					on, onGap = l, gap
				}
			}
		}
		if on == nil {
			k := len(lines)
			on = &slab[k]
			*on = clockLine{fresh: fresh, index: int32(k), members: members[k : k : k+1], samples: samples[2*k : 2*k : 2*k+2]}
			lines = append(lines, on)
		}
		on.members = append(on.members, c)
		on.add(c.first, c.firstAt, base, rate)
		if c.lastAt != c.firstAt {
			on.add(c.last, c.lastAt, base, rate)
		}
		spread = max(spread, on.spread)
		if !on.fresh && len(on.members) == 1 {
			i, _ := slices.BinarySearchFunc(near, on.off, func(n lineReach, t uint32) int { return cmp.Compare(n.off, t) })
			near = slices.Insert(near, i, lineReach{on.off, on})
		}
	}
	b.lines, b.near = lines, near
	return lines
}

// lineReach is a line by the offset of its first sample (cluster).
type lineReach struct {
	off  uint32
	line *clockLine
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
