package synth

// Timestamp-offset models for Generate (domain.md 5). The zero TSModel
// keeps the generator's historical behaviour (per-address-pair offsets,
// random ISNs, GenConfig.NATClients addresses with three hosts behind).

// Offset models a generated client stack draws its TSval offsets by.
const (
	// OffsetsPerPair is Linux 4.11 to 5.x: one random offset per
	// (source, destination) address pair, so one host's TSvals to one
	// server lie on one line whatever the source port.
	OffsetsPerPair = "pair"
	// OffsetsPerConn is Linux 6.x: one offset per four-tuple, kept by its
	// later incarnations.
	OffsetsPerConn = "conn"
)

// TSModel says how the generated clients stamp their segments.
type TSModel struct {
	// Offsets is OffsetsPerPair (default) or OffsetsPerConn.
	Offsets string
	// NATHosts is how many hosts hide behind each of the
	// GenConfig.NATClients addresses (default 3).
	NATHosts int
	// FixedPorts, when > 0, makes every host (behind a NAT or not) use
	// only this many source ports of its own, so that its four-tuples
	// have later incarnations (as a client binding fixed ports does).
	FixedPorts int
	// NATRemap makes the NAT pick a new public port for every
	// connection (MASQUERADE remapping ports that collide): one pre-NAT
	// four-tuple's incarnations leave under different public ports.
	NATRemap bool
	// LinuxISN gives the clients Linux's ISNs (RFC 6528: a hash of the
	// pre-NAT four-tuple plus a clock ticking every 64 ns) instead of
	// random ones; the NAT does not change them. Per-connection offsets
	// are a Linux stack's, so OffsetsPerConn implies it.
	LinuxISN bool
	// Recycle makes the servers behave as Linux before 4.12 with
	// net.ipv4.tcp_tw_recycle=1: a server that closed a connection first
	// (and so held it in TIME_WAIT) remembers the client's last TSval per
	// client IP for 60 s, and silently drops a SYN from that IP whose
	// TSval is behind it by more than 1. The client sends the SYN again
	// at 1, 2 and 4 s (each copy with its clock's TSval then) and gives up.
	Recycle bool
}

// recycleStamp is what a tcp_tw_recycle server remembers of a peer.
type recycleStamp struct {
	ts uint32
	at int64
}

// pairKey names a (client address index, server address index) pair.
type pairKey struct{ ci, sip int }

// tsModelOn says whether the model changes anything at all.
func (m *TSModel) on() bool { return *m != TSModel{} }

// host is which host behind client address ci a new connection comes
// from, and the pre-NAT source port it uses.
func (g *gen) tsHost(ci int, public uint16) (host int, port uint16) {
	m := &g.cfg.TS
	if ci < g.cfg.NATClients {
		host = 1 + g.rng.Intn(g.natHosts)
	}
	port = public
	if m.FixedPorts > 0 {
		port = uint16(40000 + host*100 + g.rng.Intn(m.FixedPorts))
	}
	return host, port
}

// tsOffsets sets a new connection's client clock offset and ISN under the
// model, and its public source port.
func (g *gen) tsOffsets(c *gconn, ci, si int, t int64) (isn uint32, linux bool) {
	m := &g.cfg.TS
	host, pre := g.tsHost(ci, c.cport)
	sip := si / 4
	switch m.Offsets {
	case OffsetsPerConn:
		c.cOff = hash32(hash32(uint32(ci)<<8|uint32(host)) ^ uint32(sip)<<20 ^ uint32(pre)<<4 ^ uint32(c.sport))
	default:
		c.cOff = hash32(uint32(ci)<<8 | uint32(sip) | uint32(host)<<28)
		if host == 0 {
			c.cOff = hash32(uint32(ci)<<8 | uint32(sip))
		}
	}
	if !m.NATRemap || ci >= g.cfg.NATClients {
		c.cport = pre
	}
	if m.LinuxISN || m.Offsets == OffsetsPerConn {
		h := hash32(hash32(uint32(ci)<<8|uint32(host))^uint32(pre)<<16^uint32(c.sport)) ^ uint32(sip)*0x9e3779b9
		return h + uint32(t/64), true
	}
	return 0, false
}

// recycleDrops says whether a tcp_tw_recycle server drops a SYN with
// TSval ts at t from the pair, as Linux's tcp_peer_is_proven did.
func (g *gen) recycleDrops(k pairKey, ts uint32, t int64) bool {
	r, ok := g.recycle[k]
	return ok && t-r.at < 60e9 && t >= r.at && int32(r.ts-ts) > 1
}

// scriptDropped writes a SYN that a tcp_tw_recycle server drops, and its
// copies at 1, 2 and 4 s, each dropped too while still behind; it returns
// false once a copy passes the check (the connection then goes on from
// that copy, as the caller writes it).
func (g *gen) scriptDropped(sc *script, k pairKey) bool {
	sc.send(true, SYN, 0, 0)
	sc.c.seq-- // the copies carry the same ISN
	for _, wait := range []int64{1e9, 2e9, 4e9} {
		g.st.RecycleDrops++
		sc.t += wait
		if !g.recycleDrops(k, sc.c.off+uint32(sc.t/1e6), sc.t) {
			return false
		}
		sc.resend(0, 0)
	}
	g.st.RecycleDrops++
	g.st.RecycleFailed++
	return true
}
