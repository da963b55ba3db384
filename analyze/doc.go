// Package analyze turns connection records into findings.
//
// Each detector lives in its own file and is a function of the records the
// tracker in package reassembly emits: lost final ACKs, four-tuple reuse
// inside TIME_WAIT, timestamps behind NAT, sequence overlap, CLOSE_WAIT and
// port pressure, and the close summary per host and endpoint. It holds the
// OS profiles and the Result type every output renders. It never prints.
package analyze
