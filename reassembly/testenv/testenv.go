// Package testenv tells tests what the machine has, as Go's own
// internal/testenv does: a test that needs an outside tool (tshark,
// Chromium, DuckDB) fails in CI, where .ci/run installs it, and skips
// elsewhere with the way to install it. It lives under reassembly, the
// bottom of the import graph, so that the tests of every package can use
// it.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (the CI variable is set, as
// CI services and .ci/run's callers set it).
func InCI() bool { return os.Getenv("CI") != "" }

// Missing ends a test that lacks what it needs: it fails in CI, where
// nothing may be skipped silently, and skips elsewhere, saying why.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatal(why)
	}
	t.Skip(why)
}

// LookPath returns the path of the program name, or ends the test as
// Missing does with how to install it.
func LookPath(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not installed: "+install)
	}
	return p
}
