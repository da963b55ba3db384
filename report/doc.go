// Package report renders an analysis: the text summary, the JSON report,
// the per-connection NDJSON records (and the same records as Zeek's
// conn.log in zeekconn.go and as Parquet in parquet.go), the
// self-contained HTML report (html.go, html.tmpl) with its plots drawn by
// gonum/plot (plots.go) and ladder diagrams of example connections
// (ladder.go, which reads the captures a second time for their packets),
// and the golden comparison used by CI. It is one of the two packages that
// write output; it never decides what a capture means.
package report
