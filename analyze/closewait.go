package analyze

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// closeWait finds sockets stuck in CLOSE_WAIT (domain.md section 2): one
// side sent FIN, the other acknowledged it and then neither sent its own
// FIN nor reset the connection, for long enough that its application has
// evidently not called close().
//
// "Long enough" can only be judged against what the capture watched. A
// connection counts once its last packet (the ACK of the FIN, or data the
// passive side still sent after it, as a legitimate half-close does) lies
// at least closeWaitMinAge before the end of the capture, where that age
// is a quarter of the capture's span, but never less than 10 ms and never
// more than 1 s. An application that read EOF closes within microseconds
// to a few milliseconds; one that has not closed after 1 s, or after a
// quarter of everything the capture shows, while the capture goes on, is
// not going to. A half-closed connection younger than that is listed in the
// evidence as too recent to judge, not counted.
//
// The stuck side is the passive closer. When it is the server, the leak is
// in the service: one finding per server endpoint (ip:port). When it is the
// client (the server closed and the client never did, typically a
// connection pool keeping connections the server closed), the client's
// ephemeral ports say nothing, so the finding is per client IP and server
// endpoint: the leaking client application toward that service.
//
// Severity is warning; critical from closeWaitMany connections on, because
// then the leak is systematic rather than one slow close: every CLOSE_WAIT
// socket holds a file descriptor and buffers until the process exits, and
// the process ends up failing accept() or connect() with EMFILE.
//
// Memory stays flat: a half-closed connection whose last packet lies
// closeWaitCeiling before the latest packet seen so far is stuck whatever
// the capture's span turns out to be, so it is judged at once and kept
// only as counts, the oldest, and the first maxListed of its group; only
// the younger ones wait for the end of the capture.
type closeWait struct {
	limited
	first, last int64           // the capture's first and last packet seen in records
	pending     []closeWaitConn // not yet judged: too young so far
	groups      map[closeWaitKey]*closeWaitGroup
	order       []*closeWaitGroup // in order of their first candidate
	folded      int               // stuck connections of groups past MaxPairs
	kept        int               // pending after the last judge
	unjudged    int               // pending past closeWaitPending
}

// closeWaitPending bounds the half-closed connections waiting to be
// judged.
const closeWaitPending = 1 << 16

const (
	closeWaitFloor   = int64(10 * time.Millisecond)
	closeWaitCeiling = int64(time.Second)
	closeWaitMany    = 10
)

// closeWaitConn is what a half-closed connection leaves for the verdict.
type closeWaitConn struct {
	id             int
	client, server netip.AddrPort
	stuck          reassembly.Side // the passive side, which never sent FIN
	fin, ack       reassembly.Event
	last           int64 // the connection's last packet
	lastFrame      reassembly.Frame
	group          *closeWaitGroup
}

func newCloseWait() *closeWait { return &closeWait{groups: map[closeWaitKey]*closeWaitGroup{}} }

func (d *closeWait) observe(r *reassembly.Record) {
	if d.first == 0 || r.Start < d.first {
		d.first = r.Start
	}
	if r.End > d.last {
		d.last = r.End
	}
	if r.Close != reassembly.CloseHalf || r.RSTBy != reassembly.SideNone {
		return
	}
	active := r.Closer
	if active != reassembly.SideClient && active != reassembly.SideServer {
		return
	}
	passive := active.Other()
	af, pf := r.Flow(active), r.Flow(passive)
	if pf.FIN.Seen() || !pf.AckOfPeerFIN.Seen() {
		// Without an ACK of the FIN, the passive side may never have
		// received it: nothing says it is in CLOSE_WAIT.
		return
	}
	c := closeWaitConn{
		id: r.ID, client: r.Client, server: r.Server, stuck: passive,
		fin: af.FIN, ack: pf.AckOfPeerFIN, last: r.End, lastFrame: r.LastFrame,
	}
	if c.group = d.group(c); c.group == nil {
		return
	}
	d.pending = append(d.pending, c)
	if len(d.pending) >= 2*d.kept+64 { // amortized: the young ones are kept
		d.judge()
	}
}

// judge moves the pending connections that are stuck whatever the
// capture's span into their groups.
func (d *closeWait) judge() {
	kept := d.pending[:0]
	for _, c := range d.pending {
		if d.last-c.last >= closeWaitCeiling {
			c.group.add(c)
		} else {
			kept = append(kept, c)
		}
	}
	clear(d.pending[len(kept):])
	if n := len(kept) - closeWaitPending; n > 0 {
		// More half-closed connections within the last second than a
		// capture whose clock moves holds: a frozen clock. The first
		// are counted, not judged.
		d.unjudged += n
		kept = kept[:copy(kept, kept[n:])]
	}
	d.pending, d.kept = kept, len(kept)
}

// group is c's group: its server endpoint, or with a stuck client the
// client's IP and server endpoint; nil past MaxPairs groups.
func (d *closeWait) group(c closeWaitConn) *closeWaitGroup {
	k := closeWaitKey{stuck: c.stuck, server: c.server}
	if c.stuck == reassembly.SideClient {
		k.client = netip.AddrPortFrom(c.client.Addr(), 0)
	}
	g := d.groups[k]
	if g == nil {
		if len(d.groups) >= maxPairs {
			d.folded++
			return nil
		}
		g = &closeWaitGroup{stuck: k.stuck, client: k.client, server: k.server}
		d.groups[k] = g
		d.order = append(d.order, g)
	}
	return g
}

