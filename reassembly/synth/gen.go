package synth

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"time"
)

// GenConfig describes a large synthetic capture: many short connections
// from many clients to a few server endpoints, as a busy server's tcpdump
// shows them. Every field has a default, so the zero GenConfig is valid.
type GenConfig struct {
	// Seed makes the capture: the same config gives the same bytes.
	Seed int64
	// Packets is how many packets to write, at least; the last
	// connections started are finished, so a few more may be written.
	Packets int
	// Rate is how many connections start per second (default 1000).
	Rate float64
	// Clients is the number of client IPv4 addresses (default 2000),
	// Servers the number of server endpoints (default 4).
	Clients, Servers int
	// NATClients of the client addresses hide several hosts, each with
	// its own timestamp clock (default 3; negative: none).
	NATClients int
	// Snaplen is the captured length of each frame (default 96, enough
	// for every header; payload beyond it is cut as tcpdump -s does).
	Snaplen int
	// Start is the time of the first packet (default Epoch).
	Start time.Time
	// Mix weighs the kinds of connections (default DefaultMix).
	Mix *Mix
	// TS is the clients' timestamp-offset model (tsmodel.go).
	TS TSModel
	// FrozenClock writes every packet with the time of the first, as a
	// capture whose clock stood still does; the order stays that of the
	// connections' scripts.
	FrozenClock bool
	// Exchanges is the least and the most request/response exchanges of
	// a connection (default 1, 2): 1, 1 is HTTP/1.0 or a database
	// connection per transaction, 10, 50 a keep-alive connection.
	Exchanges [2]int
}

// Mix weighs the kinds of connection the generator writes, in parts of
// the total. Each kind is one incarnation, except Reuse, which writes a
// client-closed incarnation and a second one on the same four-tuple inside
// TIME_WAIT (tcp_tw_reuse: the new ISN is the old next sequence + 65537).
type Mix struct {
	ClientClose, ServerClose, Simultaneous int
	ClientRST, ServerRST                   int
	LostAckReAck, LostAckRST, LostAckGone  int
	HalfClose, Reuse                       int
}

// DefaultMix is mostly clean closes, with a few percent of every problem.
var DefaultMix = Mix{
	ClientClose: 450, ServerClose: 330, Simultaneous: 30,
	ClientRST: 50, ServerRST: 30,
	LostAckReAck: 30, LostAckRST: 10, LostAckGone: 10,
	HalfClose: 5, Reuse: 55,
}

// GenStats is the ground truth of a generated capture: what twscope must
// find in it.
type GenStats struct {
	Packets     int
	Bytes       int64 // file size
	Connections int   // incarnations
	First, Last int64 // Unix ns of the first and last packet

	// Closes by kind as contract.md names them.
	FIN, Simultaneous, RST, Half int
	// Who closed first.
	ClientCloser, ServerCloser int
	// Final ACKs: lost (the passive FIN was sent again) and of those the
	// ones answered by RST (final_ack_rst).
	LostFinalAck, FinalAckRST int
	// Reuses is the incarnations that reuse a four-tuple inside TIME_WAIT.
	Reuses int
	// RecycleDrops counts the SYN transmissions a tcp_tw_recycle server
	// dropped (TSModel.Recycle), RecycleFailed the connection attempts
	// that got no SYN+ACK at all.
	RecycleDrops, RecycleFailed int
}

func (c *GenConfig) defaults() {
	if c.Packets <= 0 {
		c.Packets = 100000
	}
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.Clients <= 0 {
		c.Clients = 2000
	}
	if c.Servers <= 0 {
		c.Servers = 4
	}
	if c.NATClients == 0 {
		c.NATClients = 3
	}
	if c.NATClients < 0 {
		c.NATClients = 0
	}
	if c.Snaplen <= 0 {
		c.Snaplen = 96
	}
	if c.Start.IsZero() {
		c.Start = Epoch
	}
	if c.Exchanges[0] <= 0 {
		c.Exchanges[0] = 1
	}
	if c.Exchanges[1] < c.Exchanges[0] {
		c.Exchanges[1] = max(c.Exchanges[0], 2)
	}
	if c.Mix == nil {
		m := DefaultMix
		c.Mix = &m
	}
}

