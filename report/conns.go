package report

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/communityid"
)

// Conn is the NDJSON form of one incarnation (contract.md, --conns).
// Fields are never renamed without a new analyze.Schema.
type Conn struct {
	Schema         int      `json:"schema"` // analyze.Schema, on every line so that each stands alone
	ID             int      `json:"id"`
	Client         string   `json:"client"`
	Server         string   `json:"server"`
	Start          string   `json:"start"`
	End            string   `json:"end"`
	FirstFrame     int      `json:"first_frame"`
	LastFrame      int      `json:"last_frame"`
	FirstFile      int      `json:"first_file"`
	LastFile       int      `json:"last_file"`
	Packets        int      `json:"packets"`
	Partial        bool     `json:"partial"`
	Evicted        bool     `json:"idle_evicted"`
	HalfOpenEvict  bool     `json:"half_open_evicted"`
	Duplicates     int      `json:"duplicate_packets"`
	Closer         string   `json:"closer"`
	Close          string   `json:"close"`
	RSTBy          string   `json:"rst_by"`
	TimeWaitHolder string   `json:"time_wait_holder"`
	FinRetransmits int      `json:"fin_retransmits"`
	FinalAck       string   `json:"final_ack"`
	CloseTime      string   `json:"close_time"`
	CloseFrame     int      `json:"close_frame"`
	ReuseGapS      *float64 `json:"reuse_gap_s"`
	PrevID         *int     `json:"prev_id"`
	ZeekState      string   `json:"zeek_state"`
	History        string   `json:"history"`
	SYNRetransmits int      `json:"syn_retransmits"`
	OldDuplicates  int      `json:"old_duplicates"`
	// SuspectSegments counts the segments the receiver would not have
	// accepted (README "Segment acceptance"); PeerHeldState is true when
	// the server answered the SYN from an older state of the four-tuple
	// (a challenge ACK, ChallengeACKFrame) that the client reset.
	SuspectSegments   int       `json:"suspect_segments"`
	PeerHeldState     bool      `json:"peer_held_state"`
	ChallengeACKFrame int       `json:"challenge_ack_frame,omitempty"`
	ClientSide        SideFacts `json:"client_side"`
	ServerSide        SideFacts `json:"server_side"`
	// CommunityID joins this record with Zeek's, Suricata's, Arkime's.
	CommunityID string `json:"community_id"`
	// FinalAckDelayS is the time from the passive closer's FIN to the
	// first ACK of it, at the capture point (null: none, or FINs crossed).
	// Then the handshake's round trip at the capture point, by the part
	// each side contributes (null: no complete handshake), and where that
	// puts the capture point: near_client, near_server or unknown
	// (domain.md 3).
	FinalAckDelayS  *float64 `json:"final_ack_delay_s"`
	RTTS            *float64 `json:"rtt_s"`
	RTTClientS      *float64 `json:"rtt_client_s"`
	RTTServerS      *float64 `json:"rtt_server_s"`
	CapturePosition string   `json:"capture_position"`

	// CapturePoint and TimeWaitEnd are Point's (README "Running it at
	// scale"): where the record was captured, and when its TIME_WAIT ends
	// unless the four-tuple's next incarnation cuts it short (null: none).
	CapturePoint string  `json:"capture_point"`
	TimeWaitEnd  *string `json:"time_wait_end"`
	// Findings are those about this connection alone, each as the report
	// gives it (contract.md): all of them, past the report's listing bound
	// too.
	Findings []analyze.ConnFinding `json:"findings"`
}

// Point is what a run's records share beyond the tracker's facts: the
// capture point's name (--capture-point) and the TIME_WAIT length its
// holders keep (ns, the profile's), so that SQL over the records of many
// capture points can rebuild TIME_WAIT occupancy.
type Point struct {
	Name     string
	TimeWait int64
}

// Conn is r's NDJSON form at this capture point.
func (p Point) Conn(r *reassembly.Record) Conn {
	c := NewConn(r)
	c.CapturePoint = p.Name
	c.TimeWaitEnd = timeWaitEndAs(p, r, reassembly.SideBoth, analyze.FormatTime)
	c.ClientSide.TimeWaitEnd = timeWaitEndAs(p, r, reassembly.SideClient, analyze.FormatTime)
	c.ServerSide.TimeWaitEnd = timeWaitEndAs(p, r, reassembly.SideServer, analyze.FormatTime)
	return c
}

// timeWaitEndAs is when side s of r leaves TIME_WAIT at capture point p
// (analyze.TimeWaitEnd), in the form a writer renders it (nil: it holds
// none): one rule for --conns, conn.log and Parquet.
func timeWaitEndAs[T any](p Point, r *reassembly.Record, s reassembly.Side, as func(ns int64) T) *T {
	end, ok := analyze.TimeWaitEnd(r, s, p.TimeWait)
	if !ok {
		return nil
	}
	v := as(end)
	return &v
}

// noFindings renders as [] without an allocation per record.
var noFindings = []analyze.ConnFinding{}

