package analyze

// Evidence is the facts behind one finding, one struct per finding kind;
// its JSON tags are the contract's evidence table. The fields of each
// struct are declared in the order of their JSON keys, so that the JSON
// lists them sorted, as it always has. A field that is sometimes left out
// has omitempty (on a pointer when its zero value is meaningful); one
// that is null when unknown is a pointer without it.
type Evidence interface {
	// Kind is the finding kind the evidence belongs to.
	Kind() string
}

// FinalAckEvidence is the evidence of lost_final_ack and final_ack_rst
// (finalack.go): the same facts, the kind being what the active closer
// answered the resent FIN with.
type FinalAckEvidence struct {
	kind   string
	Active string `json:"active"`
	// ActiveAckToFIN is the active closer's highest ACK before the resend
	// minus the passive FIN's sequence number: 1 the FIN acknowledged, 0
	// everything before it, negative bytes before it missing (null: no ACK).
	ActiveAckToFIN *int64 `json:"active_ack_to_fin"`
	ActiveEndpoint string `json:"active_endpoint"`
	ActiveFINFrame *int   `json:"active_fin_frame"` // null: not in the capture
	AnswerFrame    *int   `json:"answer_frame"`
	CapturePoint   string `json:"capture_point"`
	// CapturePosition is where the capture point sits (near_client,
	// near_server, unknown), from the handshake's parts (RTTClientS,
	// RTTServerS, their sum RTTS: null without a handshake in the capture).
	CapturePosition    string   `json:"capture_position"`
	Close              string   `json:"close"`
	ConversationFilter string   `json:"conversation_filter"`
	FINResendDelayS    float64  `json:"fin_resend_delay_s"`
	FINRetransmits     int      `json:"fin_retransmits"`
	FinalAckFrame      *int     `json:"final_ack_frame"`
	Next               string   `json:"next"`
	Passive            string   `json:"passive"`
	PassiveEndpoint    string   `json:"passive_endpoint"`
	PassiveFINFrame    *int     `json:"passive_fin_frame"`
	ResentFINFrame     *int     `json:"resent_fin_frame"`
	RSTWithAck         *bool    `json:"rst_with_ack,omitempty"` // final_ack_rst only
	RTTClientS         *float64 `json:"rtt_client_s"`
	RTTS               *float64 `json:"rtt_s"`
	RTTServerS         *float64 `json:"rtt_server_s"`
	TimeWaitS          float64  `json:"time_wait_s"`
}

// Kind is lost_final_ack or final_ack_rst.
func (e *FinalAckEvidence) Kind() string { return e.kind }

// BySide is a value for the client and the server side.
type BySide[T any] struct {
	Client T `json:"client"`
	Server T `json:"server"`
}

// MaybeBySide is a value for the sides where it is known.
type MaybeBySide[T any] struct {
	Client *T `json:"client,omitempty"`
	Server *T `json:"server,omitempty"`
}

// TupleReuseEvidence is the evidence of tuple_reuse (reuse.go).
type TupleReuseEvidence struct {
	ClientISN     uint32              `json:"client_isn"`
	GapS          float64             `json:"gap_s"`
	Holder        string              `json:"holder"`
	HolderAddr    string              `json:"holder_addr"`
	ISNBeyondOld  MaybeBySide[bool]   `json:"isn_beyond_old"` // client always, server when it answered
	LimitS        float64             `json:"limit_s"`
	Mechanism     string              `json:"mechanism"`
	OldDuplicates int                 `json:"old_duplicates"`
	PrevClose     string              `json:"prev_close"`
	PrevCloser    string              `json:"prev_closer"`
	PrevConn      int                 `json:"prev_conn"`
	PrevFinalSeq  BySide[uint32]      `json:"prev_final_seq"`
	PrevISN       MaybeBySide[uint32] `json:"prev_isn"` // the sides whose SYN was seen
	ProtectedBy   []string            `json:"protected_by"`
	Reuse         string              `json:"reuse"`
	ReusedBy      string              `json:"reused_by"`
	RolesSwapped  bool                `json:"roles_swapped"`
	ServerISN     *uint32             `json:"server_isn,omitempty"` // when the SYN was answered
	SYNAnswered   bool                `json:"syn_answered"`
	Timestamps    *bool               `json:"timestamps"` // null: unknown (options cut)
}

// Kind is tuple_reuse.
func (*TupleReuseEvidence) Kind() string { return KindTupleReuse }

