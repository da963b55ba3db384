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
