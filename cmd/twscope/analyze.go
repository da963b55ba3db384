package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/report"
)

// analyzeFlags are the options shared by analyze and check.
type analyzeFlags struct {
	profile     string
	timeWait    time.Duration
	portRange   string
	filter      string
	idleTimeout time.Duration
	sel         selectFlags // --server, --client, --since, --until (select.go)
	// twBuckets is the hosts' net.ipv4.tcp_max_tw_buckets, for the verdict.
	twBuckets int
}

func (f *analyzeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "linux", "TIME_WAIT length by system: "+strings.Join(analyze.ProfileNames(), ", "))
	fl.DurationVar(&f.timeWait, "time-wait", 0, "TIME_WAIT length, overriding the profile's (e.g. 90s)")
	fl.StringVar(&f.portRange, "port-range", "32768-60999", "the clients' ephemeral port range (ip_local_port_range)")
	filterHelp := "tcpdump/BPF filter expression (needs a build with -tags libpcap)"
	if reassembly.FilterAvailable {
		filterHelp = "tcpdump/BPF filter expression, compiled by libpcap"
	}
	fl.StringVar(&f.filter, "filter", "", filterHelp)
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 5*time.Minute, "close out a connection silent this long (as Zeek does)")
	fl.IntVar(&f.twBuckets, "tw-buckets", analyze.DefaultTWBuckets,
		"the hosts' net.ipv4.tcp_max_tw_buckets, to judge TIME_WAIT peaks against (Linux sizes it from memory; 262144 from 4 GB)")
	fl.Bool("quiet", false, "no progress line on standard error (shown only when it is a terminal)")
	f.sel.register(cmd)
}

// options turns the flags into analysis options, or a usage error.
func (f *analyzeFlags) options() (analyze.Options, error) {
	var o analyze.Options
	p, err := analyze.LookupProfile(f.profile, f.timeWait)
	if err != nil {
		return o, usageError(err)
	}
	if f.timeWait < 0 {
		return o, usageError(fmt.Errorf("--time-wait must be positive"))
	}
	o.Profile = p
	o.PortRange, err = parsePortRange(f.portRange)
	if err != nil {
		return o, usageError(err)
	}
	o.Tracker.IdleTimeout = f.idleTimeout
	if f.twBuckets < 1 {
		return o, usageError(fmt.Errorf("--tw-buckets must be at least 1"))
	}
	o.TWBuckets = f.twBuckets
	if f.filter != "" {
		filter, err := reassembly.NewFilter(f.filter)
		if err != nil {
			return o, usageError(err)
		}
		o.Tracker.Filter = filter
	}
	if err := f.sel.apply(&o); err != nil {
		return o, err
	}
	o.Tool = "twscope " + version
	return o, nil
}

func parsePortRange(s string) ([2]int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return [2]int{}, fmt.Errorf("--port-range %q: want LOW-HIGH within 1-65535", s)
	}
	return [2]int{a, b}, nil
}

func usageError(err error) error { return &exitError{exitBadInput, err} }