// minAge is how long a connection must have sat half-closed before the
// capture ended to count as stuck.
func (d *closeWait) minAge() int64 {
	age := (d.last - d.first) / 4
	return min(max(age, closeWaitFloor), closeWaitCeiling)
}

type closeWaitKey struct {
	stuck          reassembly.Side
	client, server netip.AddrPort
}

// closeWaitGroup is one stuck endpoint and its connections: all counted,
// the first maxListed listed, the oldest remembered.
type closeWaitGroup struct {
	stuck          reassembly.Side
	client, server netip.AddrPort // client's port is zero: its IP only
	conns          []closeWaitConn
	n              int
	oldest         closeWaitConn
	recent         []int // ids of the connections too recent to judge, first maxListed
	nRecent        int
}

func (g *closeWaitGroup) add(c closeWaitConn) {
	c.group = nil
	if g.n == 0 || c.ack.Time < g.oldest.ack.Time || c.ack.Time == g.oldest.ack.Time && c.id < g.oldest.id {
		g.oldest = c
	}
	g.n++
	if len(g.conns) < maxListed {
		g.conns = append(g.conns, c)
	}
}

func (d *closeWait) finish(res *Result) {
	minAge := d.minAge()
	for _, c := range d.pending {
		g := c.group
		if d.last-c.last >= minAge {
			g.add(c)
			continue
		}
		g.nRecent++
		if len(g.recent) < maxListed {
			g.recent = append(g.recent, c.id)
		}
	}
	d.pending = nil
	for _, g := range d.order {
		if g.n == 0 {
			continue
		}
		severity := SeverityWarning
		if g.n >= closeWaitMany {
			severity = SeverityCritical
		}
		if d.lim.take(KindCloseWait, severity) {
			res.Findings = append(res.Findings, d.finding(g, severity, minAge))
		}
	}
	if d.unjudged > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("close_wait: %d half-closed connections not judged: more than %d within 1 s of capture time (a clock standing still?)", d.unjudged, closeWaitPending))
	}
	if d.folded > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("close_wait: %d half-closed connections of endpoints past the first %d not judged", d.folded, maxPairs))
	}
}

func (d *closeWait) finding(g *closeWaitGroup, severity Severity, minAge int64) Finding {
	sort.Slice(g.conns, func(i, j int) bool {
		a, b := g.conns[i], g.conns[j]
		return a.ack.Time < b.ack.Time || a.ack.Time == b.ack.Time && a.id < b.id
	})
	oldest := g.oldest
	ids := make([]int, len(g.conns))
	frames := make([]reassembly.Frame, 0, 2*len(g.conns))
	finFrames := make([]int, len(g.conns))
	for i, c := range g.conns {
		ids[i] = c.id
		frames = append(frames, c.fin.Frame, c.ack.Frame)
		finFrames[i] = c.fin.Frame.N
	}
	sort.Ints(ids)
	f := newFinding(KindCloseWait, severity, oldest.ack.Time, ids...)
	f.ConnsTotal = g.n
	f.addFrames(frames...)
	f.about(oldest.client, oldest.server, oldest.fin.Frame, oldest.ack.Frame, oldest.lastFrame)
	recent := append([]int{}, g.recent...) // [] when none, not null
	sort.Ints(recent)

	ev := &CloseWaitEvidence{
		CaptureSpanS:     Seconds(d.last - d.first),
		Connections:      ids,
		ConnectionsTotal: g.n,
		Count:            g.n,
		EndpointFilter:   fmt.Sprintf("%s && tcp.port==%d", HostFilter(g.server.Addr()), g.server.Port()),
		FINFrames:        finFrames,
		MinAgeS:          Seconds(minAge),
		OldestAgeS:       Seconds(d.last - oldest.ack.Time),
		OldestConn:       oldest.id,
		OldestSince:      FormatTime(oldest.ack.Time),
		Server:           g.server.String(),
		StuckSide:        g.stuck.String(),
		TooRecent:        recent,
		TooRecentTotal:   g.nRecent,
	}
	f.Evidence = ev

	n := g.n
	plural := "s"
	if n == 1 {
		plural = ""
	}
	age := seconds(d.last - oldest.ack.Time)
	if g.stuck == reassembly.SideServer {
		f.Summary = fmt.Sprintf("Seen in the capture: %d connection%s to %s stuck in CLOSE_WAIT on the server: "+
			"the client's FIN was acknowledged but the server never sent its own (oldest for %s, until the capture ended).",
			n, plural, g.server, age)
		f.Advice = fmt.Sprintf("The application behind %s reads EOF but never calls close() on these sockets: "+
			"find the code path that returns without closing (error handling, a missing defer/finally). "+
			"Kernel settings cannot fix this; ss -tan state close-wait on the server shows them growing.", g.server)
	} else {
		ev.ClientIP = g.client.Addr().String()
		f.Summary = fmt.Sprintf("Seen in the capture: %d connection%s from %s to %s stuck in CLOSE_WAIT on the client: "+
			"the server's FIN was acknowledged but the client never sent its own (oldest for %s, until the capture ended).",
			n, plural, g.client.Addr(), g.server, age)
		f.Advice = fmt.Sprintf("The client application on %s keeps connections the server closed without closing them "+
			"(often a connection pool that does not check for EOF): close sockets on EOF, or validate pooled "+
			"connections before use. Kernel settings cannot fix this.", g.client.Addr())
	}
	return f
}
