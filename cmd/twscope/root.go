package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "twscope",
		Short: "Who closes TCP connections, who holds TIME_WAIT, and what went wrong",
		Long: `twscope reads packet captures (pcap, pcapng, gzipped, or - for stdin) and
rebuilds every TCP connection and every incarnation of each four-tuple. For
each close it says who closed first and so holds TIME_WAIT, and it reports
lost final ACKs, four-tuple reuse inside TIME_WAIT, timestamps going
backwards behind NAT and sequence overlap between incarnations, with the
frame numbers that prove each finding.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newAnalyzeCmd())
	root.AddCommand(newCheckCmd())
	root.AddCommand(newConnsCmd())
	root.AddCommand(newShowCmd())
	root.AddCommand(newMergeCmd())
	addProfileFlag(root)
	return root
}
