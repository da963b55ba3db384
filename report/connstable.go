package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// ConnTable is the `twscope conns` view: one row per incarnation in the
// style of `tshark -q -z conv,tcp` (client, server, frames and payload
// bytes each way, relative start, duration) with the close facts as
// columns. It keeps at most twice Limit rows while records come in (the
// best Limit by the sort key survive each trim), so its memory is bounded
// by the limit, not by the capture; Limit 0 keeps every row.
type ConnTable struct {
	Sort  ConnSort
	Limit int
	rows  []connRow
	total int
}

// connRow is what the table shows of one record.
type connRow struct {
	id              int
	client, server  string
	frames          [2]int   // client to server, server to client
	bytes           [2]int64 // payload, retransmissions once
	start, end      int64
	closer, rstBy   reassembly.Side
	holder          reassembly.Side
	close           reassembly.CloseKind
	finalAck        reassembly.FinalAck
	reuseGap        int64
	hasGap, partial bool
	firstFile       int
	firstFrame      int
}

// ConnSort is a column the table is sorted by.
type ConnSort uint8

// The sort keys. Amounts (duration, bytes, frames) sort largest first,
// as tshark lists its biggest conversations first; reuse gaps the
// shortest first (after the connections that reuse a four-tuple); the
// others in their natural order (start, id) or the order reports list
// the enumeration's values in (reassembly.Sides, CloseKinds, FinalAcks);
// ties by connection id, so the table is the same for the same capture.
const (
	SortStart ConnSort = iota
	SortDuration
	SortBytes
	SortFrames
	SortCloser
	SortClose
	SortHolder
	SortFinalAck
	SortRSTBy
	SortReuseGap
	SortClient
	SortServer
	numConnSorts
)

var connSortNames = [numConnSorts]string{"start", "duration", "bytes", "frames", "closer", "close",
	"time_wait_holder", "final_ack", "rst_by", "reuse_gap", "client", "server"}

func (s ConnSort) String() string { return connSortNames[s%numConnSorts] }

// ConnSortNames lists the sort keys for help texts.
func ConnSortNames() []string { return connSortNames[:] }

// ParseConnSort reads a sort key by its name.
func ParseConnSort(s string) (ConnSort, error) {
	if i := slices.Index(connSortNames[:], s); i >= 0 {
		return ConnSort(i), nil
	}
	return 0, fmt.Errorf("unknown sort key %q: want one of %s", s, strings.Join(connSortNames[:], ", "))
}

// Add takes one record (as the analysis finishes it).
func (t *ConnTable) Add(r *reassembly.Record) {
	t.total++
	row := connRow{
		id: r.ID, client: r.Client.String(), server: r.Server.String(),
		frames: [2]int{r.C.Packets, r.S.Packets}, bytes: [2]int64{r.C.Bytes, r.S.Bytes},
		start: r.Start, end: r.End, closer: r.Closer, rstBy: r.RSTBy, holder: r.TimeWaitHolder,
		close: r.Close, finalAck: r.FinalAck, partial: r.Partial,
		firstFile: r.FirstFrame.File, firstFrame: r.FirstFrame.N,
	}
	if r.HasPrev && r.C.SYN.Seen() {
		row.reuseGap, row.hasGap = r.ReuseGap, true
	}
	t.rows = append(t.rows, row)
	if t.Limit > 0 && len(t.rows) >= 2*t.Limit {
		t.trim()
	}
}

func (t *ConnTable) trim() {
	slices.SortFunc(t.rows, t.compare)
	if t.Limit > 0 && len(t.rows) > t.Limit {
		t.rows = t.rows[:t.Limit]
	}
}

var (
	sideRank  = rankOf(reassembly.Sides[:])
	closeRank = rankOf(reassembly.CloseKinds[:])
	ackRank   = rankOf(reassembly.FinalAcks[:])
)

// rankOf is each value's place in a report order.
func rankOf[T ~uint8](order []T) [256]int {
	var r [256]int
	for i, v := range order {
		r[v] = i
	}
	return r
}