// Connection kinds.
const (
	kClientClose = iota
	kServerClose
	kSimultaneous
	kClientRST
	kServerRST
	kLostAckReAck
	kLostAckRST
	kLostAckGone
	kHalfClose
	kReuse
	nKinds
)

// gpkt is one packet of a connection's script.
type gpkt struct {
	t          int64 // Unix ns
	fromClient bool
	flags      uint8
	seq, ack   uint32
	tsval      uint32
	tsecr      uint32
	payload    uint16
}

// gconn is one scripted incarnation waiting in the time-ordered heap.
type gconn struct {
	seq        int // start order, to break ties
	cip, sip   [4]byte
	cport      uint16
	sport      uint16
	pkts       []gpkt
	next       int
	cOff, sOff uint32 // timestamp clock offsets
}

type connHeap []*gconn

func (h connHeap) Len() int { return len(h) }
func (h connHeap) Less(i, j int) bool {
	a, b := h[i].pkts[h[i].next].t, h[j].pkts[h[j].next].t
	if a != b {
		return a < b
	}
	return h[i].seq < h[j].seq
}
func (h connHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *connHeap) Push(x any)   { *h = append(*h, x.(*gconn)) }
func (h *connHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// gen holds the generator's state.
type gen struct {
	cfg      GenConfig
	rng      *rand.Rand
	w        *bufio.Writer
	st       GenStats
	buf      []byte
	ipID     uint16
	ports    []uint16 // next ephemeral port per client
	kinds    [nKinds]int
	total    int
	connSeq  int
	free     [][]gpkt
	natHosts int // hosts behind each NAT client
	recycle  map[pairKey]recycleStamp
}

// Generate writes a pcap (Ethernet, IPv4, nanosecond times) of cfg.Packets
// packets or a few more, and returns its ground truth. It streams: memory
// depends on the connections open at once, not on the capture's length.
func Generate(w io.Writer, cfg GenConfig) (GenStats, error) {
	cfg.defaults()
	g := &gen{cfg: cfg, rng: rand.New(rand.NewSource(cfg.Seed)), w: bufio.NewWriterSize(w, 1<<20), natHosts: 3,
		recycle: map[pairKey]recycleStamp{}}
	if cfg.TS.NATHosts > 0 {
		g.natHosts = cfg.TS.NATHosts
	}
	m := cfg.Mix
	g.kinds = [nKinds]int{m.ClientClose, m.ServerClose, m.Simultaneous, m.ClientRST, m.ServerRST,
		m.LostAckReAck, m.LostAckRST, m.LostAckGone, m.HalfClose, m.Reuse}
	for _, k := range g.kinds {
		g.total += k
	}
	if g.total <= 0 {
		return g.st, fmt.Errorf("synth: empty mix")
	}
	g.ports = make([]uint16, cfg.Clients)
	for i := range g.ports {
		g.ports[i] = uint16(32768 + g.rng.Intn(28000))
	}
	g.buf = make([]byte, 16+14+20+32+cfg.Snaplen)

	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b23c4d) // nanosecond pcap
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], uint32(cfg.Snaplen))
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	if _, err := g.w.Write(hdr[:]); err != nil {
		return g.st, err
	}
	g.st.Bytes = 24

	h := &connHeap{}
	gap := int64(1e9 / cfg.Rate)
	nextStart := cfg.Start.UnixNano()
	started := 0 // packets scripted so far
	for {
		// Start every connection due before the next packet.
		for started < cfg.Packets && (h.Len() == 0 || nextStart <= (*h)[0].pkts[(*h)[0].next].t) {
			for _, c := range g.start(nextStart) {
				started += len(c.pkts)
				heap.Push(h, c)
			}
			// Exponential gaps: Poisson arrivals at the configured rate.
			nextStart += int64(g.rng.ExpFloat64()*float64(gap)) + 1
		}
		if h.Len() == 0 {
			break
		}
		c := (*h)[0]
		if err := g.write(c, &c.pkts[c.next]); err != nil {
			return g.st, err
		}
		c.next++
		if c.next == len(c.pkts) {
			heap.Pop(h)
			g.free = append(g.free, c.pkts[:0])
		} else {
			heap.Fix(h, 0)
		}
	}
	return g.st, g.w.Flush()
}

