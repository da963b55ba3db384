package reassembly

import (
	"encoding/binary"
	"time"
)

// segKey is what the tracker looks a segment up by: its four-tuple in
// canonical order, which end sent it, the key's hash and the segment's
// fingerprint. The decoder computes it from the raw header bytes, in Run's
// reading goroutine, off the tracker's critical path.
type segKey struct {
	key     flowKey
	srcIsLo bool
	hash    uint64
	fp      uint64 // fingerprint, to recognise a packet captured twice
}

// of computes k for seg from seg's addresses and ports as they are now
// (Tracker.Feed takes segments that may have been made or changed by hand).
func (k *segKey) of(seg *Segment) {
	src, dst := seg.key.key.loAddr, seg.key.key.hiAddr
	if !seg.key.srcIsLo {
		src, dst = dst, src
	}
	k.set(&src, &dst, seg.SrcPort, seg.DstPort)
	k.finish(seg)
}

// set fills in the canonical key of a segment from src to dst (16 bytes
// each, IPv4 mapped): lo is the smaller (address, port).
func (k *segKey) set(src, dst *[16]byte, sport, dport uint16) {
	c := compare16(src, dst)
	if c < 0 || (c == 0 && sport <= dport) {
		k.key, k.srcIsLo = flowKey{*src, *dst, sport, dport}, true
		return
	}
	k.key, k.srcIsLo = flowKey{*dst, *src, dport, sport}, false
}

// set4 is set for IPv4 addresses, given as big-endian words: they order as
// their IPv4-mapped forms do, which share the first 12 bytes.
func (k *segKey) set4(src, dst uint32, sport, dport uint16) {
	k.srcIsLo = src < dst || (src == dst && sport <= dport)
	if !k.srcIsLo {
		src, dst, sport, dport = dst, src, dport, sport
	}
	putMapped4(&k.key.loAddr, src)
	putMapped4(&k.key.hiAddr, dst)
	k.key.loPort, k.key.hiPort = sport, dport
}

// putMapped4 writes the IPv4-mapped IPv6 form (::ffff:a.b.c.d) of the
// IPv4 address a, as netip.Addr.As16 gives it.
func putMapped4(dst *[16]byte, a uint32) {
	binary.LittleEndian.PutUint64(dst[0:8], 0)
	binary.BigEndian.PutUint64(dst[8:16], 0xffff<<32|uint64(a))
}

// finish computes the key's hash and seg's fingerprint, once the key and
// every field of seg are filled in.
func (k *segKey) finish(seg *Segment) {
	k.hash = hashKey(&k.key, flowSeed)
	k.fp = fingerprint(seg, k.srcIsLo)
}

// flowSeed seeds the flow table's hash, differently in every process so
// that a crafted capture cannot aim at its collisions. Nothing depends on
// the table's order, so the output does not change with it.
var flowSeed = uint64(time.Now().UnixNano())*0x9e3779b97f4a7c15 | 1

func hashKey(k *flowKey, seed uint64) uint64 {
	a := binary.LittleEndian.Uint64(k.loAddr[0:8])
	b := binary.LittleEndian.Uint64(k.loAddr[8:16])
	c := binary.LittleEndian.Uint64(k.hiAddr[0:8])
	d := binary.LittleEndian.Uint64(k.hiAddr[8:16])
	e := uint64(k.loPort)<<16 | uint64(k.hiPort)
	h := mix(a^seed, b^0x9e3779b97f4a7c15) ^ mix(c^0xc2b2ae3d27d4eb4f, d^seed) ^ mix(e, 0x165667b19e3779f9)
	return h | 1 // never 0, the empty mark
}

// fingerprint hashes the fields that a copy of seg shares and a
// retransmission does not (FNV-1a over 64-bit words); srcIsLo is the
// direction, which stays the same across incarnations.
func fingerprint(seg *Segment, srcIsLo bool) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(v uint64) { h = (h ^ v) * prime }
	dir := uint64(0)
	if srcIsLo {
		dir = 1
	}
	mix(dir<<56 | uint64(seg.Flags)<<48 | uint64(seg.Window)<<32 | uint64(seg.IPID)<<16 | uint64(seg.Checksum))
	mix(uint64(seg.Seq)<<32 | uint64(seg.Ack))
	mix(uint64(seg.PayloadLen))
	if seg.OptionsKnown && seg.HasTS {
		mix(1<<63 | uint64(seg.TSval)<<32 | uint64(seg.TSecr))
	}
	return h
}
