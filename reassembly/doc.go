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
// Stage (stage.go) hands ordered batches between goroutines, for Run's
// reader and tracker and for analyze's detectors. CollectFrames
// (collect.go) is a bounded second read for the few connections a report
// draws packet by packet.
package reassembly
