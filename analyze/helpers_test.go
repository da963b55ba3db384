package analyze

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/reassembly/synth"
)

// twRun analyzes captures through the real pipeline (reassembly.Open, Run)
// as the CLI does, under the linux profile unless opts names another.
func twRun(t *testing.T, opts Options, files ...string) *Result {
	t.Helper()
	return twAnalyze(t, opts, nil, files, nil)
}

// twRunBytes analyzes a capture held in memory, read as standard input.
func twRunBytes(t *testing.T, opts Options, capture []byte) *Result {
	t.Helper()
	return twAnalyze(t, opts, nil, []string{"-"}, bytes.NewReader(capture))
}

// twAnalyze is twRun with every record handed to each as well.
func twAnalyze(t *testing.T, opts Options, each func(*reassembly.Record), files []string, stdin io.Reader) *Result {
	t.Helper()
	if opts.Profile.TimeWait == 0 {
		opts.Profile = Profiles["linux"]
	}
	src, err := reassembly.Open(files, stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := Run(src, opts, each)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

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

// evidenceOf is f's evidence as the struct of its kind, E; the test fails
// when it is another.
func evidenceOf[E Evidence](t testing.TB, f Finding) E {
	t.Helper()
	e, ok := f.Evidence.(E)
	if !ok {
		t.Fatalf("%s finding: evidence %T, want %T", f.Kind, f.Evidence, e)
	}
	return e
}

// deref is *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
