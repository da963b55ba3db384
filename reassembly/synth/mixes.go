package synth

import (
	"fmt"
	"io"
)

// TrafficMix is a named shape of traffic that users have, as issue 13
// lists them: scripts/bench measures each (twscope-gen -traffic NAME) and
// the stage benchmarks run on each, so a speed-up is never measured on one
// shape only. Gen is the generator's configuration with Packets and Seed
// left to the caller; Flood, when set, writes a hostile capture instead.
type TrafficMix struct {
	Name  string
	About string // what it stands for, for -traffic list and the README
	Gen   GenConfig
	Flood *FloodConfig
}

// Issue13Mix is the mix of issue 13's 10-million-packet capture: 5%
// four-tuple reuse, 13% lost final ACKs, 12% RSTs.
var Issue13Mix = Mix{
	ClientClose: 400, ServerClose: 260, Simultaneous: 30,
	ClientRST: 70, ServerRST: 50,
	LostAckReAck: 80, LostAckRST: 25, LostAckGone: 25,
	HalfClose: 10, Reuse: 50,
}

// TrafficMixes returns the named mixes, in the order scripts/bench prints
// them.
func TrafficMixes() []TrafficMix {
	perConn := TSModel{Offsets: "conn"}
	issue13 := Issue13Mix
	return []TrafficMix{
		{Name: "issue13", About: "300 clients, Linux 6.x per-connection timestamp offsets, 5% reuse, 13% lost final ACKs, 12% RSTs",
			Gen: GenConfig{Clients: 300, TS: perConn, Mix: &issue13}},
		{Name: "linux-pair", About: "2000 clients, Linux 4.11-5.x per-address-pair offsets, the default mix",
			Gen: GenConfig{Clients: 2000, TS: TSModel{Offsets: "pair"}}},
		{Name: "clients-100k", About: "100,000 clients, 16 server endpoints, 3000 connections/s",
			Gen: GenConfig{Clients: 100000, Servers: 16, Rate: 3000, TS: perConn}},
		{Name: "http10", About: "one exchange per connection (HTTP/1.0), 5000 clients, 3000 connections/s",
			Gen: GenConfig{Exchanges: [2]int{1, 1}, Clients: 5000, Rate: 3000, TS: perConn}},
		{Name: "keepalive", About: "10-50 exchanges per connection, 1000 clients, 100 connections/s",
			Gen: GenConfig{Exchanges: [2]int{10, 50}, Clients: 1000, Rate: 100, TS: perConn}},
		{Name: "db-per-txn", About: "a connection per transaction (2-4 queries), 20 application hosts, one database, 2000 connections/s",
			Gen: GenConfig{Exchanges: [2]int{2, 4}, Clients: 20, Servers: 1, Rate: 2000, TS: perConn, NATClients: -1}},
		{Name: "scan", About: "a port scan: a SYN to a random port and the RST answering it",
			Flood: &FloodConfig{Kind: PortScan}},
	}
}

// TrafficMixByName returns the mix called name.
func TrafficMixByName(name string) (TrafficMix, error) {
	for _, m := range TrafficMixes() {
		if m.Name == name {
			return m, nil
		}
	}
	return TrafficMix{}, fmt.Errorf("no traffic mix %q", name)
}

// Write writes about packets packets of the mix with the given seed. A
// scan writes two packets a probe (the SYN and the RST).
func (m TrafficMix) Write(w io.Writer, packets int, seed int64) error {
	if m.Flood != nil {
		f := *m.Flood
		f.Packets, f.Seed = max(packets/2, 1), seed
		return Flood(w, f)
	}
	g := m.Gen
	g.Packets, g.Seed = packets, seed
	_, err := Generate(w, g)
	return err
}
