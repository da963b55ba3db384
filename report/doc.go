// Package report renders an analysis: the text summary (the verdict,
// worded in verdict.go, and the TIME_WAIT peaks first), the JSON report,
// the per-connection NDJSON records (and the same records as Zeek's
// conn.log in zeekconn.go and as Parquet in parquet.go), the
// self-contained HTML report (html.go, html.tmpl) with its plots drawn by
// gonum/plot (plots.go) and ladder diagrams of example connections
// (ladder.go: it names the packets it needs, LadderWindows, and draws what
// reassembly.CollectFrames read of them; it never opens or decodes a
// capture), the `conns` table (connstable.go) and one connection for
// `show` (show.go: its record, filter and text ladder), the golden file
// used by CI (golden.go, a rendering of the Result), the dashboards'
// OpenMetrics text (metrics.go) and Markdown summary (markdown.go), and
// the partial result file (partial.go). It is one of the two packages
// that write output; it never decides what a capture means. Times come as
// numbers (analyze.Time) and become text only here.
package report
