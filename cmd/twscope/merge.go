package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/report"
)

// scaleFlags are the outputs of one map task and of the reduce (README
// "Running it at scale"): the capture point's name and partial result
// (analyze only), and the dashboards' metrics and summary (analyze and
// merge).
type scaleFlags struct {
	capturePoint string
	partial      string
	metrics      string
	markdown     string
	topN         int
}

// capturePointName is what a capture point may be called: it becomes a
// directory name in hive-partitioned paths (capture_point=NAME) and a
// label value.
var capturePointName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (s *scaleFlags) register(cmd *cobra.Command, mapTask bool) {
	fl := cmd.Flags()
	if mapTask {
		fl.StringVar(&s.capturePoint, "capture-point", "", "`NAME` the capture point these captures come from (letters, digits, . _ -): in records, findings and captures")
		fl.StringVar(&s.partial, "partial", "", "write a partial result for 'twscope merge' to `FILE` (needs --capture-point)")
	}
	fl.StringVar(&s.metrics, "metrics", "", "write OpenMetrics text to `FILE`, atomically (for node_exporter's textfile collector: name it *.prom)")
	fl.StringVar(&s.markdown, "markdown", "", "write a Markdown summary to `FILE` (- for stdout), e.g. $GITHUB_STEP_SUMMARY")
	fl.IntVar(&s.topN, "metrics-top", report.MetricsTopN, "endpoints and hosts in --metrics, the busiest first")
}

// configure checks the flags and asks the analysis for what they need;
// others are the paths of the command's other outputs, of which one only
// may be standard output.
func (s *scaleFlags) configure(opts *analyze.Options, others ...string) error {
	if s.markdown == "-" && slices.Contains(others, "-") {
		return usageError(fmt.Errorf("--markdown - and another output cannot both take standard output"))
	}
	if s.capturePoint != "" && !capturePointName.MatchString(s.capturePoint) {
		return usageError(fmt.Errorf("--capture-point %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", s.capturePoint))
	}
	if s.partial != "" && s.capturePoint == "" {
		return usageError(fmt.Errorf("--partial needs --capture-point: merge tells the parts apart by it"))
	}
	if s.partial == "-" || s.metrics == "-" {
		return usageError(fmt.Errorf("--partial and --metrics need a file, not standard output"))
	}
	if s.topN < 0 {
		return usageError(fmt.Errorf("--metrics-top must not be negative"))
	}
	if opts != nil {
		opts.CapturePoint = s.capturePoint
		opts.KeepOccupancy = s.partial != ""
	}
	return nil
}

// write writes the partial result, metrics and summary asked for.
func (s *scaleFlags) write(cmd *cobra.Command, res *analyze.Result) error {
	if s.partial != "" {
		p := analyze.NewPartial(s.capturePoint, res)
		if err := writeAtomic(s.partial, func(w io.Writer) error { return report.WritePartial(w, p) }); err != nil {
			return err
		}
	}
	if s.metrics != "" {
		err := writeAtomic(s.metrics, func(w io.Writer) error {
			return report.WriteMetrics(w, res, report.MetricsOptions{TopN: s.topN})
		})
		if err != nil {
			return err
		}
	}
	if s.markdown != "" {
		return writeTo(cmd, s.markdown, func(w io.Writer) error { return report.WriteMarkdown(w, res) })
	}
	return nil
}

// writeAtomic writes path through a temporary file in its directory,
// renamed into place once complete: a reader (node_exporter's textfile
// collector, the merge step) never sees half a file.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return &exitError{exitBadInput, err}
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return &exitError{exitBadInput, fmt.Errorf("writing %s: %w", path, err)}
	}
	return nil
}

func newMergeCmd() *cobra.Command {
	var (
		gate        gateFlags
		scale       scaleFlags
		jsonPath    string
		htmlPath    string
		partialPath string
	)
	cmd := &cobra.Command{
		Use:   "merge [flags] PARTIAL...",
		Short: "Combine the partial results of many capture points into one report",
		Long: `merge reads the partial results that 'twscope analyze --capture-point NAME
--partial FILE' wrote, one per capture point, and reports them as one: counts
are summed, findings listed by severity and time with the capture point that
saw them, hosts' TIME_WAIT peaks rebuilt from their occupancy. The order of
the partials does not matter, and one partial gives the report of analyzing
its capture point directly. --partial writes the merge as a partial result
again, so that merges can be merged: the report is the same however the
partials are grouped.`,
		Example: `  ls captures | xargs -P4 -I{} sh -c 'twscope analyze --quiet --capture-point {} --partial parts/{}.json captures/{}/*.pcap > /dev/null'
  twscope merge --json report.json --html report.html --fail-on 'lost_final_ack>0' parts/*.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := scale.configure(nil, jsonPath); err != nil {
				return err
			}
			if err := gate.parse(); err != nil {
				return err
			}
			parts := make([]*analyze.Partial, 0, len(args))
			for _, name := range args {
				f, err := os.Open(name)
				if err != nil {
					return &exitError{exitBadInput, err}
				}
				p, err := analyze.ReadPartial(f, name)
				f.Close()
				if err != nil {
					return &exitError{exitBadInput, err}
				}
				parts = append(parts, p)
			}
			merged, err := analyze.MergePartials(parts...)
			if err != nil {
				return &exitError{exitBadInput, err}
			}
			res := merged.Report()
			if partialPath != "" {
				if err := writeAtomic(partialPath, func(w io.Writer) error { return report.WritePartial(w, merged) }); err != nil {
					return err
				}
			}
			if jsonPath != "" {
				if err := writeTo(cmd, jsonPath, func(w io.Writer) error { return report.WriteJSON(w, res) }); err != nil {
					return err
				}
			}
			if htmlPath != "" {
				err := writeTo(cmd, htmlPath, func(w io.Writer) error {
					return report.WriteHTML(w, res, report.HTMLOptions{LadderNote: report.LadderNoteMerged})
				})
				if err != nil {
					return err
				}
			}
			if err := scale.write(cmd, res); err != nil {
				return err
			}
			if jsonPath != "-" && scale.markdown != "-" {
				if err := report.WriteText(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			}
			return gate.finish(cmd, cmd.ErrOrStderr(), res, nil, nil, "")
		},
	}
	gate.register(cmd)
	scale.register(cmd, false)
	cmd.Flags().StringVar(&jsonPath, "json", "", "write the merged report as JSON to `FILE` (- for stdout)")
	cmd.Flags().StringVar(&htmlPath, "html", "", "write the merged report as self-contained HTML to `FILE`")
	cmd.Flags().StringVar(&partialPath, "partial", "", "write the merge as a partial result to `FILE`, to be merged again (a tree of reduces)")
	return cmd
}