// NATEvidence is the evidence of nat_ts_regression (nat.go): one client
// IP, with the facts per server IP inside (Servers).
type NATEvidence struct {
	// Clocks is the most timestamp clocks in use at once toward one
	// server, the hosts behind the address, under per-address-pair
	// offsets; null otherwise (the host count is unknown).
	Clocks          *int   `json:"clocks"`
	DistinctOffsets int    `json:"distinct_offsets"` // TSval lines, over the servers listed
	FourTuples      int    `json:"four_tuples"`
	HostFilter      string `json:"host_filter"`
	IP              string `json:"ip"`
	// MaxBehindBy is the furthest a SYN was behind, in ticks and in
	// seconds of its pair's clock.
	MaxBehindBy  uint32     `json:"max_behind_by"`
	MaxBehindByS float64    `json:"max_behind_by_s"`
	Offsets      string     `json:"offsets"`
	Points       []NATPoint `json:"points,omitempty" html:"-"` // for the plot, at most natMaxPoints; the first natPlotIPs IPs only
	RateHz       float64    `json:"rate_hz"`                   // of the first server's clocks
	// Servers are the per-server facts (at most natMaxServers; all of
	// them in ServersTotal).
	Servers           []NATServer `json:"servers"`
	ServersTotal      int         `json:"servers_total"`
	SharedClockTuples int         `json:"shared_clock_tuples"` // four-tuples on a clock another one is on too
	// SYNs lists the first few dozen SYNs behind the latest TSval to
	// their server or refused by the exact tcp_tw_recycle rule;
	// SYNsTotal counts all of them.
	SYNs             []NATSYN `json:"syns"`
	SYNsBehind       int      `json:"syns_behind"`
	SYNsRecycle      int      `json:"syns_recycle"`
	SYNsTotal        int      `json:"syns_total"`
	TimestampedConns int      `json:"timestamped_conns"`
	// Unanswered counts the SYNs of SYNs sent again without a SYN+ACK.
	Unanswered int `json:"unanswered"`
}

// Kind is nat_ts_regression.
func (*NATEvidence) Kind() string { return KindNATTSRegression }

// SeqOverlapEvidence is the evidence of seq_overlap (overlap.go).
type SeqOverlapEvidence struct {
	Direction      string  `json:"direction"`
	GapS           float64 `json:"gap_s"`
	ISN            uint32  `json:"isn"`
	LimitS         float64 `json:"limit_s"`
	OverlapBytes   int64   `json:"overlap_bytes"`
	PAWS           *bool   `json:"paws"`
	PrevConn       int     `json:"prev_conn"`
	PrevFinalSeq   uint32  `json:"prev_final_seq"`
	PrevISN        uint32  `json:"prev_isn"`
	PrevRangeBytes int64   `json:"prev_range_bytes"`
	Sender         string  `json:"sender"`
	TSAhead        bool    `json:"ts_ahead"`
	WithinTimeWait bool    `json:"within_time_wait"`
}

// Kind is seq_overlap.
func (*SeqOverlapEvidence) Kind() string { return KindSeqOverlap }

// OldDuplicateEvidence is the evidence of old_duplicate (overlap.go).
type OldDuplicateEvidence struct {
	Ack          uint32  `json:"ack"`
	Count        int     `json:"count"`
	Direction    string  `json:"direction"`
	Frame        int     `json:"frame"`
	HasTS        *bool   `json:"has_ts"`
	Len          int     `json:"len"`
	NewISN       uint32  `json:"new_isn"`
	NewTSFirst   *uint32 `json:"new_ts_first,omitempty"` // when the segment had a TSval
	PAWSRejects  *bool   `json:"paws_rejects"`
	PrevConn     int     `json:"prev_conn"`
	PrevFinalSeq uint32  `json:"prev_final_seq"`
	PrevISN      uint32  `json:"prev_isn"`
	Reason       string  `json:"reason"`
	Sender       string  `json:"sender"`
	Seq          uint32  `json:"seq"`
	TSval        *uint32 `json:"tsval,omitempty"`
}

// Kind is old_duplicate.
func (*OldDuplicateEvidence) Kind() string { return KindOldDuplicate }

// SeqWrapEvidence is the evidence of seq_wrap (overlap.go).
type SeqWrapEvidence struct {
	Bytes      int64   `json:"bytes"`
	Direction  string  `json:"direction"`
	LimitS     float64 `json:"limit_s"`
	PAWS       *bool   `json:"paws"`
	RateBps    int64   `json:"rate_bps"`
	Sender     string  `json:"sender"`
	SeqAdvance int64   `json:"seq_advance"`
	WrapS      float64 `json:"wrap_s"`
	WrappedAt  string  `json:"wrapped_at"`
	Wraps      int64   `json:"wraps"`
}

// Kind is seq_wrap.
func (*SeqWrapEvidence) Kind() string { return KindSeqWrap }