func (t *ConnTable) compare(a, b connRow) int {
	var c int
	switch t.Sort {
	case SortDuration:
		c = cmp.Compare(b.end-b.start, a.end-a.start)
	case SortBytes:
		c = cmp.Compare(b.bytes[0]+b.bytes[1], a.bytes[0]+a.bytes[1])
	case SortFrames:
		c = cmp.Compare(b.frames[0]+b.frames[1], a.frames[0]+a.frames[1])
	case SortCloser:
		c = cmp.Compare(sideRank[a.closer], sideRank[b.closer])
	case SortClose:
		c = cmp.Compare(closeRank[a.close], closeRank[b.close])
	case SortHolder:
		c = cmp.Compare(sideRank[a.holder], sideRank[b.holder])
	case SortFinalAck:
		c = cmp.Compare(ackRank[a.finalAck], ackRank[b.finalAck])
	case SortRSTBy:
		c = cmp.Compare(sideRank[a.rstBy], sideRank[b.rstBy])
	case SortReuseGap: // reuses first, the quickest (the riskiest) first
		if a.hasGap != b.hasGap {
			if a.hasGap {
				return -1
			}
			return 1
		}
		c = cmp.Compare(a.reuseGap, b.reuseGap)
	case SortClient:
		c = strings.Compare(a.client, b.client)
	case SortServer:
		c = strings.Compare(a.server, b.server)
	default:
		c = cmp.Compare(a.start, b.start)
	}
	if c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// connColumn is one column of the table: its header and how a row
// fills it; numbers are right-aligned.
type connColumn struct {
	head  string
	right bool
	cell  func(r *connRow) string
}

// Write renders the table of the connections res is about: the relative
// start is counted from the capture's first packet (as tshark's "Rel
// Start"), and the header names the selection.
func (t *ConnTable) Write(w io.Writer, res *analyze.Result) error {
	t.trim()
	var start int64
	for _, c := range res.Captures {
		if c.First != nil && (start == 0 || int64(*c.First) < start) {
			start = int64(*c.First)
		}
	}
	files := len(res.Captures) > 1
	sel := res.Selection
	num := func(n int64) string { return strconv.FormatInt(n, 10) }
	secs := func(ns int64) string { return strconv.FormatFloat(float64(ns)/1e9, 'f', 6, 64) }
	cols := []connColumn{
		{"id", true, func(r *connRow) string { return strconv.Itoa(r.id) }},
		{"client", false, func(r *connRow) string { return r.client }},
		{"", false, func(*connRow) string { return "<->" }},
		{"server", false, func(r *connRow) string { return r.server }},
		{"frames->", true, func(r *connRow) string { return strconv.Itoa(r.frames[0]) }},
		{"bytes->", true, func(r *connRow) string { return num(r.bytes[0]) }},
		{"frames<-", true, func(r *connRow) string { return strconv.Itoa(r.frames[1]) }},
		{"bytes<-", true, func(r *connRow) string { return num(r.bytes[1]) }},
		{"rel_start", true, func(r *connRow) string { return secs(r.start - start) }},
		{"duration", true, func(r *connRow) string { return secs(r.end - r.start) }},
		{"closer", false, func(r *connRow) string { return r.closer.String() }},
		{"close", false, func(r *connRow) string { return r.close.String() }},
		{"time_wait_holder", false, func(r *connRow) string { return r.holder.String() }},
		{"final_ack", false, func(r *connRow) string { return r.finalAck.String() }},
		{"rst_by", false, func(r *connRow) string {
			if r.rstBy == reassembly.SideNone {
				return "-"
			}
			return r.rstBy.String()
		}},
		{"reuse_gap", true, func(r *connRow) string {
			if !r.hasGap {
				return "-"
			}
			return secs(r.reuseGap)
		}},
		{"frame", true, func(r *connRow) string {
			if files {
				return strconv.Itoa(r.firstFile) + ":" + strconv.Itoa(r.firstFrame)
			}
			return strconv.Itoa(r.firstFrame)
		}},
	}
	cells := make([][]string, len(t.rows))
	width := make([]int, len(cols))
	for i, c := range cols {
		width[i] = len(c.head)
	}
	for j := range t.rows {
		cells[j] = make([]string, len(cols))
		for i, c := range cols {
			s := c.cell(&t.rows[j])
			if t.rows[j].partial && i == 0 {
				s += "*"
			}
			cells[j][i] = s
			width[i] = max(width[i], len(s))
		}
	}
	var b strings.Builder
	line := func(get func(i int) string) {
		for i, c := range cols {
			if i > 0 {
				b.WriteString("  ")
			}
			s := get(i)
			pad := strings.Repeat(" ", width[i]-len(s))
			if c.right {
				b.WriteString(pad + s)
			} else if i == len(cols)-1 {
				b.WriteString(s)
			} else {
				b.WriteString(s + pad)
			}
		}
		b.WriteByte('\n')
	}
	rule := strings.Repeat("=", 80) + "\n"
	b.WriteString(rule)
	b.WriteString("TCP Conversations (twscope conns: one row per incarnation, -> is client to server)\n")
	filter := "<No Filter>"
	if sel != nil {
		filter = SelectionLabel(sel)
	}
	fmt.Fprintf(&b, "Selection: %s\n", filter)
	fmt.Fprintf(&b, "Sorted by %s; %d of %d connections", t.Sort, len(t.rows), t.total)
	if len(t.rows) < t.total {
		b.WriteString(" (--limit 0 lists all)")
	}
	b.WriteString("\n")
	line(func(i int) string { return cols[i].head })
	for j := range cells {
		line(func(i int) string { return cells[j][i] })
	}
	b.WriteString(rule)
	b.WriteString("bytes are TCP payload, retransmitted bytes once; times in seconds, rel_start from the capture's first packet;\n" +
		"frame is the first frame (file:frame with several files, file counted from 0 as in the JSON captures); * marks a connection without its handshake in the capture.\n")
	_, err := io.WriteString(w, trimLines(b.String()))
	return err
}

// trimLines drops the spaces at the ends of lines.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}
