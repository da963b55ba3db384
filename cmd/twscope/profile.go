package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"
)

// addProfileFlag adds the hidden --cpuprofile flag: a CPU profile of the
// whole command, for `go tool pprof` (see README, "Speed and memory").
func addProfileFlag(root *cobra.Command) {
	var path string
	var f *os.File
	root.PersistentFlags().StringVar(&path, "cpuprofile", "", "write a CPU profile to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	var memPath string
	root.PersistentFlags().StringVar(&memPath, "memprofile", "", "write a heap profile taken near the heap's peak to this file")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if memPath != "" {
			go peakHeapProfile(memPath)
		}
		if path == "" {
			return nil
		}
		var err error
		if f, err = os.Create(path); err != nil {
			return &exitError{exitBadInput, err}
		}
		return pprof.StartCPUProfile(f)
	}
	// Not written when the command fails: it is for measuring runs.
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
			f = nil
		}
	}
}

// peakHeapProfile writes a heap profile to path each time the heap in use
// has grown by a tenth past its highest so far: the last one written is
// taken near the peak, which an end-of-run profile would not show.
func peakHeapProfile(path string) {
	var peak uint64
	var m runtime.MemStats
	for range time.Tick(100 * time.Millisecond) {
		runtime.ReadMemStats(&m)
		if m.HeapInuse < peak+peak/10 {
			continue
		}
		peak = m.HeapInuse
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
}