// CloseWaitEvidence is the evidence of close_wait (closewait.go).
type CloseWaitEvidence struct {
	CaptureSpanS float64 `json:"capture_span_s"`
	ClientIP     string  `json:"client_ip,omitempty"` // when the client is stuck
	Connections  []int   `json:"connections"`         // the oldest maxListed
	// ConnectionsTotal counts them all (Count, under the name every
	// bounded list's total has).
	ConnectionsTotal int     `json:"connections_total"`
	Count            int     `json:"count"`
	EndpointFilter   string  `json:"endpoint_filter"`
	FINFrames        []int   `json:"fin_frames"`
	MinAgeS          float64 `json:"min_age_s"`
	OldestAgeS       float64 `json:"oldest_age_s"`
	OldestConn       int     `json:"oldest_conn"`
	OldestSince      string  `json:"oldest_since"`
	Server           string  `json:"server"`
	StuckSide        string  `json:"stuck_side"`
	TooRecent        []int   `json:"too_recent"`
	TooRecentTotal   int     `json:"too_recent_total"`
}

// Kind is close_wait.
func (*CloseWaitEvidence) Kind() string { return KindCloseWait }

// PortPressureEvidence is the evidence of port_pressure (timewait.go).
type PortPressureEvidence struct {
	Basis          string `json:"basis"`
	ClientIP       string `json:"client_ip"`
	ClientTimeWait int    `json:"client_time_wait"`
	// ConfiguredPortRange is --port-range; PortRange is the range judged
	// by: the one the client was seen to use when PortRangeSeen (at least
	// twice as many connections as ports in it, narrower than the configured one).
	ConfiguredPortRange  [2]int          `json:"configured_port_range"`
	ConnRatePerS         float64         `json:"conn_rate_per_s"`
	Connections          int             `json:"connections"`
	ExhaustionS          *float64        `json:"exhaustion_s"` // null: the range does not run out
	Fraction             float64         `json:"fraction"`
	HostFilter           string          `json:"host_filter"`
	ListedConnsTruncated bool            `json:"listed_conns_truncated"`
	Peak                 int             `json:"peak"`
	PeakAt               string          `json:"peak_at"`
	Points               []TimeWaitPoint `json:"points" html:"-"` // ports in TIME_WAIT over time, for the plot
	PortRange            [2]int          `json:"port_range"`
	PortRangeSeen        bool            `json:"port_range_seen"`
	PortRangeSize        int             `json:"port_range_size"`
	Server               string          `json:"server"`
	SteadyStatePorts     int             `json:"steady_state_ports"`
	TimeWaitRatePerS     float64         `json:"time_wait_rate_per_s"`
	TimeWaitS            float64         `json:"time_wait_s"`
	// TWReuseSeen counts the client's new connections to this server
	// whose ISN carries the tcp_tw_reuse fingerprint: the option is on.
	TWReuseSeen int `json:"tw_reuse_seen"`
}

// Kind is port_pressure.
func (*PortPressureEvidence) Kind() string { return KindPortPressure }

// SuspectSegmentEvidence is the evidence of suspect_segment (suspect.go):
// the first segment not accepted that would have changed a verdict.
type SuspectSegmentEvidence struct {
	Ack             uint32  `json:"ack"`
	Count           int     `json:"count"` // segments of the connection not accepted
	Direction       string  `json:"direction"`
	Expected        uint32  `json:"expected"` // the number the window was measured from
	Flags           string  `json:"flags"`
	Frame           int     `json:"frame"`
	Len             int     `json:"len"`
	Reason          string  `json:"reason"` // header, seq, ack, view
	Sender          string  `json:"sender"`
	Seq             uint32  `json:"seq"`
	TwoViews        bool    `json:"two_views"`        // the SYN was seen with two ISNs
	VerdictChanging int     `json:"verdict_changing"` // of count, those that would have changed a verdict
	Window          *uint32 `json:"window"`           // null: the window scale is unknown
	WouldChange     string  `json:"would_change"`     // close, closer, time_wait_holder
}

// Kind is suspect_segment.
func (*SuspectSegmentEvidence) Kind() string { return KindSuspectSegment }

// EvidenceTypes maps every finding kind to a zero value of its evidence: for schema generators and documentation.
func EvidenceTypes() map[string]Evidence {
	return map[string]Evidence{
		KindLostFinalAck:    &FinalAckEvidence{kind: KindLostFinalAck},
		KindFinalAckRST:     &FinalAckEvidence{kind: KindFinalAckRST},
		KindTupleReuse:      &TupleReuseEvidence{},
		KindNATTSRegression: &NATEvidence{},
		KindSeqOverlap:      &SeqOverlapEvidence{},
		KindOldDuplicate:    &OldDuplicateEvidence{},
		KindSeqWrap:         &SeqWrapEvidence{},
		KindCloseWait:       &CloseWaitEvidence{},
		KindPortPressure:    &PortPressureEvidence{},
		KindSuspectSegment:  &SuspectSegmentEvidence{},
	}
}
