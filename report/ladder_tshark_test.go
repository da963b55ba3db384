package report

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twscope/twscope/reassembly/testenv"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
)

// TestLadderNumbersAsTshark: the relative sequence and acknowledgement
// numbers of every ladder of the demo capture are those tshark shows
// (tcp.seq, tcp.ack with relative sequence numbers on, its default).
// CI (CI=true) installs tshark, so there the test cannot skip.
func TestLadderNumbersAsTshark(t *testing.T) {
	tshark := testenv.LookPath(t, "tshark", "apt-get install tshark (Debian), as .ci/run does")
	for _, c := range []string{"../testdata/demo.pcap", lab + "seq_overlap_incarnations.pcap.gz"} {
		res := htmlTestResult(t, c)
		ls, err := collectLadders([]string{c}, res)
		if err != nil {
			t.Fatal(err)
		}
		var frames []int
		for _, l := range ls {
			for _, pk := range l.Packets {
				frames = append(frames, pk.Frame.N)
			}
		}
		out, err := exec.Command(tshark, "-n", "-r", c, "-o", "tcp.relative_sequence_numbers:TRUE",
			"-Y", analyze.FramesFilter(sortedUnique(frames)), "-T", "fields", "-e", "frame.number", "-e", "tcp.seq", "-e", "tcp.ack").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		want := map[int][2]uint32{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 3 {
				continue
			}
			n, _ := strconv.Atoi(f[0])
			seq, _ := strconv.ParseUint(f[1], 10, 32)
			ack, _ := strconv.ParseUint(f[2], 10, 32)
			want[n] = [2]uint32{uint32(seq), uint32(ack)}
		}
		checked := 0
		for _, l := range ls {
			for _, pk := range l.Packets {
				w, ok := want[pk.Frame.N]
				if !ok {
					t.Errorf("%s frame %d: not in tshark's output", c, pk.Frame.N)
					continue
				}
				if pk.Rel.Seq != w[0] || pk.Flags&reassembly.FlagACK != 0 && (!pk.Rel.AckKnown || pk.Rel.Ack != w[1]) {
					t.Errorf("%s %s frame %d: seq %d ack %d, tshark seq %d ack %d", c, l.Kind, pk.Frame.N, pk.Rel.Seq, pk.Rel.Ack, w[0], w[1])
				}
				checked++
			}
		}
		if checked < 20 {
			t.Errorf("%s: %d packets checked", c, checked)
		}
	}
}

func sortedUnique(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
