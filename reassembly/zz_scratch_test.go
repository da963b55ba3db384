package reassembly

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestScratchGolden(t *testing.T) {
	gs, _ := filepath.Glob("/tmp/golden/*.tsv")
	for _, g := range gs {
		b := strings.TrimSuffix(filepath.Base(g), ".tsv")
		var path string
		for _, dir := range []string{"public/traces", "lab", "lab/crafted"} {
			if _, err := os.Stat("/work/shared/corpus/" + dir + "/" + b); err == nil {
				path = "/work/shared/corpus/" + dir + "/" + b
			}
		}
		want := map[int]string{}
		gf, _ := os.Open(g)
		sc := bufio.NewScanner(gf)
		for sc.Scan() {
			fs := strings.Split(sc.Text(), "\t")
			n, _ := strconv.Atoi(fs[0])
			src := fs[1] + fs[2]
			if i := strings.Index(src, ","); i >= 0 {
				src = src[i+1:] // innermost
			}
			fl, _ := strconv.ParseUint(fs[7], 0, 16)
			want[n] = fmt.Sprintf("%s %s %s %s %s %d %s %s %s %s", src, fs[3], fs[4], fs[5], fs[6], fl&0xff, fs[8], fs[9], fs[10], fs[11])
		}
		gf.Close()
		s, err := Open([]string{path}, nil)
		if err != nil {
			t.Error(err)
			continue
		}
		d := NewDecoder()
		var p Packet
		var seg Segment
		ntcp, bad := 0, 0
		for {
			err := s.Next(&p)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			k := d.Decode(&p, &seg)
			w, ok := want[p.Frame]
			if k != KindTCP {
				if ok {
					t.Errorf("%s frame %d: kind %v, tshark %s", b, p.Frame, k, w)
				}
				continue
			}
			ntcp++
			ts, te := "", ""
			if seg.HasTS {
				ts, te = strconv.Itoa(int(seg.TSval)), strconv.Itoa(int(seg.TSecr))
			}
			got := fmt.Sprintf("%s %d %d %d %d %d %d %d %s %s", seg.Src, seg.SrcPort, seg.DstPort, seg.Seq, seg.Ack, seg.Flags, seg.PayloadLen, seg.Window, ts, te)
			if got != w && bad < 5 {
				bad++
				t.Errorf("%s frame %d:\n got %s\nwant %s (optsknown %v)", b, p.Frame, got, w, seg.OptionsKnown)
			}
		}
		if ntcp != len(want) {
			t.Errorf("%s: %d tcp, tshark %d", b, ntcp, len(want))
		}
		t.Logf("%s: %d tcp %v", b, ntcp, s.Warnings())
		s.Close()
	}
}
