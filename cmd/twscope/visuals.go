package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/report"
)

// visualFlags are analyze's --html and --plots.
type visualFlags struct {
	html  string
	plots string
}

func (v *visualFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.html, "html", "", "write a self-contained HTML report with plots to `FILE`")
	cmd.Flags().StringVar(&v.plots, "plots", "", "write the report's plots as SVG and PNG files into `DIR`")
}

// write renders the HTML report and the plot files when asked for. The
// ladder diagrams read the captures a second time (not possible from
// standard input, which the report then says).
func (v *visualFlags) write(cmd *cobra.Command, files []string, res *analyze.Result, opts analyze.Options) error {
	if v.html == "" && v.plots == "" {
		return nil
	}
	ladders, note := collectLadders(files, res, opts)
	if note != "" && v.plots != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "twscope:", note)
	}
	if v.html != "" {
		err := writeTo(cmd, v.html, func(w io.Writer) error {
			return report.WriteHTML(w, res, report.HTMLOptions{Ladders: ladders, LadderNote: note})
		})
		if err != nil {
			return err
		}
		if v.html != "-" {
			fmt.Fprintf(cmd.ErrOrStderr(), "twscope: wrote the HTML report to %s\n", v.html)
		}
	}
	if v.plots != "" {
		written, err := report.WritePlots(v.plots, report.Figures(res, ladders))
		if err != nil {
			return &exitError{exitBadInput, fmt.Errorf("writing plots to %s: %w", v.plots, err)}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "twscope: wrote %d plot files (SVG and PNG) to %s\n", len(written), v.plots)
	}
	return nil
}

// collectLadders reads the packets of the ladder diagrams' connections
// from the captures a second time, with the analysis' filter, and says in
// a sentence why there are none when it cannot: input from standard
// input, or a capture that cannot be read again.
func collectLadders(files []string, res *analyze.Result, opts analyze.Options) ([]report.Ladder, string) {
	if slices.Contains(files, "-") {
		return nil, report.LadderNoteStdin
	}
	windows := report.LadderWindows(res)
	if len(windows) == 0 {
		return nil, ""
	}
	got, err := reassembly.CollectFrames(files, opts.Tracker.Filter, windows)
	if err != nil {
		return nil, report.LadderNoteFailed(err)
	}
	return report.LaddersOf(res, got), ""
}
