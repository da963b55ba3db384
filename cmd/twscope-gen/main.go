// Command twscope-gen writes a large synthetic capture for benchmarks:
// many short connections with handshakes, data and every kind of close
// (client, server, simultaneous, RST, lost final ACKs, half closes, reuse
// inside TIME_WAIT), timestamps on every segment. The same flags give the
// same bytes. It prints the capture's ground truth as JSON on stderr.
//
//	twscope-gen -packets 10000000 -o /tmp/big.pcap
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twscope/twscope/reassembly/synth"
)

func main() {
	var (
		cfg   synth.GenConfig
		out   string
		quiet bool
	)
	flag.IntVar(&cfg.Packets, "packets", 1000000, "packets to write (the last connections are finished, so a few more)")
	flag.Float64Var(&cfg.Rate, "rate", 1000, "new connections per second")
	flag.IntVar(&cfg.Clients, "clients", 2000, "client IPv4 addresses")
	flag.IntVar(&cfg.Servers, "servers", 4, "server endpoints")
	flag.IntVar(&cfg.NATClients, "nat-clients", 3, "client addresses with several hosts behind them (-1: none)")
	flag.IntVar(&cfg.Snaplen, "snaplen", 96, "captured bytes per frame")
	flag.Int64Var(&cfg.Seed, "seed", 1, "random seed")
	// Timestamp-offset models (synth.TSModel).
	flag.StringVar(&cfg.TS.Offsets, "ts-offsets", "", "clients' TSval offsets: pair (Linux 4.11-5.x, default) or conn (Linux 6.x, kept by later incarnations)")
	flag.IntVar(&cfg.TS.NATHosts, "nat-hosts", 0, "hosts behind each NAT client address (default 3)")
	flag.IntVar(&cfg.TS.FixedPorts, "fixed-ports", 0, "each host uses only this many source ports, so four-tuples have later incarnations")
	flag.BoolVar(&cfg.TS.NATRemap, "nat-remap", false, "the NAT gives every connection a new public port (MASQUERADE remapping)")
	flag.BoolVar(&cfg.TS.LinuxISN, "linux-isn", false, "Linux ISNs: hash of the pre-NAT four-tuple + a 64 ns clock")
	flag.BoolVar(&cfg.TS.Recycle, "tw-recycle", false, "servers drop SYNs behind the TSval remembered in TIME_WAIT (tcp_tw_recycle=1), sent again at 1, 2, 4 s")
	flag.BoolVar(&cfg.FrozenClock, "frozen-clock", false, "every packet at the first packet's time (a clock that stood still)")
	exchanges := flag.String("exchanges", "1-2", "request/response exchanges per connection, LO-HI (1-1: HTTP/1.0 or a database connection per transaction; 10-50: keep-alive)")
	mixFlag := flag.String("mix", "", "weights of connection kinds, KIND=N,... of "+strings.Join(mixKinds(), ",")+" (unnamed kinds keep their default weight)")
	var flood synth.FloodConfig
	floodKind := flag.String("flood", "", "write a hostile capture instead: syn (a SYN flood of -packets SYNs from random sources) or scan (a port scan)")
	flag.IntVar(&flood.ScanHosts, "scan-hosts", 0, "with -flood scan: scan every port of this many hosts (else -packets random ports of one)")
	flag.IntVar(&flood.ScanPorts, "scan-ports", 65535, "with -flood scan -scan-hosts: ports 1..N of each host")
	traffic := flag.String("traffic", "", "write a named traffic mix of scripts/bench (list: print them); only -packets, -seed, -o and -q go with it")
	flag.StringVar(&out, "o", "-", "output file (- for stdout)")
	flag.BoolVar(&quiet, "q", false, "do not print the ground truth")
	flag.Parse()
	if *traffic == "list" {
		for _, m := range synth.TrafficMixes() {
			fmt.Printf("%-13s %s\n", m.Name, m.About)
		}
		return
	}
	var mix synth.TrafficMix
	if *traffic != "" {
		var err error
		if mix, err = synth.TrafficMixByName(*traffic); err != nil {
			fmt.Fprintf(os.Stderr, "twscope-gen: -traffic: %v (-traffic list names them)\n", err)
			os.Exit(2)
		}
		flag.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "traffic", "packets", "seed", "o", "q":
			default:
				fmt.Fprintf(os.Stderr, "twscope-gen: -%s does not go with -traffic, which sets the shape\n", f.Name)
				os.Exit(2)
			}
		})
	}
	if _, err := fmt.Sscanf(*exchanges, "%d-%d", &cfg.Exchanges[0], &cfg.Exchanges[1]); err != nil || cfg.Exchanges[0] < 1 || cfg.Exchanges[1] < cfg.Exchanges[0] {
		fmt.Fprintf(os.Stderr, "twscope-gen: -exchanges %q: LO-HI with 1 <= LO <= HI\n", *exchanges)
		os.Exit(2)
	}
	if *mixFlag != "" {
		m := synth.DefaultMix
		if err := parseMix(*mixFlag, &m); err != nil {
			fmt.Fprintln(os.Stderr, "twscope-gen: -mix:", err)
			os.Exit(2)
		}
		cfg.Mix = &m
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if out != "-" {
		var err error
		if f, err = os.Create(out); err != nil {
			fmt.Fprintln(os.Stderr, "twscope-gen:", err)
			os.Exit(2)
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	// finish flushes and closes the output after err, the writing's
	// result, and exits 2 on the first error.
	finish := func(err error) {
		if err == nil {
			err = bw.Flush()
		}
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "twscope-gen:", err)
			os.Exit(2)
		}
	}
	start := time.Now()
	if *traffic != "" {
		finish(mix.Write(bw, cfg.Packets, cfg.Seed))
		return
	}
	if *floodKind != "" {
		flood.Packets, flood.Seed = cfg.Packets, cfg.Seed
		switch *floodKind {
		case "syn":
			flood.Kind = synth.SYNFlood
		case "scan":
			flood.Kind = synth.PortScan
		default:
			fmt.Fprintf(os.Stderr, "twscope-gen: -flood %q: syn or scan\n", *floodKind)
			os.Exit(2)
		}
		finish(synth.Flood(bw, flood))
		return
	}
	st, err := synth.Generate(bw, cfg)
	finish(err)
	if !quiet {
		b, _ := json.Marshal(st)
		fmt.Fprintf(os.Stderr, "%s\n", b)
		fmt.Fprintf(os.Stderr, "twscope-gen: %d packets, %.1f MB, %d connections, %.1f s of capture, written in %.1f s\n",
			st.Packets, float64(st.Bytes)/1e6, st.Connections, float64(st.Last-st.First)/1e9, time.Since(start).Seconds())
	}
}

// mixKinds names the weights of -mix, in the order of
// synth.Mix.
func mixKinds() []string {
	names := []string{"client_close", "server_close", "simultaneous", "client_rst", "server_rst",
		"lost_ack_reack", "lost_ack_rst", "lost_ack_gone", "half_close", "reuse"}
	return names
}

// parseMix sets the weights named in s ("reuse=50,client_rst=70") in m.
func parseMix(s string, m *synth.Mix) error {
	fields := []*int{&m.ClientClose, &m.ServerClose, &m.Simultaneous, &m.ClientRST, &m.ServerRST,
		&m.LostAckReAck, &m.LostAckRST, &m.LostAckGone, &m.HalfClose, &m.Reuse}
	names := mixKinds()
	for _, kv := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(kv, "=")
		i := slices.Index(names, name)
		n, err := strconv.Atoi(val)
		if !ok || i < 0 || err != nil || n < 0 {
			return fmt.Errorf("%q: KIND=N with KIND one of %s", kv, strings.Join(names, ","))
		}
		*fields[i] = n
	}
	return nil
}
