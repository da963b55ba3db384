package reassembly

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// etherTypes is a capture of frames of more EtherTypes than NonIPCounts
// has room for, in no order, over several batches.
func etherTypes(t *testing.T) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(96, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	frame := make([]byte, 60)
	for i := 0; i < 3*packetBatchLen; i++ {
		binary.BigEndian.PutUint16(frame[12:14], uint16(0x7000+r.IntN(20)))
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, int64(i)), CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestReadDecodingSameAsReadBatches checks that decoding in helper
// goroutines hands on the very segments, in the same batches, and the
// same counts as decoding on the reading goroutine.
func TestReadDecodingSameAsReadBatches(t *testing.T) {
	read := func(data []byte, helpers int) ([][]Segment, Counts) {
		src, err := Open([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var got [][]Segment
		send := func(b []Segment) []Segment {
			got = append(got, append([]Segment(nil), b...))
			return b
		}
		var n Counts
		if helpers == 0 {
			n, err = readBatches(src, Config{}, make([]Segment, 0, batchSize), send)
		} else {
			n, err = readDecoding(src, Config{}, helpers, make([]Segment, 0, batchSize), send)
		}
		if err != nil {
			t.Fatal(err)
		}
		return got, n
	}
	caps := shardCaptures(t)
	caps["ether-types"] = etherTypes(t)
	for name, capture := range caps {
		want, wn := read(capture, 0)
		for _, h := range []int{1, 3} {
			got, n := read(capture, h)
			if name == "ether-types" && wn.NonIP.Other == 0 {
				t.Errorf("%s: no EtherType past the table: %+v", name, wn.NonIP)
			}
			if n != wn {
				t.Errorf("%s, %d decoders: counts %+v, want %+v", name, h, n, wn)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %d decoders: the segments differ", name, h)
			}
		}
	}
}
