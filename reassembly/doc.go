// Package reassembly turns packet captures into TCP connection records.
//
// It opens captures (pcap, pcapng, either gzipped, stdin, several files merged
// by time), decodes link, IP and TCP headers without per-packet allocation,
// tracks every four-tuple and each of its incarnations, and reduces every
// incarnation to one fixed-size Record the moment it is finished: its
// handshake, its close, and the per-direction sequence and timestamp facts the
// detectors in package analyze need. It knows TCP and nothing of findings, and
// it never prints. The conn_state and history Zeek would log come from
// subpackage zeek, which the tracker feeds every segment of an incarnation.
//
// Only segments the receiver would accept are part of a close (accept.go:
// RFC 9293 3.10.7, RFC 5961; the others are counted as suspect), and a
// capture time that jumps by more than 30 days is not trusted for ages
// (timejump.go).
//
// Run's tracker is sharded (shard.go) into a fixed number of partitions,
// each a Tracker of its own, so that it runs on as many cores as
// Config.Workers gives; its records, their order and its counts are the
// same bytes for any worker count, and those of one Tracker fed every
// segment unless a bound is hit. A segment goes to the partition of its
// unordered address pair, not of its four-tuple: the timestamp clocks are
// per (source, destination) address pair (domain.md 5) and a client SYN
// is judged against what other four-tuples of the pair sent, so both
// directions of every pair, hence all its four-tuples, must be in one
// partition. What the single tracker decides for the capture as a whole,
// from the stream of all segments (the segment count, the running time
// and its jumps, the sweep every second, the linger sweep every 16384
// segments), is decided once by a dispatcher and applied by every
// partition at the same position of the stream; the records finished at
// one position are merged in the single tracker's order (by ID for a
// sweep). Connection IDs, the rank of an incarnation's opening among all
// openings, are counted as they come when the partitions run in sequence
// (one or two workers); with more, the partitions run through epochs of
// 4096 segments in parallel holding provisional IDs (the opening
// segment's index: in the same order), which the coordinator turns into
// the final ones at each epoch's end, in the records and in what the
// partitions hold. The bounds (MaxHalfOpen, MaxTuples, MaxClocks) hold
// for the partitions together: each partition applies them to itself as
// the single tracker does (so it evicts only when the single tracker
// would have), and at each epoch's end the partitions over a bound
// together evict the oldest half-open incarnations of them all and forget
// their share of four-tuples and clocks: on a capture that reaches a
// bound the evictions come at epoch ends, not at the very segment, the
// same for any worker count.
//
// Stage (stage.go) hands ordered batches between goroutines, for
// analyze's detectors. CollectFrames
// (collect.go) is a bounded second read for the few connections a report
// draws packet by packet.
package reassembly
