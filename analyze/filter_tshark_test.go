package analyze

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twscope/twscope/reassembly/testenv"
)

// TestFramesFilter: the display filter of a finding's frames, as
// Wireshark 4 reads sets (commas; runs of three or more as a..b).
func TestFramesFilter(t *testing.T) {
	for _, tt := range []struct {
		frames []int
		want   string
	}{
		{nil, ""},
		{[]int{7}, "frame.number in {7}"},
		{[]int{738, 739}, "frame.number in {738,739}"},
		{[]int{1, 2, 5, 6, 7, 8, 9}, "frame.number in {1,2,5..9}"},
		{[]int{3, 5, 7, 8, 9, 11}, "frame.number in {3,5,7..9,11}"},
	} {
		if got := FramesFilter(tt.frames); got != tt.want {
			t.Errorf("FramesFilter(%v) = %q, want %q", tt.frames, got, tt.want)
		}
	}
}

// TestFiltersInTshark runs every finding's filter through tshark (Wireshark
// 4) on the capture it is for, and wants exactly the frames the finding
// lists: on every capture in testdata, and on two captures read together
// as rotated files (filters per file). CI (CI=true) installs tshark
// (.ci/run); without it the test fails there and skips elsewhere.
func TestFiltersInTshark(t *testing.T) {
	tshark := testenv.LookPath(t, "tshark", "apt-get install tshark (Debian), as .ci/run does")
	var files []string
	for _, dir := range []string{filepath.Join("..", "testdata"), filepath.Join("..", "reassembly", "testdata")} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "fuzz" {
				return filepath.SkipDir
			}
			name := d.Name()
			if !d.IsDir() && (strings.HasSuffix(name, ".pcap") || strings.HasSuffix(name, ".pcapng") || strings.HasSuffix(name, ".pcap.gz")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	runs := [][]string{}
	for _, f := range files {
		runs = append(runs, []string{f})
	}
	rotated := []string{lab("tw_bucket_overflow_rst.pcap"), lab("fast_port_reuse_tw_reuse.pcap")}
	runs = append(runs, rotated)

	var mu sync.Mutex
	checked := 0
	sem := make(chan struct{}, 2)
	tsharkRun := func(t *testing.T, file, filter string) []int {
		sem <- struct{}{}
		defer func() { <-sem }()
		return tsharkFrames(t, tshark, file, filter)
	}
	for _, run := range runs {
		t.Run(strings.Join(run, "+"), func(t *testing.T) {
			t.Parallel()
			res := twRun(t, Options{}, run...)
			byName := map[string]string{}
			for _, f := range run {
				byName[filepath.Base(f)] = f
			}
			// tshark takes about a third of a second to start: the first
			// finding of each kind and severity is checked on its own, and
			// the others together, per file, as one filter or-ing theirs,
			// which tshark accepts only when it accepts each, and which
			// selects exactly the union of their frames only when none
			// selects a frame it does not list.
			type union struct {
				filters []string
				want    map[int]bool
			}
			rest := map[string]*union{}
			alone := map[[2]string]bool{}
			for _, f := range res.Findings {
				key := [2]string{f.Kind, f.Severity.String()}
				first := !alone[key]
				alone[key] = true
				if len(f.Frames) == 0 {
					if f.Filter != "" && first {
						if got := tsharkRun(t, run[0], f.Filter); len(got) == 0 {
							t.Errorf("%s: filter %q selects no frame", f.Kind, f.Filter)
						}
					}
					continue
				}
				filters := f.Filters
				if len(run) == 1 {
					if f.FrameFiles != nil || f.Filters != nil {
						t.Errorf("%s: frame_files %v, filters %v with one capture file", f.Kind, f.FrameFiles, f.Filters)
					}
					filters = map[string]string{filepath.Base(run[0]): f.Filter}
				} else if len(f.FrameFiles) != len(f.Frames) {
					t.Fatalf("%s: %d frame_files for %d frames", f.Kind, len(f.FrameFiles), len(f.Frames))
				} else if f.Filter != f.Filters[res.Captures[f.FrameFiles[0]].File] {
					t.Errorf("%s: filter %q is not that of the first frame's file", f.Kind, f.Filter)
				}
				for name, filter := range filters {
					var want []int
					for i, n := range f.Frames {
						if len(run) == 1 || res.Captures[f.FrameFiles[i]].File == name {
							want = append(want, n)
						}
					}
					if first || len(run) > 1 {
						if got := tsharkRun(t, byName[name], filter); !slices.Equal(got, want) {
							t.Errorf("%s in %s: filter %q selects frames %v, want %v", f.Kind, name, filter, got, want)
						}
					} else {
						u := rest[name]
						if u == nil {
							u = &union{want: map[int]bool{}}
							rest[name] = u
						}
						u.filters = append(u.filters, "("+filter+")")
						for _, n := range want {
							u.want[n] = true
						}
					}
					mu.Lock()
					checked++
					mu.Unlock()
				}
			}
			for name, u := range rest {
				var want []int
				for n := range u.want {
					want = append(want, n)
				}
				slices.Sort(want)
				if got := tsharkRun(t, byName[name], strings.Join(u.filters, " || ")); !slices.Equal(got, want) {
					t.Errorf("in %s: the other %d filters together select frames %v, want %v", name, len(u.filters), got, want)
				}
			}
		})
	}
	t.Cleanup(func() {
		if checked == 0 {
			t.Error("no filter checked")
		}
	})
}

// tsharkFrames is the frame numbers tshark selects from file with filter.
func tsharkFrames(t *testing.T, tshark, file, filter string) []int {
	t.Helper()
	cmd := exec.Command(tshark, "-n", "-r", file, "-Y", filter, "-T", "fields", "-e", "frame.number")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("tshark -Y %q on %s: %v: %s", filter, file, err, stderr.String())
		return nil
	}
	var frames []int
	for _, line := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("tshark printed %q", line)
		}
		frames = append(frames, n)
	}
	return frames
}
