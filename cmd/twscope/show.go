package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/report"
)

// newShowCmd is `twscope show --conn ID`: one connection, its record,
// its packets as a text ladder, a Wireshark filter and its findings.
func newShowCmd() *cobra.Command {
	var (
		flags    analyzeFlags
		id       int
		maxPkts  int
		absolute bool
	)
	cmd := &cobra.Command{
		Use:   "show --conn ID [flags] CAPTURE...",
		Short: "Show one connection: its record, its packets as a ladder, its Wireshark filter, its findings",
		Long: `show analyzes the captures as analyze does, then prints connection ID (the
id of --conns and of the findings' conns, numbered in order of first packet):
its close facts, a Wireshark display filter for exactly its packets (by
four-tuple and frame range, so independent of tcp.stream numbers), its packets
from the first (the SYN when the capture holds it) to the last as a text ladder
with sequence numbers relative to each side's ISN as Wireshark shows them, and
the findings of the report that name it. The packets are read from the
captures a second time, which standard input cannot give.`,
		Example: `  twscope show --conn 101 testdata/demo.pcap
  twscope conns --sort reuse_gap --limit 5 testdata/demo.pcap   # to find an id`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id < 1 {
				return usageError(fmt.Errorf("--conn ID is required (a connection id from 1, as in --conns or twscope conns)"))
			}
			if maxPkts < 2 {
				return usageError(fmt.Errorf("--max-packets must be 2 or more"))
			}
			opts, err := flags.options()
			if err != nil {
				return err
			}
			var (
				rec   reassembly.Record
				found bool
			)
			res, err := runAnalysis(cmd, args, opts, "", func(r *reassembly.Record) {
				if r.ID == id {
					rec, found = *r, true // the tracker may reuse r
				}
			})
			if res == nil {
				return err
			}
			if !found {
				what := fmt.Sprintf("the capture holds connections 1 to %d", res.Totals.Connections)
				if res.Selection != nil {
					what = "it is not among the connections selected by " + report.SelectionLabel(res.Selection)
				}
				return usageError(fmt.Errorf("no connection %d: %s", id, what))
			}
			var (
				got  *reassembly.Collected
				note string
			)
			if slices.Contains(args, "-") {
				note = "the packets cannot be shown: standard input cannot be read a second time"
			} else {
				c, cerr := reassembly.CollectFrames(args, opts.Tracker.Filter, []reassembly.Window{report.ShowWindow(&rec, maxPkts)})
				switch {
				case cerr != nil:
					note = "the packets cannot be shown: " + cerr.Error()
				case len(c) == 1:
					got = &c[0]
				}
			}
			if werr := report.WriteShow(cmd.OutOrStdout(), res, &rec, got, note, absolute); werr != nil {
				return werr
			}
			return err
		},
	}
	flags.register(cmd)
	cmd.Flags().IntVar(&id, "conn", 0, "the connection `ID` to show (from --conns, twscope conns or a finding's conns)")
	cmd.Flags().IntVar(&maxPkts, "max-packets", report.ShowMaxPackets, "print at most `N` packets; the middle of a longer connection is left out")
	cmd.Flags().BoolVar(&absolute, "absolute", false, "print absolute sequence and acknowledgement numbers")
	return cmd
}
