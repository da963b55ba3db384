package analyze

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// timeJumpWarnings names the segments whose capture time jumped by more
// than the tracker trusts (reassembly/timejump.go): a stray record or
// captures merged across days. Their connections were measured in the
// capture's running time, so no age or duration spans the jump.
func timeJumpWarnings(st reassembly.TrackerStats, files []reassembly.FileInfo) []string {
	var ws []string
	for _, j := range st.TimeJumps {
		name := "?"
		if j.Frame.File >= 0 && j.Frame.File < len(files) {
			name = filepath.Base(files[j.Frame.File].Name)
		}
		ws = append(ws, fmt.Sprintf("%s frame %d: capture time %s is %s from the packets before it (%s): a stray record or merged captures; taken at its neighbours' time, and the capture's time moves only when the next packet is there too",
			name, j.Frame.N, FormatTime(j.Time), jumpSize(j.Time-j.Prev), FormatTime(j.Prev)))
	}
	if n := st.TimeJumpCount - len(st.TimeJumps); n > 0 {
		ws = append(ws, fmt.Sprintf("%d more packets whose capture time jumped by more than 30 days", n))
	}
	return ws
}

// jumpSize says how far a time jumped, in days or years.
func jumpSize(d int64) string {
	dir := "ahead"
	if d < 0 {
		d, dir = -d, "behind"
	}
	days := float64(d) / float64(24*time.Hour)
	if days >= 365 {
		return fmt.Sprintf("%.1f years %s", days/365.25, dir)
	}
	return fmt.Sprintf("%.0f days %s", days, dir)
}