func newAnalyzeCmd() *cobra.Command {
	var (
		flags     analyzeFlags
		gate      gateFlags
		jsonPath  string
		connsPath string
		visuals   visualFlags
		eco       ecosystemFlags
		scale     scaleFlags // --capture-point, --partial, --metrics, --markdown (merge.go)
	)
	cmd := &cobra.Command{
		Use:   "analyze [flags] CAPTURE...",
		Short: "Rebuild every connection and close, and report the findings",
		Long: `analyze reads the captures as one stream ordered by time (rotated tcpdump
files may be given together), prints a summary of how the connections
closed and what went wrong, and writes the JSON report and per-connection
records on request. CAPTURE is a pcap or pcapng file, either gzipped, or -
for standard input.`,
		Example: `  twscope analyze testdata/demo.pcap
  twscope analyze --json report.json --conns conns.ndjson server-*.pcap.gz
  tcpdump -i any -w - port 8080 | twscope analyze --conns - -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := flags.options()
			if err != nil {
				return err
			}
			if jsonPath == "-" && connsPath == "-" {
				return usageError(fmt.Errorf("--json - and --conns - cannot both take standard output"))
			}
			if err := gate.parse(); err != nil {
				return err
			}
			if err := scale.configure(&opts, jsonPath, connsPath); err != nil {
				return err
			}
			eco.point = report.Point{Name: opts.CapturePoint, TimeWait: int64(opts.Profile.TimeWait)}
			var observe []func(*reassembly.Record)
			if feed, err := eco.open(); err != nil { // --zeek-conn, --zeek-conn-json, --parquet
				return err
			} else if feed != nil {
				observe = append(observe, feed)
			}
			res, err := runAnalysis(cmd, args, opts, connsPath, observe...)
			if res == nil {
				eco.close()
				return gate.finish(cmd, cmd.ErrOrStderr(), nil, err, nil, "")
			}
			if werr := eco.finish(res); werr != nil {
				return werr
			}
			if jsonPath != "" {
				if werr := writeTo(cmd, jsonPath, func(w io.Writer) error { return report.WriteJSON(w, res) }); werr != nil {
					return werr
				}
			}
			if werr := visuals.write(cmd, args, res, opts); werr != nil { // --html, --plots
				return werr
			}
			if werr := scale.write(cmd, res); werr != nil {
				return werr
			}
			if jsonPath != "-" && connsPath != "-" && scale.markdown != "-" {
				if werr := report.WriteText(cmd.OutOrStdout(), res); werr != nil {
					return werr
				}
			}
			return gate.finish(cmd, cmd.ErrOrStderr(), res, err, nil, "") // --fail-on, --junit
		},
	}
	flags.register(cmd)
	gate.register(cmd)
	cmd.Flags().StringVar(&jsonPath, "json", "", "write the report as JSON to `FILE` (- for stdout)")
	cmd.Flags().StringVar(&connsPath, "conns", "", "write one JSON object per connection incarnation to `FILE` (- for stdout)")
	visuals.register(cmd)
	eco.register(cmd)
	scale.register(cmd, true)
	return cmd
}

// runAnalysis opens the captures and analyzes them, streaming records to
// connsPath when set and calling each observe (more per-record outputs:
// conn.log, Parquet) for every record as it is finished. A fatal input
// error comes back as an exit-2 error together with the result of what was
// read before it (nil if nothing).
func runAnalysis(cmd *cobra.Command, files []string, opts analyze.Options, connsPath string, observe ...func(*reassembly.Record)) (*analyze.Result, error) {
	if err := checkCaptureArgs(files); err != nil {
		return nil, err
	}
	src, err := reassembly.Open(files, cmd.InOrStdin())
	if err != nil {
		return nil, &exitError{exitBadInput, err}
	}
	defer src.Close()

	var (
		each  func(*reassembly.Record)
		cw    *report.ConnWriter
		werr  error
		close func() error
	)
	if connsPath != "" {
		w, c, err := create(cmd, connsPath)
		if err != nil {
			return nil, &exitError{exitBadInput, err}
		}
		close = c
		cw = report.NewConnWriter(w)
		cw.Point = report.Point{Name: opts.CapturePoint, TimeWait: int64(opts.Profile.TimeWait)}
	}
	if len(observe) > 0 {
		write := each
		each = func(r *reassembly.Record) {
			if write != nil {
				write(r)
			}
			for _, o := range observe {
				o(r)
			}
		}
	}
	stopProgress := startProgress(cmd, files, &opts)
	var res *analyze.Result
	if cw != nil { // records name their findings: the detectors judge each before it is written
		res, err = analyze.RunConns(src, opts, func(r *reassembly.Record, fs []analyze.ConnFinding) {
			if werr == nil {
				werr = cw.WriteFindings(r, fs)
			}
			if each != nil {
				each(r)
			}
		})
	} else {
		res, err = analyze.Run(src, opts, each)
	}
	stopProgress()
	if cw != nil {
		if ferr := cw.Flush(); werr == nil {
			werr = ferr
		}
		if cerr := close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, &exitError{exitBadInput, fmt.Errorf("writing %s: %w", connsPath, werr)}
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "twscope: warning:", w)
	}
	if err != nil {
		return res, &exitError{exitBadInput, err}
	}
	return res, nil
}

// create opens path for writing; "-" is standard output.
func create(cmd *cobra.Command, path string) (io.Writer, func() error, error) {
	if path == "-" {
		return cmd.OutOrStdout(), func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// writeTo writes one output file (or stdout for "-").
func writeTo(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	w, closeFn, err := create(cmd, path)
	if err != nil {
		return &exitError{exitBadInput, err}
	}
	err = write(w)
	if cerr := closeFn(); err == nil {
		err = cerr
	}
	if err != nil {
		return &exitError{exitBadInput, fmt.Errorf("writing %s: %w", path, err)}
	}
	return nil
}
