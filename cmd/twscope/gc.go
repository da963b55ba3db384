package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's GOGC for twscope: the heap may grow
// to 1.25 times what is live instead of twice, which keeps the peak memory of
// a long capture low for a few percent more CPU (twscope allocates little
// once running, so collections are rare). The GOGC environment variable
// still overrides it.
const gcPercent = 25

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
