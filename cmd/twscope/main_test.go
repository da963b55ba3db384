package main

import (
	"bytes"
	"os"
	"testing"
)

// runCLI runs the command in-process with the given arguments and returns
// what it wrote and its exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(args, bytes.NewReader(nil), &out, &errb)
	return out.String(), errb.String(), code
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
