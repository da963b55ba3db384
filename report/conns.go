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
}

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
	}
	if r.RSTBy == reassembly.SideNone {
		c.RSTBy = ""
	}
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
}

// NewConnWriter writes records to w; call Flush at the end.
func NewConnWriter(w io.Writer) *ConnWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &ConnWriter{w: bw, enc: json.NewEncoder(bw)}
}

// Write writes one record.
func (cw *ConnWriter) Write(r *reassembly.Record) error { return cw.enc.Encode(NewConn(r)) }

// Flush writes what is buffered.
func (cw *ConnWriter) Flush() error { return cw.w.Flush() }
