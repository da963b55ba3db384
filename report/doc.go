// Package report renders an analysis: the text summary, the JSON report,
// the per-connection NDJSON records, and (in later files) HTML and plots,
// and the golden comparison used by CI. It is one of the two packages
// that write output; it never decides what a capture means.
package report
