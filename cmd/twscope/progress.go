package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 500 * time.Millisecond

// startProgress shows a progress line on standard error while a long
// analysis runs: packets, megabytes read of the total, the rate and the
// time left by file size. Only when standard error is a terminal and
// --quiet is not given; the returned function clears the line.
func startProgress(cmd *cobra.Command, files []string, opts *analyze.Options) func() {
	quiet, _ := cmd.Flags().GetBool("quiet")
	w := cmd.ErrOrStderr()
	if quiet || !isTerminal(w) {
		return func() {}
	}
	var total int64 // bytes of the named files; 0 when unknown (stdin)
	for _, name := range files {
		if name == "-" {
			total = 0
			break
		}
		if fi, err := os.Stat(name); err == nil {
			total += fi.Size()
		}
	}
	p := &progress{w: w, total: total, start: time.Now()}
	p.last = p.start
	prev := opts.Tracker.Progress
	opts.Tracker.Progress = func(packets int, bytes int64) {
		if prev != nil {
			prev(packets, bytes)
		}
		p.update(packets, bytes)
	}
	return p.clear
}

type progress struct {
	w           io.Writer
	total       int64
	start, last time.Time
	shown       bool
}

// update redraws the line at most every progressEvery. It runs on the
// goroutine that reads the capture.
func (p *progress) update(packets int, bytes int64) {
	now := time.Now()
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	line := fmt.Sprintf("twscope: %.1f M packets, %.0f", float64(packets)/1e6, float64(bytes)/1e6)
	if p.total > 0 {
		line += fmt.Sprintf("/%.0f", float64(p.total)/1e6)
	}
	line += fmt.Sprintf(" MB, %.2f M packets/s", float64(packets)/1e6/el)
	if p.total > 0 && bytes > 0 && bytes < p.total {
		left := el * float64(p.total-bytes) / float64(bytes)
		line += fmt.Sprintf(", %.0f%%, ETA %s", 100*float64(bytes)/float64(p.total), (time.Duration(left) * time.Second).Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.shown = true
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
