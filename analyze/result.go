package analyze

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// Schema is the version of the JSON report and connection records; it
// changes only when a field is renamed or removed.
const Schema = 1

// Result is everything one analysis found. Every output format renders it.
type Result struct {
	Schema   int         `json:"schema"`
	Tool     string      `json:"tool"`
	Profile  ProfileInfo `json:"profile"`
	Captures []Capture   `json:"captures"`
	Totals   Totals      `json:"totals"`
	// Selection is what --server, --client, --since/--until kept (nil:
	// everything).
	Selection *SelectionInfo `json:"selection,omitempty"`
	Closes    CloseSummary   `json:"closes"`
	Endpoints []Endpoint     `json:"endpoints"`
	// EndpointsOther sums, exactly, the connections to the endpoints past
	// MaxEndpoints (first seen once that many were listed); nil when none
	// was folded.
	EndpointsOther *Endpoint `json:"endpoints_other,omitempty"`
	Findings       []Finding `json:"findings"`
	// FindingsOmitted counts, by kind, the findings past MaxExamples of
	// their kind and severity: found, and left out of Findings.
	FindingsOmitted map[string]int `json:"findings_omitted,omitempty"`
	// FindingCounts counts every finding, listed or omitted, by kind and
	// severity: what thresholds and golden files judge by.
	FindingCounts []FindingCount `json:"finding_counts"`
	Hosts         []Host         `json:"hosts"`
	// HostsOther sums, exactly, what the addresses past MaxHosts did
	// (their TIME_WAIT peak is that of their sockets together), and
	// PairsOther the client-server pairs past MaxPairs, which are not
	// judged for port pressure; nil when none was folded.
	HostsOther *Host      `json:"hosts_other,omitempty"`
	PairsOther *PairsFold `json:"pairs_other,omitempty"`
	// NATTimestamps counts the client addresses whose SYNs fell behind
	// their latest TSval to the same server with no finding: what
	// per-connection timestamp offsets do (nat.go). nil when none.
	NATTimestamps *NATSummary `json:"nat_timestamps,omitempty"`
	Warnings      []string    `json:"warnings"`
	Error         string      `json:"error,omitempty"`
	// Verdict is the answer first: who holds TIME_WAIT, how many sockets,
	// whether it is a problem, its cause and advice (verdict.go).
	Verdict Verdict `json:"verdict"`

	// SeriesStart is the one time base of every plotted series: the
	// capture's first packet (the earliest over its files). The times of
	// the TIME_WAIT series (T, capture_end), of port_pressure and of
	// nat_ts_regression points are seconds since it.
	SeriesStart Time `json:"series_start,omitempty"`

	// TimeWait is the TIME_WAIT occupancy of the hosts with the highest
	// peaks, for plots.
	TimeWait []TimeWaitSeries `json:"time_wait,omitempty"`

	// ReuseGaps are the gaps (seconds, sorted) from a previous
	// incarnation's close to its four-tuple's next SYN, for every reuse
	// whatever its gap (at most MaxReuseGaps; ReuseGapsMore counts the
	// rest), for the reuse gap plot. Not in the JSON.
	ReuseGaps     []float64 `json:"-"`
	ReuseGapsMore int       `json:"-"`

	// occupancy is every host's TIME_WAIT series, for a partial result
	// (Options.KeepOccupancy, merge.go).
	occupancy *occupancy
}

// ProfileInfo is the TIME_WAIT profile the analysis judged by.
type ProfileInfo struct {
	Name      string  `json:"name"`
	TimeWaitS float64 `json:"time_wait_s"`
	Source    string  `json:"source"`
	PortRange [2]int  `json:"port_range"`
}

// Capture describes one input file.
type Capture struct {
	File      string   `json:"file"`
	Format    string   `json:"format"`
	Packets   int      `json:"packets"`
	First     *Time    `json:"first,omitempty"` // nil when the file holds no packets
	Last      *Time    `json:"last,omitempty"`
	LinkTypes []string `json:"link_types"`
	// CapturePoint names where the file was captured (--capture-point).
	CapturePoint string `json:"capture_point,omitempty"`
}

// Totals counts packets and connections.
type Totals struct {
	Packets      int `json:"packets"`
	TCPPackets   int `json:"tcp_packets"`
	NonTCP       int `json:"non_tcp_packets"`
	Fragments    int `json:"ip_fragments"`
	Truncated    int `json:"truncated_packets"`
	Filtered     int `json:"filtered_out"`
	Connections  int `json:"connections"`
	Partial      int `json:"partial_connections"`
	Evicted      int `json:"idle_evicted"`
	OldDuplicate int `json:"old_duplicate_segments"`
	// Robustness against hostile captures (README "Damaged and hostile
	// captures"): half-open incarnations closed out past the tracker's
	// bound, packets captured twice and counted once, and remembered
	// four-tuples and address clocks forgotten past their bounds.
	HalfOpenEvicted int `json:"half_open_evicted"`
	Duplicates      int `json:"duplicate_packets"`
	TuplesForgotten int `json:"tuples_forgotten"`
	ClocksForgotten int `json:"clocks_forgotten"`
	// Segments the receiver would not have accepted (RFC 9293 3.10.7,
	// RFC 5961), and segments whose capture time was not trusted for
	// jumping by more than 30 days (reassembly/timejump.go).
	Suspect   int `json:"suspect_segments"`
	TimeJumps int `json:"time_jumps"`
}

// CloseSummary counts incarnations by how they closed.
type CloseSummary struct {
	ByKind          map[string]int `json:"by_kind"`
	ByCloser        map[string]int `json:"by_closer"`
	TimeWaitHolders map[string]int `json:"time_wait_holders"`
	FinalAck        map[string]int `json:"final_ack"`
	RSTBy           map[string]int `json:"rst_by"`
}

