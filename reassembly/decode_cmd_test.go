package reassembly

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// cmdHeader is a Cisco MetaData header after its EtherType: version 1,
// length 1, option SGT (length 0, type 1), the SGT, and the EtherType of
// what follows (the layout of Wireshark's packet-cisco-metadata.c).
func cmdHeader(sgt uint16, next layers.EthernetType) []byte {
	b := []byte{1, 1, 0, 1, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[4:], sgt)
	binary.BigEndian.PutUint16(b[6:], uint16(next))
	return b
}

// TestDecodeCiscoMetaData checks that TCP behind a TrustSec SGT header is
// decoded, on Ethernet, behind 802.1Q and on Linux cooked captures, that a
// header cut short is truncated, and that what the header carries when it
// is not IP is counted by its EtherType.
func TestDecodeCiscoMetaData(t *testing.T) {
	ip4 := ipv4TCP(t, "10.0.0.1", "10.0.0.2", tcpTS(), make([]byte, 100))
	ip6 := ipv6Packet(t, "2001:db8::1", "2001:db8::2", layers.IPProtocolTCP, rawTCP(nil))
	cmd := EtherTypeCiscoMetaData
	tests := []struct {
		name  string
		lt    layers.LinkType
		data  []byte
		kind  Kind
		src   string
		nonIP layers.EthernetType // counted as non-IP, 0: none
	}{
		{"ethernet-ipv4", layers.LinkTypeEthernet, ether(cmd, append(cmdHeader(100, layers.EthernetTypeIPv4), ip4...)), KindTCP, "10.0.0.1", 0},
		{"ethernet-ipv6", layers.LinkTypeEthernet, ether(cmd, append(cmdHeader(100, layers.EthernetTypeIPv6), ip6...)), KindTCP, "2001:db8::1", 0},
		{"vlan", layers.LinkTypeEthernet, ether(layers.EthernetTypeDot1Q, append(vlanTag(5, cmd), append(cmdHeader(2, layers.EthernetTypeIPv4), ip4...)...)), KindTCP, "10.0.0.1", 0},
		{"cmd-then-vlan", layers.LinkTypeEthernet, ether(cmd, append(cmdHeader(2, layers.EthernetTypeDot1Q), append(vlanTag(5, layers.EthernetTypeIPv4), ip4...)...)), KindTCP, "10.0.0.1", 0},
		{"sll", layers.LinkTypeLinuxSLL, sll(cmd, append(cmdHeader(3, layers.EthernetTypeIPv4), ip4...)), KindTCP, "10.0.0.1", 0},
		{"cut-short", layers.LinkTypeEthernet, ether(cmd, cmdHeader(3, layers.EthernetTypeIPv4)[:5]), KindTruncated, "", 0},
		{"carries-arp", layers.LinkTypeEthernet, ether(cmd, append(cmdHeader(3, layers.EthernetTypeARP), make([]byte, 28)...)), KindNonTCP, "", layers.EthernetTypeARP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder()
			p := Packet{LinkType: tt.lt, Data: tt.data, Length: len(tt.data)}
			var seg Segment
			if k := d.Decode(&p, &seg); k != tt.kind {
				t.Fatalf("kind %v, want %v", k, tt.kind)
			}
			if tt.kind == KindTCP && (seg.Src() != netip.MustParseAddr(tt.src) || seg.SrcPort == 0) {
				t.Errorf("segment %+v, want from %s", seg, tt.src)
			}
			n := d.NonIP()
			if tt.nonIP == 0 && n.Total() != 0 || tt.nonIP != 0 && (n.Types != 1 || n.ByType[0] != EtherTypeCount{tt.nonIP, 1}) {
				t.Errorf("non-IP counts %+v, want %v", n, tt.nonIP)
			}
		})
	}
}

// TestNonIPCounts checks the fixed table: the first EtherTypes each get a
// count, the ones past the table are summed as other, and nothing is lost.
func TestNonIPCounts(t *testing.T) {
	d := NewDecoder()
	var seg Segment
	total := 0
	for et := range 12 {
		for range et + 1 {
			p := Packet{LinkType: layers.LinkTypeEthernet, Data: ether(layers.EthernetType(0x88b0+et), make([]byte, 30))}
			p.Length = len(p.Data)
			if k := d.Decode(&p, &seg); k != KindNonTCP {
				t.Fatalf("EtherType %#x: kind %v", 0x88b0+et, k)
			}
			total++
		}
	}
	n := d.NonIP()
	if n.Types != 8 || n.Total() != total || n.Other != 9+10+11+12 {
		t.Fatalf("counts %+v, want 8 types, %d in all", n, total)
	}
	for i, e := range n.ByType {
		if e.EtherType != layers.EthernetType(0x88b0+i) || e.Frames != i+1 {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}
