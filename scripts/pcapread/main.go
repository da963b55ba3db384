// Command pcapread is scripts/bench's baseline: it reads every packet of
// a pcap file with gopacket's pcapgo (ZeroCopyReadPacketData) and does
// nothing with it, which is the least any analysis of the file costs. It
// prints the packets read and the seconds it took.
//
//	go run ./scripts/pcapread FILE
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pcapread FILE")
		os.Exit(2)
	}
	start := time.Now()
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapread:", err)
		os.Exit(2)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapread:", os.Args[1], err)
		os.Exit(2)
	}
	var packets, bytes int
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "pcapread: %s: packet %d: %v\n", os.Args[1], packets+1, err)
			os.Exit(2)
		}
		packets++
		bytes += len(data)
	}
	fmt.Printf("%d %.3f %d\n", packets, time.Since(start).Seconds(), bytes)
}
