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
type closeWait struct {
	first, last int64 // the capture's first and last packet seen in records
	candidates  []closeWaitConn
}

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
}

func newCloseWait() *closeWait { return &closeWait{} }

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
	d.candidates = append(d.candidates, closeWaitConn{
		id: r.ID, client: r.Client, server: r.Server, stuck: passive,
		fin: af.FIN, ack: pf.AckOfPeerFIN, last: r.End, lastFrame: r.LastFrame,
	})
}

// minAge is how long a connection must have sat half-closed before the
// capture ended to count as stuck.
func (d *closeWait) minAge() int64 {
	age := (d.last - d.first) / 4
	return min(max(age, closeWaitFloor), closeWaitCeiling)
}

// closeWaitGroup is one stuck endpoint and its connections.
type closeWaitGroup struct {
	stuck          reassembly.Side
	client, server netip.AddrPort // client's port is zero: its IP only
	conns, recent  []closeWaitConn
}

func (d *closeWait) finish(res *Result) {
	if len(d.candidates) == 0 {
		return
	}
	minAge := d.minAge()
	type key struct {
		stuck          reassembly.Side
		client, server netip.AddrPort
	}
	groups := map[key]*closeWaitGroup{}
	var order []key
	for _, c := range d.candidates {
		k := key{stuck: c.stuck, server: c.server}
		if c.stuck == reassembly.SideClient {
			k.client = netip.AddrPortFrom(c.client.Addr(), 0)
		}
		g := groups[k]
		if g == nil {
			g = &closeWaitGroup{stuck: k.stuck, client: k.client, server: k.server}
			groups[k] = g
			order = append(order, k)
		}
		if d.last-c.last >= minAge {
			g.conns = append(g.conns, c)
		} else {
			g.recent = append(g.recent, c)
		}
	}
	for _, k := range order {
		if g := groups[k]; len(g.conns) > 0 {
			res.Findings = append(res.Findings, d.finding(g, minAge))
		}
	}
}

func (d *closeWait) finding(g *closeWaitGroup, minAge int64) Finding {
	sort.Slice(g.conns, func(i, j int) bool { return g.conns[i].ack.Time < g.conns[j].ack.Time })
	oldest := g.conns[0]
	severity := SeverityWarning
	if len(g.conns) >= closeWaitMany {
		severity = SeverityCritical
	}
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
	f.addFrames(frames...)
	f.about(oldest.client, oldest.server, oldest.fin.Frame, oldest.ack.Frame, oldest.lastFrame)
	recent := make([]int, len(g.recent))
	for i, c := range g.recent {
		recent[i] = c.id
	}
	sort.Ints(recent)

	ev := &CloseWaitEvidence{
		CaptureSpanS:   Seconds(d.last - d.first),
		Connections:    ids,
		Count:          len(g.conns),
		EndpointFilter: fmt.Sprintf("%s && tcp.port==%d", HostFilter(g.server.Addr()), g.server.Port()),
		FINFrames:      finFrames,
		MinAgeS:        Seconds(minAge),
		OldestAgeS:     Seconds(d.last - oldest.ack.Time),
		OldestConn:     oldest.id,
		OldestSince:    FormatTime(oldest.ack.Time),
		Server:         g.server.String(),
		StuckSide:      g.stuck.String(),
		TooRecent:      recent,
	}
	f.Evidence = ev

	n := len(g.conns)
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