// SideFacts are one side's sequence and timestamp facts.
type SideFacts struct {
	ISN        *uint32 `json:"isn"`
	FinalSeq   uint32  `json:"final_seq"`
	Bytes      int64   `json:"bytes"`
	Packets    int     `json:"packets"`
	FinFrame   int     `json:"fin_frame,omitempty"`
	RSTFrame   int     `json:"rst_frame,omitempty"`
	FinRetrans int     `json:"fin_retransmits"`
	TSvalFirst *uint32 `json:"tsval_first"`
	TSvalLast  *uint32 `json:"tsval_last"`
	// Timestamps is "yes", "no", or "unknown" when the snaplen cut the
	// TCP options off and none was seen, or the side sent nothing (then
	// the tsvals are null too).
	Timestamps string `json:"timestamps"`
	// TimeWaitEnd is when this side's TIME_WAIT ends unless the next
	// incarnation cuts it short; null when it holds none (Point).
	TimeWaitEnd *string `json:"time_wait_end"`
}

// NewConn converts a record to its NDJSON form.
func NewConn(r *reassembly.Record) Conn {
	c := Conn{
		Schema: analyze.Schema, ID: r.ID, Client: r.Client.String(), Server: r.Server.String(),
		Start: analyze.FormatTime(r.Start), End: analyze.FormatTime(r.End),
		FirstFrame: r.FirstFrame.N, LastFrame: r.LastFrame.N,
		FirstFile: r.FirstFrame.File, LastFile: r.LastFrame.File,
		Packets: r.Packets, Partial: r.Partial, Evicted: r.Evicted,
		HalfOpenEvict: r.HalfOpenEvicted, Duplicates: r.Duplicates,
		Closer: r.Closer.String(), Close: r.Close.String(), RSTBy: r.RSTBy.String(),
		TimeWaitHolder: r.TimeWaitHolder.String(), FinRetransmits: r.FINRetransmits,
		FinalAck: r.FinalAck.String(), CloseTime: analyze.FormatTime(r.CloseAt.Time),
		CloseFrame: r.CloseAt.Frame.N, ZeekState: r.ZeekState, History: r.History,
		SYNRetransmits: r.C.SYNRetrans, OldDuplicates: r.OldDups,
		SuspectSegments: r.SuspectSegments, PeerHeldState: r.StaleState.Seen(),
		ClientSide: sideFacts(&r.C), ServerSide: sideFacts(&r.S),
		CommunityID: communityid.TCP(r.Client, r.Server),
		Findings:    noFindings,
	}
	if r.RSTBy == reassembly.SideNone {
		c.RSTBy = ""
	}
	finalAckFacts(&c, r)
	if r.StaleState.Seen() {
		c.ChallengeACKFrame = r.StaleState.ChallengeACK.Frame.N
	}
	if r.HasPrev {
		id := r.Prev.ID
		c.PrevID = &id
		if r.C.SYN.Seen() {
			gap := analyze.Seconds(r.ReuseGap)
			c.ReuseGapS = &gap
		}
	}
	return c
}

// finalAckFacts fills the final ACK's delay and the handshake's round trip.
func finalAckFacts(c *Conn, r *reassembly.Record) {
	c.CapturePosition = r.RTT.Position().String()
	if r.RTT.Known {
		total, cl, sv := analyze.Seconds(r.RTT.Total()), analyze.Seconds(r.RTT.Client), analyze.Seconds(r.RTT.Server)
		c.RTTS, c.RTTClientS, c.RTTServerS = &total, &cl, &sv
	}
	if r.Closer != reassembly.SideClient && r.Closer != reassembly.SideServer {
		return
	}
	if p, a := r.Flow(r.Closer.Other()), r.Flow(r.Closer); p.FIN.Seen() && a.AckOfPeerFIN.Seen() {
		d := analyze.Seconds(a.AckOfPeerFIN.Time - p.FIN.Time)
		c.FinalAckDelayS = &d
	}
}

func sideFacts(f *reassembly.Flow) SideFacts {
	s := SideFacts{FinalSeq: f.NextSeq, Bytes: f.Bytes, Packets: f.Packets,
		FinFrame: f.FIN.Frame.N, RSTFrame: f.RST.Frame.N, FinRetrans: f.FINRetrans}
	if f.SYN.Seen() {
		isn := f.ISN
		s.ISN = &isn
	}
	switch {
	case f.HasTS:
		a, b := f.TSFirst, f.TSLast
		s.TSvalFirst, s.TSvalLast = &a, &b
		s.Timestamps = "yes"
	case f.TSUnknown() || !f.TSKnown: // options cut, or no segment at all
		s.Timestamps = "unknown"
	default:
		s.Timestamps = "no"
	}
	return s
}

// ConnWriter writes one JSON object a line.
type ConnWriter struct {
	w   *bufio.Writer
	enc *json.Encoder
	// Point fills capture_point and time_wait_end.
	Point Point
}

// NewConnWriter writes records to w; call Flush at the end.
func NewConnWriter(w io.Writer) *ConnWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &ConnWriter{w: bw, enc: json.NewEncoder(bw)}
}

// WriteFindings writes one record with the findings about it
// (analyze.RunConns).
func (cw *ConnWriter) WriteFindings(r *reassembly.Record, fs []analyze.ConnFinding) error {
	c := cw.Point.Conn(r)
	if len(fs) > 0 {
		c.Findings = fs
	}
	return cw.enc.Encode(c)
}

// Flush writes what is buffered.
func (cw *ConnWriter) Flush() error { return cw.w.Flush() }
