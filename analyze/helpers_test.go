package analyze

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// twKind returns the findings of one kind, in report order.
func twKind(res *Result, kind string) []Finding {
	var out []Finding
	for _, f := range res.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// twSynth writes a synthetic capture into a temporary file.
func twSynth(t *testing.T, build func(w *synth.Writer) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "synth.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := synth.NewWriter(f)
	if err == nil {
		err = build(w)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}
