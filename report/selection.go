package report

import (
	"strings"

	"github.com/twscope/twscope/analyze"
)

// SelectionLabel says in a few words which connections a report is
// about (--server, --client, --since, --until).
func SelectionLabel(s *analyze.SelectionInfo) string {
	var parts []string
	if s.Server != "" {
		parts = append(parts, "server "+s.Server)
	}
	if s.Client != "" {
		parts = append(parts, "client "+s.Client)
	}
	switch {
	case s.Since != nil && s.Until != nil:
		parts = append(parts, "with a packet in "+s.Since.String()+" .. "+s.Until.String())
	case s.Since != nil:
		parts = append(parts, "with a packet at or after "+s.Since.String())
	case s.Until != nil:
		parts = append(parts, "with a packet at or before "+s.Until.String())
	}
	return strings.Join(parts, ", ")
}
