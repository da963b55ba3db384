package synth

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/rand"
	"time"
)

// FloodKind is the hostile traffic Flood writes.
type FloodKind int

const (
	// SYNFlood: SYNs with timestamps from random source addresses and
	// ports to one server, none answered.
	SYNFlood FloodKind = iota
	// PortScan: SYNs from one address to random ports of one server, each
	// answered by RST+ACK (a closed port).
	PortScan
)

// FloodConfig describes a flood capture.
type FloodConfig struct {
	Kind    FloodKind
	Packets int     // SYNs to write (a scan writes as many RSTs more)
	Rate    float64 // SYNs per second (default 100000)
	Seed    int64
	// ScanHosts, for a PortScan, scans every port 1..ScanPorts (default
	// 65535) of ScanHosts target addresses, port by port across the hosts
	// as nmap interleaves them, instead of Packets random ports of one:
	// ScanHosts x ScanPorts SYNs.
	ScanHosts, ScanPorts int
}

// Flood writes a classic nanosecond pcap of cfg.Packets SYNs to
// millions of random four-tuples, for tests of bounded memory. Frames are
// built from a template without gopacket, so that millions cost little;
// checksums are left zero.
func Flood(w io.Writer, cfg FloodConfig) error {
	if cfg.Rate <= 0 {
		cfg.Rate = 100000
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xA1B23C4D)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 262144)
	le.PutUint32(hdr[20:], 1) // Ethernet
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	rng := rand.New(rand.NewSource(cfg.Seed))
	server := [4]byte{192, 0, 2, 1}
	scanner := [4]byte{198, 51, 100, 7}
	step := int64(float64(time.Second) / cfg.Rate)
	now := Epoch.UnixNano()
	var rec [16 + 66]byte
	write := func(t int64, src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags byte, ts uint32) error {
		be := binary.BigEndian
		n := 54
		if ts != 0 {
			n = 66
		}
		le.PutUint32(rec[0:], uint32(t/1e9))
		le.PutUint32(rec[4:], uint32(t%1e9))
		le.PutUint32(rec[8:], uint32(n))
		le.PutUint32(rec[12:], uint32(n))
		f := rec[16:]
		copy(f[0:6], []byte{2, 0, 0, 0, 0, 2})
		copy(f[6:12], []byte{2, 0, 0, 0, 0, 1})
		be.PutUint16(f[12:], 0x0800)
		ip := f[14:]
		ip[0], ip[1] = 0x45, 0
		be.PutUint16(ip[2:], uint16(n-14))
		be.PutUint16(ip[4:], uint16(seq))
		be.PutUint16(ip[6:], 0x4000)
		ip[8], ip[9] = 64, 6
		be.PutUint16(ip[10:], 0)
		copy(ip[12:16], src[:])
		copy(ip[16:20], dst[:])
		tcp := ip[20:]
		be.PutUint16(tcp[0:], sport)
		be.PutUint16(tcp[2:], dport)
		be.PutUint32(tcp[4:], seq)
		be.PutUint32(tcp[8:], ack)
		tcp[12] = byte((n-34)/4) << 4
		tcp[13] = flags
		be.PutUint16(tcp[14:], 64240)
		be.PutUint32(tcp[16:], 0)
		if ts != 0 {
			copy(tcp[20:24], []byte{1, 1, 8, 10})
			be.PutUint32(tcp[24:], ts)
			be.PutUint32(tcp[28:], 0)
		}
		_, err := bw.Write(rec[:16+n])
		return err
	}
	n := cfg.Packets
	if cfg.Kind == PortScan && cfg.ScanHosts > 0 {
		if cfg.ScanPorts <= 0 {
			cfg.ScanPorts = 65535
		}
		n = cfg.ScanHosts * cfg.ScanPorts
	}
	for i := 0; i < n; i++ {
		now += step
		seq := rng.Uint32()
		var err error
		switch {
		case cfg.Kind == PortScan && cfg.ScanHosts > 0:
			h := i % cfg.ScanHosts
			target := [4]byte{10, 200, byte(h >> 8), byte(h)}
			sport, dport := uint16(40000+i%20000), uint16(1+i/cfg.ScanHosts)
			if err = write(now, scanner, target, sport, dport, seq, 0, 0x02, 0); err == nil {
				err = write(now+step/2, target, scanner, dport, sport, 0, seq+1, 0x14, 0)
			}
		case cfg.Kind == SYNFlood:
			src := [4]byte{10, byte(rng.Intn(256)), byte(rng.Intn(256)), byte(1 + rng.Intn(254))}
			err = write(now, src, server, uint16(1024+rng.Intn(64511)), 80, seq, 0, 0x02, rng.Uint32()|1)
		case cfg.Kind == PortScan:
			sport, dport := uint16(1024+rng.Intn(64511)), uint16(1+rng.Intn(65535))
			if err = write(now, scanner, server, sport, dport, seq, 0, 0x02, 0); err == nil {
				err = write(now+step/2, server, scanner, dport, sport, 0, seq+1, 0x14, 0)
			}
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}
