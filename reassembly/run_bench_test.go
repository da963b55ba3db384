package reassembly

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

// benchCapture writes n short connections (handshake, request, response,
// client close), ten at a time from different ports, as a nanosecond pcap
// in memory.
func benchCapture(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	w, err := synth.NewWriter(&buf)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c := synth.NewEnd(fmt.Sprintf("10.0.%d.%d:%d", i/250%250, i%250+1, 32768+i%28000), uint32(i)*7919, uint32(i))
		s := synth.NewEnd("10.9.0.1:443", uint32(i)*104729, 1000)
		for _, step := range []func() error{
			func() error { return w.Handshake(c, s, 100*time.Microsecond) },
			func() error { return w.Exchange(c, s, 300, 1400, 100*time.Microsecond) },
			func() error { return w.Close(c, s, 100*time.Microsecond) },
		} {
			if err := step(); err != nil {
				b.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// BenchmarkRun measures the whole of package reassembly: reading the
// pcap, decoding every header and tracking every connection to its record.
func BenchmarkRun(b *testing.B) {
	data := benchCapture(b, 2000)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var packets int
	for i := 0; i < b.N; i++ {
		src, err := Open([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n, _, err := Run(src, Config{}, func(*Record) {})
		if err != nil {
			b.Fatal(err)
		}
		packets += n.Packets
		src.Close()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
