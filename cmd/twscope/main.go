// Command twscope analyzes TCP connection teardown in packet captures: who
// closes first and holds TIME_WAIT, lost final ACKs, four-tuple reuse,
// timestamps behind NAT and sequence overlap between incarnations.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes (contract.md).
const (
	exitOK       = 0
	exitFindings = 1 // check found a difference, or a threshold was passed
	exitBadInput = 2 // bad usage, unreadable or invalid input
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// exitError carries an exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// softMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// does not set one. Every table of the analysis is bounded (README
// "Damaged and hostile captures"), so the live heap stays well below it;
// what the limit changes is how much garbage may pile up between two
// collections: without it the heap grows to twice the live data, which
// puts the peak RSS of the largest shapes past 250 MB. Near the limit the
// collector runs more often, a few percent of the time; the runtime caps
// that at half the CPU, so a capture that does need more memory runs
// slower, never fails.
const softMemoryLimit = 225 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// execute runs the command line and returns the exit code.
func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "twscope:", ee.err)
		}
		return ee.code
	}
	// Flag and argument errors from cobra.
	fmt.Fprintln(stderr, "twscope:", err)
	fmt.Fprintln(stderr, "Run 'twscope --help' for usage.")
	return exitBadInput
}
