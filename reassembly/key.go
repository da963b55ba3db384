package reassembly

import (
	"encoding/binary"
	"time"
)

// segKey is what the tracker looks a segment up by: its four-tuple in
// canonical order, which end sent it, its partition, the key's hash and
// the segment's fingerprint. The decoder computes it from the raw header
// bytes, in Run's reading goroutine, off the tracker's critical path.
type segKey struct {
	key     flowKey
	srcIsLo bool
	part    uint8 // the sharded tracker's partition (partOf)
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

// set4 is set for the IPv4 addresses of h, the 8 bytes source then
// destination as the header has them. IPv4 addresses order as their
// IPv4-mapped forms do, which share the first 12 bytes, so the (address,
// port) pairs are compared as 48-bit numbers, and swapped without a
// branch: which end sends is a coin toss the branch predictor loses.
func (k *segKey) set4(h []byte, sport, dport uint16) {
	h = h[:8]
	a := uint64(binary.BigEndian.Uint32(h[0:4]))<<16 | uint64(sport)
	b := uint64(binary.BigEndian.Uint32(h[4:8]))<<16 | uint64(dport)
	swap := uint64(int64(b-a) >> 63) // all ones when a > b: the receiver is lo
	x := (a ^ b) & swap
	lo, hi := a^x, b^x
	k.srcIsLo = swap == 0
	// The addresses are written as they are in the header, little-endian
	// words being the bytes in memory order: ::ffff:a.b.c.d.
	ra, rb := binary.LittleEndian.Uint32(h[0:4]), binary.LittleEndian.Uint32(h[4:8])
	rx := (ra ^ rb) & uint32(swap)
	binary.LittleEndian.PutUint64(k.key.loAddr[0:8], 0)
	binary.LittleEndian.PutUint64(k.key.loAddr[8:16], 0xffff0000|uint64(ra^rx)<<32)
	binary.LittleEndian.PutUint64(k.key.hiAddr[0:8], 0)
	binary.LittleEndian.PutUint64(k.key.hiAddr[8:16], 0xffff0000|uint64(rb^rx)<<32)
	k.key.loPort, k.key.hiPort = uint16(lo), uint16(hi)
}

// finish computes the key's partition and hash and seg's fingerprint,
// once the key and every field of seg are filled in.
func (k *segKey) finish(seg *Segment) {
	k.part = uint8(partOf(k))
	k.hash = hashKey(&k.key, flowSeed)
	k.fp = fingerprint(seg, k.srcIsLo)
}

// flowSeed seeds the flow table's hash, differently in every process so
// that a crafted capture cannot aim at its collisions. Nothing depends on
// the table's order, so the output does not change with it.
var flowSeed = uint64(time.Now().UnixNano())*0x9e3779b97f4a7c15 | 1

func hashKey(k *flowKey, seed uint64) uint64 {
	e := uint64(k.loPort)<<16 | uint64(k.hiPort)
	h := hashAddrs(&k.loAddr, &k.hiAddr, seed) ^ mix(e, 0x165667b19e3779f9)
	return h | 1 // never 0, the empty mark
}

// hashAddrs hashes two 16-byte addresses in order: the part of a flow
// key's hash, and the whole of an address-pair clock's.
func hashAddrs(x, y *[16]byte, seed uint64) uint64 {
	a := binary.LittleEndian.Uint64(x[0:8])
	b := binary.LittleEndian.Uint64(x[8:16])
	c := binary.LittleEndian.Uint64(y[0:8])
	d := binary.LittleEndian.Uint64(y[8:16])
	return mix(a^seed, b^0x9e3779b97f4a7c15) ^ mix(c^0xc2b2ae3d27d4eb4f, d^seed)
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