// Endpoint is the close summary of one server endpoint (ip:port).
type Endpoint struct {
	Server          string         `json:"server"`
	Connections     int            `json:"connections"`
	Closer          map[string]int `json:"closer"`
	Close           map[string]int `json:"close"`
	TimeWaitHolders map[string]int `json:"time_wait_holders"`
	// FinalAck and RSTBy count the connections by what became of the
	// final ACK and by who sent a RST (those that sent none are not
	// counted), as CloseSummary does over all: for golden files. Not in
	// the JSON.
	FinalAck map[string]int `json:"-"`
	RSTBy    map[string]int `json:"-"`
	// FirstClose counts connections by how their close began, for the
	// who-closes-first plot. Not in the JSON.
	FirstClose [NumFirstCloses]int `json:"-"`
	// Addr is Server as an address and port, to group by. Not in the JSON.
	Addr netip.AddrPort `json:"-"`
}

// PairsFold sums the client IP and server endpoint pairs past MaxPairs.
type PairsFold struct {
	Connections    int `json:"connections"`
	ClientTimeWait int `json:"client_time_wait"`
}

// FirstClose is how a connection's close began, one outcome per
// connection: a RST before both FINs, else who sent the first FIN
// (simultaneous when the FINs crossed), else none.
type FirstClose uint8

// How closes began, in the order the plot stacks them.
const (
	FirstCloseClient FirstClose = iota
	FirstCloseServer
	FirstCloseSimultaneous
	FirstCloseRST
	FirstCloseNone
	NumFirstCloses
)

// Host is one IP address's part in the closes.
type Host struct {
	IP              string `json:"ip"`
	Connections     int    `json:"connections"`
	TimeWaitHeld    int    `json:"time_wait_held"`
	PeakTimeWait    int    `json:"time_wait_peak"`
	PeakAt          *Time  `json:"time_wait_peak_at,omitempty"` // nil when it never held one
	ClosesInitiated int    `json:"closes_initiated"`
	RSTsSent        int    `json:"rsts_sent"`
}

// Finding is one thing worth telling, with the evidence for it.
type Finding struct {
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	Conns    []int    `json:"conns"`
	// ConnsTotal and FramesTotal count the connections and frames the
	// finding is about; Conns and Frames list at most MaxListedConns and
	// MaxListedFrames of them.
	ConnsTotal  int   `json:"conns_total"`
	Time        Time  `json:"time"`
	Frames      []int `json:"frames"`
	FramesTotal int   `json:"frames_total"`
	// FrameFiles and Filters are set when the run read several capture
	// files: the index in captures of each frame's file, and by capture
	// file name the filter for its frames (Filter is that of the first
	// frame's file).
	FrameFiles []int             `json:"frame_files,omitempty"`
	Filter     string            `json:"filter"`
	Filters    map[string]string `json:"filters,omitempty"`
	Summary    string            `json:"summary"`
	Evidence   Evidence          `json:"evidence"`
	Advice     string            `json:"advice"`
	// CapturePoint names where the finding was seen (--capture-point):
	// its connection ids and frames are that capture point's.
	CapturePoint string `json:"capture_point,omitempty"`

	// Client and Server are the four-tuple of one connection the finding
	// is about (its example), and Refs the frames of that connection that
	// prove the finding, with the capture file each is in: for tools that
	// go back to the packets, such as the HTML report's ladder diagrams.
	// Not in the JSON.
	Refs           []reassembly.Frame `json:"-"`
	Client, Server netip.AddrPort     `json:"-"`
	// Servers are the server endpoints of the connections in Conns, each
	// once, in address order, when Options.PlaceFindings asked for them
	// (nil when a connection's server is unknown): a golden file counts a
	// finding at its endpoint when there is one. Not in the JSON.
	Servers []netip.AddrPort `json:"-"`

	frameFiles []int // the file of each of Frames
}

// Time is a capture time in Unix nanoseconds. Times stay numbers in a
// Result, to be compared, subtracted and plotted; they become text only
// when rendered, in the JSON as RFC 3339 UTC with nanoseconds.
type Time int64

// timeLayout is RFC 3339 with exactly nine digits of the second, so that
// every time in a report has the same width.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// seriesStart is the first packet over the captures (0: none).
func seriesStart(cs []Capture) Time {
	var first Time
	for _, c := range cs {
		if c.First != nil && (first == 0 || *c.First < first) {
			first = *c.First
		}
	}
	return first
}

// seriesBase is where the series of res count from: its SeriesStart, or
// else (no packet times known, as in tests that hand records over) first.
func seriesBase(res *Result, first int64) int64 {
	if res.SeriesStart == 0 {
		res.SeriesStart = Time(first)
	}
	return int64(res.SeriesStart)
}

// UTC is the time as a time.Time in UTC.
func (t Time) UTC() time.Time { return time.Unix(0, int64(t)).UTC() }

// String renders the time as the JSON does, without the quotes.
func (t Time) String() string { return t.UTC().Format(timeLayout) }

// MarshalJSON renders the time as an RFC 3339 string.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(timeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads what MarshalJSON wrote (or any RFC 3339 time).
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Time(v.UnixNano())
	return nil
}

// timePtr is t for an optional field.
func timePtr(ns int64) *Time {
	t := Time(ns)
	return &t
}

// FormatTime renders a capture time (Unix ns) as Time does.
func FormatTime(ns int64) string { return Time(ns).String() }

// Seconds converts nanoseconds to seconds, rounded to the microsecond so
// that the JSON stays short and stable.
func Seconds(ns int64) float64 {
	return float64((ns+500*sign(ns))/1000) / 1e6
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}
