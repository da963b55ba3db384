package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/report"
)

// gateFlags are the CI gate options shared by analyze and check:
// thresholds (--fail-on) and the JUnit report (--junit).
type gateFlags struct {
	failOn []string
	junit  string
	rules  []report.Rule
	start  time.Time
}

func (g *gateFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&g.failOn, "fail-on", nil,
		"exit 1 when a `RULE` holds, e.g. 'tuple_reuse>0,final_ack_rst>0,closer:server>10%' (repeatable; an unknown name lists the known ones)")
	cmd.Flags().StringVar(&g.junit, "junit", "", "write the rules and golden comparisons as JUnit XML to `FILE`")
}

// parse reads the rules before any capture is read; a bad rule is a
// usage error (exit 2).
func (g *gateFlags) parse() error {
	g.start = time.Now()
	for _, s := range g.failOn {
		rules, err := report.ParseRules(s)
		if err != nil {
			return usageError(err)
		}
		g.rules = append(g.rules, rules...)
	}
	return nil
}

// finish judges the rules against res, prints the failed ones to out,
// writes the JUnit file with suites and the rules, and returns the error
// the command ends with: runErr (an input error, exit 2) before anything
// else, then exit 1 when a rule failed or failure (the golden
// comparison's summary) is not empty.
func (g *gateFlags) finish(cmd *cobra.Command, out io.Writer, res *analyze.Result, runErr error, suites []report.JUnitSuite, failure string) error {
	var problems []string
	if failure != "" {
		problems = append(problems, failure)
	}
	// The captures were read, or not: a test case of its own, so that the
	// report always holds one.
	read := report.JUnitCase{Classname: "twscope.input", Name: "read captures"}
	if runErr != nil {
		read.Error = &report.JUnitProblem{Message: firstLine(runErr.Error()), Type: "input", Text: runErr.Error()}
	}
	suites = append([]report.JUnitSuite{{Name: "twscope input", Time: time.Since(g.start), Cases: []report.JUnitCase{read}}}, suites...)
	if runErr == nil && len(g.rules) > 0 && res != nil {
		suite := report.JUnitSuite{Name: "twscope rules", Time: time.Since(g.start)}
		failed := 0
		for _, r := range report.EvalRules(g.rules, res) {
			c := report.JUnitCase{Classname: "twscope.rules", Name: r.Rule.Text}
			if r.Failed {
				failed++
				fmt.Fprintln(out, r.Message)
				c.Failure = &report.JUnitProblem{Message: r.Message, Type: "threshold", Text: r.Message}
			}
			suite.Cases = append(suite.Cases, c)
		}
		suites = append(suites, suite)
		if failed > 0 {
			problems = append(problems, fmt.Sprintf("%d of %d rules failed", failed, len(g.rules)))
		}
	}
	if g.junit != "" {
		if err := writeTo(cmd, g.junit, func(w io.Writer) error { return report.WriteJUnit(w, suites) }); err != nil && runErr == nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	if len(problems) > 0 {
		return &exitError{exitFindings, errors.New(strings.Join(problems, "; "))}
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func newCheckCmd() *cobra.Command {
	var (
		flags      analyzeFlags
		gate       gateFlags
		goldenPath string
		update     bool
		tolerance  float64
		groupBy    string
	)
	cmd := &cobra.Command{
		Use:   "check --golden FILE [flags] CAPTURE...",
		Short: "Compare how connections closed with a golden file (a CI gate)",
		Long: `check analyzes the captures as analyze does and compares, per server
endpoint, how the connections closed (who closed first, FIN, RST or
simultaneous close, who holds TIME_WAIT, lost final ACKs, who sent RSTs)
and the findings by kind, endpoint and severity with a golden file written
by an earlier run with --update. Client ports, ISNs, times and the order of
the connections do not matter. Each difference is printed on one line.

The profile, TIME_WAIT length, port range and grouping are taken from the
golden file unless given (with --update, from the file being replaced).

Exit status: 0 same as the golden file (and no --fail-on rule failed), 1 a
difference or a failed rule, 2 bad usage or unreadable input.`,
		Example: `  twscope check --update --golden testdata/golden/service.json capture.pcap
  twscope check --golden testdata/golden/service.json --junit report.xml capture.pcap
  twscope check --golden service.json --tolerance 5 --fail-on 'final_ack_rst>0' capture.pcap`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if goldenPath == "" {
				return usageError(fmt.Errorf("check needs --golden FILE (write it first with --update)"))
			}
			if tolerance < 0 || tolerance > 100 {
				return usageError(fmt.Errorf("--tolerance %g: want a percentage from 0 to 100", tolerance))
			}
			if err := gate.parse(); err != nil {
				return err
			}
			// The settings come from the golden file where the command
			// line leaves them; --update keeps those of the file it
			// replaces, if it can read it.
			old, err := readGoldenFile(goldenPath)
			if err != nil && !update {
				return err
			}
			if old != nil {
				applyGolden(cmd, &flags, old)
				if !cmd.Flags().Changed("group-by") {
					groupBy = old.GroupBy
				}
			}
			opts, err := flags.options()
			if err != nil {
				return err
			}
			if _, err := report.GroupBy(groupBy); err != nil {
				return usageError(fmt.Errorf("--group-by: %w", err))
			}
			opts.PlaceFindings = true // the golden file counts findings by endpoint
			out := cmd.OutOrStdout()
			res, err := runAnalysis(cmd, args, opts, "")
			if err != nil || res == nil {
				return gate.finish(cmd, out, res, err, nil, "")
			}
			cur, err := report.GoldenOf(res, groupBy)
			if err != nil {
				return usageError(fmt.Errorf("--group-by: %w", err))
			}
			if update {
				if err := writeGoldenFile(goldenPath, cur); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %s: %s\n", goldenPath, goldenSummary(cur))
				return gate.finish(cmd, out, res, nil, nil, "")
			}
			diffs := report.Compare(old, cur, report.CompareOptions{Tolerance: tolerance})
			for _, d := range diffs {
				fmt.Fprintln(out, d)
			}
			suite := goldenSuite(goldenPath, old, cur, diffs, time.Since(gate.start))
			failure := ""
			switch len(diffs) {
			case 0:
				fmt.Fprintf(out, "same as %s: %s\n", goldenPath, goldenSummary(cur))
			case 1:
				failure = fmt.Sprintf("1 difference from the golden file %s (check --update accepts it)", goldenPath)
			default:
				failure = fmt.Sprintf("%d differences from the golden file %s (check --update accepts them)", len(diffs), goldenPath)
			}
			return gate.finish(cmd, out, res, nil, []report.JUnitSuite{suite}, failure)
		},
	}
	flags.register(cmd)
	gate.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&goldenPath, "golden", "", "the golden `FILE` (JSON) to compare with")
	fl.BoolVar(&update, "update", false, "write the golden file from the captures instead of comparing")
	fl.Float64Var(&tolerance, "tolerance", 0, "let counts move by this `PERCENT` (shares of an endpoint's connections by percentage points); 0 compares exactly")
	fl.StringVar(&groupBy, "group-by", report.GroupByEndpoint,
		"group connections by server `MODE`: endpoint (ip:port), or port only, for servers whose address changes between runs")
	return cmd
}

// applyGolden takes the analysis settings from the golden file where the
// command line leaves them at their defaults, so that a check judges
// TIME_WAIT as the run that made the file did.
func applyGolden(cmd *cobra.Command, f *analyzeFlags, g *report.Golden) {
	fl := cmd.Flags()
	if !fl.Changed("profile") && g.Profile.Name != "" {
		f.profile = g.Profile.Name
		if p, err := analyze.LookupProfile(g.Profile.Name, 0); err == nil && !fl.Changed("time-wait") &&
			g.Profile.TimeWaitS > 0 && g.Profile.TimeWaitS != p.TimeWait.Seconds() {
			f.timeWait = time.Duration(g.Profile.TimeWaitS * float64(time.Second))
		}
	}
	if !fl.Changed("port-range") && g.Profile.PortRange[0] > 0 {
		f.portRange = fmt.Sprintf("%d-%d", g.Profile.PortRange[0], g.Profile.PortRange[1])
	}
}

func readGoldenFile(path string) (*report.Golden, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageError(fmt.Errorf("golden file %s does not exist (write it with check --update)", path))
	}
	if err != nil {
		return nil, usageError(err)
	}
	defer f.Close()
	g, err := report.ReadGolden(f)
	if err != nil {
		return nil, usageError(fmt.Errorf("%s: %w", path, err))
	}
	return g, nil
}

