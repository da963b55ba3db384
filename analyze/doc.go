// Package analyze turns connection records into findings.
//
// Each detector lives in its own file and is a function of the records the
// tracker in package reassembly emits: lost final ACKs, four-tuple reuse
// inside TIME_WAIT, timestamps behind NAT, sequence overlap, CLOSE_WAIT and
// port pressure, and the close summary per host and endpoint (closes.go,
// which golden files are rendered from; places.go puts each finding at its
// server endpoints when Options.PlaceFindings asks). It holds the OS
// profiles and the Result type every output renders; times in it are
// numbers (Time, Unix nanoseconds) until rendered. It never prints.
//
// Where each finding kind is computed, from which tracker facts
// (reassembly.Record fields; C and S are the sides' Flow), and the struct
// its evidence is (evidence.go):
//
//	kind               file          tracker facts                                        evidence
//	lost_final_ack     finalack.go   FinalAck == FinalAckLost, LostAck, Flow.FIN, RTT     FinalAckEvidence
//	final_ack_rst      finalack.go   LostAck.RST, LostAck.RSTWithAck                      FinalAckEvidence
//	tuple_reuse        reuse.go      HasPrev, Prev, ReuseGap, Flow.ISN/TSFirst, OldDups   TupleReuseEvidence
//	nat_ts_regression  nat.go        SYNTS, Flow.HasTS/TSFirst/TSLast                     NATEvidence
//	seq_overlap        overlap.go    Prev.ISN/Final/SYNSeen, Flow.ISN/SYN                 SeqOverlapEvidence
//	old_duplicate      overlap.go    OldDups, OldDup                                      OldDuplicateEvidence
//	seq_wrap           overlap.go    Flow.Wrapped/Advance/DataStart/Bytes                 SeqWrapEvidence
//	close_wait         closewait.go  Close == CloseHalf, Closer, Flow.FIN/AckOfPeerFIN    CloseWaitEvidence
//	port_pressure      timewait.go   TimeWaitHolder, Flow.AckOfPeerFIN, CloseAt, Prev.ID  PortPressureEvidence
//	suspect_segment    suspect.go    SuspectSegments, SuspectVerdicts, Suspect            SuspectSegmentEvidence
//
// Not findings: the close summary (Result.Closes, Endpoints) is closes.go
// from Close, Closer, TimeWaitHolder, FinalAck and RSTBy; the hosts and
// their TIME_WAIT occupancy (Result.Hosts, TimeWait) are timewait.go and
// twstream.go from the same facts as port_pressure. The verdict
// (Result.Verdict, verdict.go) is computed last, from the closes, hosts
// and finding counts: who holds TIME_WAIT and the peaks against
// tcp_max_tw_buckets and the port range, one Cause and its AdviceCodes
// (domain.md section 7), which the report words. Helpers the detectors
// share are in detect.go; the bound on listed findings, and the findings
// about each record for RunConns, in limit.go; the bounds of the lists
// inside a finding in finding.go (Finding.bound); the bounded tables
// (endpoints, hosts, client-server pairs, each with its "other" row) in
// tables.go; the selection of connections (--server, --client,
// --since/--until) that every detector sees, in select.go. merge.go is the
// reduce of a run over many capture points: the Partial one capture
// point's run leaves, and Merge, which combines partials table by table
// (sums, bounded unions, summed TIME_WAIT occupancy) whatever their order
// or grouping.
package analyze