// pickKind draws a connection kind from the mix.
func (g *gen) pickKind() int {
	x := g.rng.Intn(g.total)
	for k, w := range g.kinds {
		if x < w {
			return k
		}
		x -= w
	}
	return kClientClose
}

// end is one side while a script is written.
type end struct {
	seq, ack uint32 // next to send, next expected
	off      uint32 // timestamp clock offset
	tsecr    uint32
}

// script builds a connection's packets with the sequence, acknowledgement
// and timestamp bookkeeping of a real exchange.
type script struct {
	pkts []gpkt
	t    int64
	c, s end
}

func (sc *script) send(fromClient bool, flags uint8, payload int, dt int64) {
	sc.t += dt
	a, b := &sc.s, &sc.c
	if fromClient {
		a, b = &sc.c, &sc.s
	}
	ts := a.off + uint32(sc.t/1e6) // 1000 Hz clock
	p := gpkt{t: sc.t, fromClient: fromClient, flags: flags, seq: a.seq, ack: a.ack, tsval: ts, tsecr: a.tsecr, payload: uint16(payload)}
	if flags&ACK == 0 {
		p.ack = 0
	}
	sc.pkts = append(sc.pkts, p)
	n := uint32(payload)
	if flags&(SYN|FIN) != 0 {
		n++
	}
	if flags&RST == 0 {
		a.seq += n
		b.ack = a.seq
	}
	b.tsecr = ts
}

// resend writes a copy of an earlier packet (a retransmission) at a later time.
func (sc *script) resend(i int, dt int64) {
	sc.t += dt
	p := sc.pkts[i]
	a := &sc.s
	if p.fromClient {
		a = &sc.c
	}
	p.t = sc.t
	p.tsval = a.off + uint32(sc.t/1e6)
	sc.pkts = append(sc.pkts, p)
}

// start scripts the connections beginning at t: one, or two for a reuse.
func (g *gen) start(t int64) []*gconn {
	k := g.pickKind()
	ci := g.rng.Intn(g.cfg.Clients)
	si := g.rng.Intn(g.cfg.Servers)
	port := g.ports[ci]
	g.ports[ci]++
	if g.ports[ci] > 60999 {
		g.ports[ci] = 32768
	}
	c := g.newConn(ci, si, port)
	us := func(lo, hi int) int64 { return int64(lo+g.rng.Intn(hi-lo+1)) * 1000 }
	rtt := us(100, 2000)
	sc := &script{pkts: c.pkts, t: t}
	sc.c = end{seq: g.rng.Uint32(), off: c.cOff}
	sc.s = end{seq: g.rng.Uint32(), off: c.sOff}
	if g.cfg.TS.on() {
		if isn, ok := g.tsOffsets(c, ci, si, t); ok {
			sc.c.seq = isn
		}
		sc.c.off = c.cOff
		pk := pairKey{ci, si / 4}
		if g.cfg.TS.Recycle && g.recycleDrops(pk, c.cOff+uint32(t/1e6), t) && g.scriptDropped(sc, pk) {
			c.pkts = sc.pkts
			return []*gconn{c}
		}
		// When a copy of a dropped SYN passed, the handshake goes on
		// from it: body's SYN is that copy.
		g.body(sc, k, rtt, us)
		if g.cfg.TS.Recycle && k == kServerClose {
			g.recycle[pk] = recycleStamp{ts: sc.c.off + uint32(sc.t/1e6), at: sc.t}
		}
	} else {
		g.body(sc, k, rtt, us)
	}
	c.pkts = sc.pkts
	out := []*gconn{c}
	g.count(k)
	if k == kReuse {
		// The client connects again from the same port inside TIME_WAIT,
		// with the ISN tcp_tw_reuse picks.
		c2 := g.newConn(ci, si, c.cport)
		c2.cOff, c2.sOff = c.cOff, c.sOff
		sc2 := &script{pkts: c2.pkts, t: sc.t + us(1000, 20000)*1000}
		sc2.c = end{seq: sc.c.seq + 65537, off: c.cOff}
		sc2.s = end{seq: g.rng.Uint32(), off: c.sOff}
		g.body(sc2, kClientClose, rtt, us)
		c2.pkts = sc2.pkts
		out = append(out, c2)
		g.count(kClientClose)
		g.st.Reuses++
	}
	return out
}