// writeGoldenFile writes the golden file through a temporary file in the
// same directory (writeAtomic), so that a failed write leaves the old one.
func writeGoldenFile(path string, g *report.Golden) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return usageError(err)
	}
	return writeAtomic(path, func(w io.Writer) error { return report.WriteGolden(w, g) })
}

func goldenSummary(g *report.Golden) string {
	n := 0
	for _, f := range g.Findings {
		n += f.Count
	}
	return fmt.Sprintf("%s, %s, %s", plural(g.Connections, "connection"), plural(len(g.Endpoints), "server endpoint"), plural(n, "finding"))
}

// goldenSuite makes one JUnit test case of each thing compared: the
// settings, every server endpoint of either file, and the findings.
func goldenSuite(path string, old, cur *report.Golden, diffs []report.Difference, elapsed time.Duration) report.JUnitSuite {
	groups := []string{report.GroupSettings}
	seen := map[string]bool{report.GroupSettings: true, report.GroupFindings: true}
	for _, g := range []*report.Golden{old, cur} {
		for _, e := range g.Endpoints {
			label := report.ServerLabel(e.Server)
			if !seen[label] {
				seen[label] = true
				groups = append(groups, label)
			}
		}
	}
	groups = append(groups, report.GroupFindings)
	byGroup := map[string][]string{}
	for _, d := range diffs {
		byGroup[d.Group] = append(byGroup[d.Group], d.Text)
	}
	suite := report.JUnitSuite{Name: "twscope check " + filepath.Base(path), Time: elapsed}
	for _, g := range groups {
		c := report.JUnitCase{Classname: "twscope.check", Name: g}
		if lines := byGroup[g]; len(lines) > 0 {
			msg := lines[0]
			if len(lines) > 1 {
				msg = fmt.Sprintf("%d differences from %s, first: %s", len(lines), filepath.Base(path), lines[0])
			}
			c.Failure = &report.JUnitProblem{Message: msg, Type: "golden", Text: strings.Join(lines, "\n")}
		}
		suite.Cases = append(suite.Cases, c)
	}
	return suite
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
