package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
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

// decodeNDJSON decodes each line of data (--conns records) as a T; a line
// that is not one fails the test. No line gives none.
func decodeNDJSON[T any](t *testing.T, data []byte) []T {
	t.Helper()
	var out []T
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