func (g *gen) newConn(ci, si int, port uint16) *gconn {
	g.connSeq += 2
	c := &gconn{seq: g.connSeq, cport: port, sport: uint16(443 + si%4*1000)}
	c.cip = [4]byte{10, byte(1 + ci>>16), byte(ci >> 8), byte(ci)}
	c.sip = [4]byte{192, 168, 0, byte(1 + si/4)}
	// Timestamp clocks: one per address pair (Linux's per-pair offset),
	// several behind a NAT client.
	c.cOff = hash32(uint32(ci)<<8 | uint32(si/4))
	if ci < g.cfg.NATClients {
		c.cOff = hash32(uint32(ci)<<8 | uint32(si/4) | uint32(1+g.rng.Intn(g.natHosts))<<28)
	}
	c.sOff = hash32(0x5eed0000 | uint32(si/4)<<8 | uint32(ci&0xff))
	if n := len(g.free); n > 0 {
		c.pkts, g.free = g.free[n-1], g.free[:n-1]
	}
	return c
}

func hash32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// body writes handshake, data and the close of kind k.
func (g *gen) body(sc *script, k int, rtt int64, us func(lo, hi int) int64) {
	srv := us(10, 60) // the server's reaction time at the capture point
	sc.send(true, SYN, 0, 0)
	sc.send(false, SYN|ACK, 0, srv)
	sc.send(true, ACK, 0, rtt)
	// Exchanges[0] to Exchanges[1] request/response exchanges.
	lo, hi := g.cfg.Exchanges[0], g.cfg.Exchanges[1]
	for n := lo + g.rng.Intn(hi-lo+1); n > 0; n-- {
		sc.send(true, PSH|ACK, 100+g.rng.Intn(400), us(5, 50))
		sc.send(false, ACK, 0, srv)
		sc.send(false, PSH|ACK, 200+g.rng.Intn(1200), us(100, 3000))
		sc.send(true, ACK, 0, rtt)
	}
	think := us(100, 50000)
	switch k {
	case kClientClose, kReuse:
		sc.send(true, FIN|ACK, 0, think)
		sc.send(false, FIN|ACK, 0, srv)
		sc.send(true, ACK, 0, rtt)
	case kServerClose:
		sc.send(false, FIN|ACK, 0, think)
		sc.send(true, FIN|ACK, 0, rtt)
		sc.send(false, ACK, 0, srv)
	case kSimultaneous:
		// Both FINs leave before either arrives: neither acknowledges
		// the other.
		sc.send(true, FIN|ACK, 0, think)
		sc.s.ack-- // the server has not seen the client's FIN yet
		sc.send(false, FIN|ACK, 0, srv)
		sc.s.ack++
		sc.send(true, ACK, 0, rtt)
		sc.send(false, ACK, 0, srv)
	case kClientRST:
		sc.send(true, RST|ACK, 0, think)
	case kServerRST:
		sc.send(false, RST|ACK, 0, think)
	case kLostAckReAck, kLostAckRST, kLostAckGone:
		sc.send(true, FIN|ACK, 0, think)
		sc.send(false, FIN|ACK, 0, srv)
		fin := len(sc.pkts) - 1
		if k != kLostAckGone {
			sc.send(true, ACK, 0, rtt) // lost after the capture point
		}
		sc.resend(fin, 200*1e6+rtt)
		if k == kLostAckRST {
			// The client kept no TIME_WAIT: a bare RST answers.
			sc.t += rtt
			sc.pkts = append(sc.pkts, gpkt{t: sc.t, fromClient: true, flags: RST, seq: sc.c.seq,
				tsval: sc.c.off + uint32(sc.t/1e6), tsecr: sc.c.tsecr})
		} else {
			sc.send(true, ACK, 0, rtt)
		}
	case kHalfClose:
		// The client closes; the server acknowledges and never closes
		// (CLOSE_WAIT) until the capture ends.
		sc.send(true, FIN|ACK, 0, think)
		sc.send(false, ACK, 0, srv)
	}
}

