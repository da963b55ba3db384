package report

import (
	"fmt"
	"strings"

	"github.com/twscope/twscope/analyze"
)

// natSummaryLine is the one line that counts the client addresses whose
// SYNs fell behind their latest TSval to the same server without a
// nat_ts_regression finding (domain.md 5): per-connection timestamp
// offsets do that to any address. "" when there were none.
func natSummaryLine(res *analyze.Result) string {
	s := res.NATTimestamps
	if s == nil || s.Addresses == 0 {
		return ""
	}
	line := fmt.Sprintf("timestamps: %d client %s sent %d %s that a per-IP timestamp check such as tcp_tw_recycle would refuse (",
		s.Addresses, pick(s.Addresses, "address", "addresses"), s.SYNs, pick(s.SYNs, "SYN", "SYNs"))
	var parts []string
	if s.Behind > 0 {
		parts = append(parts, fmt.Sprintf("%d behind their latest TSval to the same server", s.Behind))
	}
	if s.NoTimestamp > 0 {
		parts = append(parts, fmt.Sprintf("%d without a timestamp", s.NoTimestamp))
	}
	if s.Recycle > 0 {
		parts = append(parts, fmt.Sprintf("%d under the exact tcp_tw_recycle rule", s.Recycle))
	}
	line += strings.Join(parts, "; ") + "); none went unanswered in the pattern and no address shows several clocks toward one server"
	if s.Behind > 0 {
		line += " (per-connection timestamp offsets, Linux 6.x, put SYNs behind)"
	}
	return line + ": not a NAT finding"
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
