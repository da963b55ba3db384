package analyze

import (
	"net/netip"
	"strconv"

	"github.com/twscope/twscope/reassembly"
)

// Selection keeps the connections a user asked about (--server,
// --client, --since/--until) and drops the others before any detector
// sees them, so that every output (text, JSON, --conns, conn.log,
// Parquet, HTML, golden) is of the same connections.
//
// It selects whole incarnations, never packets: the tracker still sees
// every packet, so a selected connection keeps every fact of its own
// (handshake, close, final ACK) even when part of it lies outside the
// time window, and the facts the tracker carries from a previous
// incarnation (Record.Prev: the reuse gap, who held TIME_WAIT, the
// sequence range) still inform a reuse or an overlap when that previous
// incarnation is itself not selected. A TIME_WAIT that a later,
// unselected incarnation of the same four-tuple cut short is cut short
// all the same (see unselected).
type Selection struct {
	// Server keeps connections whose server (the SYN+ACK sender) is in
	// the prefix, and on ServerPort when it is not 0.
	Server     netip.Prefix
	ServerPort uint16
	// Client keeps connections whose client (the SYN sender) is in the
	// prefix.
	Client netip.Prefix
	// Since and Until keep the connections with a packet in the window
	// [Since, Until]: those that started before Until and ended at or
	// after Since.
	Since, Until WindowTime
}

// WindowTime is one end of the time window: an absolute time, or an
// offset from the capture's start (the first packet of all the files),
// which Run resolves once the captures are open.
type WindowTime struct {
	Set      bool
	Relative bool  // At is nanoseconds after the capture's first packet
	At       int64 // Unix nanoseconds, or the offset when Relative
}

// Active reports whether the selection drops anything at all.
func (s *Selection) Active() bool {
	return s.Server.IsValid() || s.ServerPort != 0 || s.Client.IsValid() || s.Since.Set || s.Until.Set
}

// resolve turns the relative ends of the window into absolute times.
func (s *Selection) resolve(start int64) {
	for _, w := range []*WindowTime{&s.Since, &s.Until} {
		if w.Set && w.Relative {
			w.At += start
			w.Relative = false
		}
	}
}

// Keep reports whether the selection keeps r. The window's ends must be
// resolved (absolute).
func (s *Selection) Keep(r *reassembly.Record) bool {
	if s.Server.IsValid() && !s.Server.Contains(r.Server.Addr().Unmap()) {
		return false
	}
	if s.ServerPort != 0 && r.Server.Port() != s.ServerPort {
		return false
	}
	if s.Client.IsValid() && !s.Client.Contains(r.Client.Addr().Unmap()) {
		return false
	}
	if s.Since.Set && r.End < s.Since.At {
		return false
	}
	if s.Until.Set && r.Start > s.Until.At {
		return false
	}
	return true
}

// SelectionInfo is the selection a report was made with, in the JSON as
// "selection" (absent when nothing was selected).
type SelectionInfo struct {
	Server string `json:"server,omitempty"` // as given: address, prefix, with :port
	Client string `json:"client,omitempty"`
	Since  *Time  `json:"since,omitempty"`
	Until  *Time  `json:"until,omitempty"`
	// ConnectionsSeen counts every incarnation the capture holds;
	// Totals.Connections (and Partial) count the selected ones.
	ConnectionsSeen int `json:"connections_seen"`
	PartialSeen     int `json:"partial_connections_seen"`
}

// info describes the selection for the report.
func (s *Selection) info() *SelectionInfo {
	in := &SelectionInfo{}
	if s.Server.IsValid() || s.ServerPort != 0 {
		in.Server = HostPortLabel(s.Server, s.ServerPort)
	}
	if s.Client.IsValid() {
		in.Client = HostPortLabel(s.Client, 0)
	}
	if s.Since.Set {
		in.Since = timePtr(s.Since.At)
	}
	if s.Until.Set {
		in.Until = timePtr(s.Until.At)
	}
	return in
}

// HostPortLabel writes a selected address or prefix (a single address
// without its /32 or /128) with its port, IPv6 in brackets when there is
// a port; "*" for any address.
func HostPortLabel(p netip.Prefix, port uint16) string {
	host := "*"
	if p.IsValid() {
		host = p.String()
		if p.IsSingleIP() {
			host = p.Addr().String()
		}
	}
	if port == 0 {
		return host
	}
	if p.IsValid() && p.Addr().Is6() {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// selectCounter counts the incarnations seen and selected.
type selectCounter struct {
	seen, partialSeen, kept, partialKept int
}

// unselected is the part of the detectors that a record left out by the
// selection still informs: its SYN ends the TIME_WAIT of its four-tuple's
// previous incarnation, which may be selected.
type unselectedObserver interface {
	unselected(r *reassembly.Record)
}

// keep applies the selection to r, counting, and lets the detectors that
// an unselected record still informs see it.
func (a *Analyzer) keep(r *reassembly.Record) bool {
	sel := &a.opts.Select
	if !sel.Active() {
		return true
	}
	c := &a.selected
	c.seen++
	if r.Partial {
		c.partialSeen++
	}
	if !sel.Keep(r) {
		for _, d := range a.detectors {
			if u, ok := d.(unselectedObserver); ok {
				u.unselected(r)
			}
		}
		return false
	}
	c.kept++
	if r.Partial {
		c.partialKept++
	}
	return true
}

// selectResult writes the selection into the report: the connections
// counted are the selected ones, with the capture's own beside them.
func (a *Analyzer) selectResult(res *Result) {
	sel := &a.opts.Select
	if !sel.Active() {
		return
	}
	in := sel.info()
	c := a.selected
	in.ConnectionsSeen, in.PartialSeen = c.seen, c.partialSeen
	res.Selection = in
	res.Totals.Connections, res.Totals.Partial = c.kept, c.partialKept
}

// captureStart is the time of the first packet of all the files: Open
// has read the first packet of each.
func captureStart(src *reassembly.Source) int64 {
	var start int64
	for _, f := range src.Files() {
		if f.Packets > 0 && (start == 0 || f.First < start) {
			start = f.First
		}
	}
	return start
}