// count adds a finished script's ground truth.
func (g *gen) count(k int) {
	g.st.Connections++
	switch k {
	case kClientClose, kLostAckReAck, kLostAckGone:
		g.st.FIN++
		g.st.ClientCloser++
	case kServerClose:
		g.st.FIN++
		g.st.ServerCloser++
	case kSimultaneous:
		g.st.Simultaneous++
	case kClientRST, kServerRST:
		g.st.RST++
	case kLostAckRST:
		g.st.FIN++ // both FINs came before the RST
		g.st.ClientCloser++
	case kHalfClose:
		g.st.Half++
		g.st.ClientCloser++
	case kReuse:
		g.st.FIN++
		g.st.ClientCloser++
	}
	switch k {
	case kLostAckReAck, kLostAckGone:
		g.st.LostFinalAck++
	case kLostAckRST:
		g.st.LostFinalAck++
		g.st.FinalAckRST++
	}
}

// write appends one packet record to the file.
func (g *gen) write(c *gconn, p *gpkt) error {
	b := g.buf
	const hl = 14 + 20 + 32
	wire := hl + int(p.payload)
	capLen := min(wire, g.cfg.Snaplen)
	t := p.t
	if g.cfg.FrozenClock {
		t = g.cfg.Start.UnixNano()
	}
	sec, nsec := t/1e9, t%1e9
	binary.LittleEndian.PutUint32(b[0:], uint32(sec))
	binary.LittleEndian.PutUint32(b[4:], uint32(nsec))
	binary.LittleEndian.PutUint32(b[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(b[12:], uint32(wire))
	e := b[16:]
	copy(e[0:6], macB[:])
	copy(e[6:12], macA[:])
	if !p.fromClient {
		copy(e[0:6], macA[:])
		copy(e[6:12], macB[:])
	}
	e[12], e[13] = 0x08, 0x00
	ip := e[14:]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+32+int(p.payload)))
	g.ipID++
	binary.BigEndian.PutUint16(ip[4:], g.ipID)
	ip[6], ip[7] = 0x40, 0
	ip[8], ip[9] = 64, 6
	ip[10], ip[11] = 0, 0
	src, dst := c.cip, c.sip
	sp, dp := c.cport, c.sport
	if !p.fromClient {
		src, dst, sp, dp = dst, src, dp, sp
	}
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sp)
	binary.BigEndian.PutUint16(tcp[2:], dp)
	binary.BigEndian.PutUint32(tcp[4:], p.seq)
	binary.BigEndian.PutUint32(tcp[8:], p.ack)
	tcp[12] = 8 << 4
	tcp[13] = p.flags
	binary.BigEndian.PutUint16(tcp[14:], 64240)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0 // checksum left out (offloaded)
	tcp[20], tcp[21], tcp[22], tcp[23] = 1, 1, 8, 10
	binary.BigEndian.PutUint32(tcp[24:], p.tsval)
	binary.BigEndian.PutUint32(tcp[28:], p.tsecr)
	n := 16 + capLen
	clear(b[16+hl : n])
	if _, err := g.w.Write(b[:n]); err != nil {
		return err
	}
	if g.st.Packets == 0 {
		g.st.First = p.t
	}
	g.st.Last = p.t
	g.st.Packets++
	g.st.Bytes += int64(n)
	return nil
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
