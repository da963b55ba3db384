package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// IANA protocol numbers of the transports whose flows have ports.
const (
	ProtoTCP  = 6
	ProtoUDP  = 17
	ProtoSCTP = 132
)

// prefix is the version tag every version 1 ID starts with.
const prefix = "1:"

// V1 is the Community ID of a port-based flow (TCP, UDP, SCTP) with the
// given seed (0 is the one every tool uses by default). The ID does not
// depend on the direction: the endpoint that sorts first, by address bytes
// and then by port, is hashed first. An IPv4-mapped IPv6 address counts as
// IPv4, as the packet carried it.
func V1(seed uint16, proto uint8, src, dst netip.AddrPort) string {
	a, b := src.Addr().Unmap(), dst.Addr().Unmap()
	sp, dp := src.Port(), dst.Port()
	if c := a.Compare(b); c > 0 || c == 0 && sp > dp {
		a, b, sp, dp = b, a, dp, sp
	}
	// seed | saddr | daddr | proto | padding | sport | dport, all in
	// network byte order: at most 2+16+16+1+1+2+2 bytes.
	var buf [40]byte
	msg := binary.BigEndian.AppendUint16(buf[:0], seed)
	msg = appendAddr(msg, a)
	msg = appendAddr(msg, b)
	msg = append(msg, proto, 0)
	msg = binary.BigEndian.AppendUint16(msg, sp)
	msg = binary.BigEndian.AppendUint16(msg, dp)
	sum := sha1.Sum(msg)
	return prefix + base64.StdEncoding.EncodeToString(sum[:])
}

// TCP is the Community ID, seed 0, of a TCP connection.
func TCP(client, server netip.AddrPort) string { return V1(0, ProtoTCP, client, server) }

// appendAddr appends the address in network byte order: 4 bytes for IPv4,
// 16 for IPv6.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}
