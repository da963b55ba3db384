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
package analyze
