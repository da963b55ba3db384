package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/report"
)

// newConnsCmd is `twscope conns`: the connections as a table in the style
// of `tshark -q -z conv,tcp`, with the close facts as columns.
func newConnsCmd() *cobra.Command {
	var (
		flags analyzeFlags
		sort  string
		limit int
	)
	cmd := &cobra.Command{
		Use:   "conns [flags] CAPTURE...",
		Short: "List the connections as a table (tshark -z conv,tcp style) with their close facts",
		Long: `conns analyzes the captures as analyze does and prints one row per
connection incarnation: client and server, frames and payload bytes each way,
start (seconds after the capture's first packet) and duration, and the close
facts of --conns as columns: closer, close, time_wait_holder, final_ack,
rst_by, reuse_gap (seconds from the previous incarnation's close to this
SYN). --server, --client, --since and --until select the rows as they select
every other output. The table keeps at most twice --limit rows while it
reads, so its memory stays bounded; --limit 0 lists every connection.`,
		Example: `  twscope conns testdata/demo.pcap
  twscope conns --sort duration --limit 10 testdata/demo.pcap
  twscope conns --server 10.2.0.2:8080 --sort reuse_gap testdata/demo.pcap`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := flags.options()
			if err != nil {
				return err
			}
			key, err := report.ParseConnSort(sort)
			if err != nil {
				return usageError(fmt.Errorf("--sort: %w", err))
			}
			if limit < 0 {
				return usageError(fmt.Errorf("--limit must be 0 (all) or more"))
			}
			table := &report.ConnTable{Sort: key, Limit: limit}
			res, err := runAnalysis(cmd, args, opts, "", func(r *reassembly.Record) { table.Add(r) })
			if res == nil {
				return err
			}
			if werr := table.Write(cmd.OutOrStdout(), res); werr != nil {
				return werr
			}
			return err
		},
	}
	flags.register(cmd)
	cmd.Flags().StringVar(&sort, "sort", "start", "sort the rows by `KEY`: "+strings.Join(report.ConnSortNames(), ", ")+
		" (amounts largest first, reuse_gap shortest first, the close facts in report order, ties by id)")
	cmd.Flags().IntVar(&limit, "limit", 100, "list at most `N` rows, the first by --sort (0: all)")
	return cmd
}
