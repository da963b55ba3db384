package reassembly

import (
	"errors"
	"io"
	"sync"

	"github.com/gopacket/gopacket/layers"
)

// With three or more workers the reading goroutine would be the slowest
// stage: reading, decoding, reordering and dispatching every packet on one
// core while the partitions share the others. readDecoding splits it: the
// reading goroutine only reads, copying each packet out of the reader's
// buffer into a batch of packets; decoders, each with a Decoder of its own,
// decode whole batches at once, in parallel; and the goroutine that called
// it takes the decoded batches back in the order they were read, to
// reorder and hand on their segments exactly as readBatches does. Decoding
// a packet depends on nothing but the packet, and the counts are summed
// (NonIP counted in read order), so the segments and counts are the same
// as readBatches gives.

// packetBatch is a batch of packets read and, once ready is signalled,
// what decoding them gave.
type packetBatch struct {
	pkts []Packet // their Data in buf
	buf  []byte
	segs []Segment // the TCP segments among pkts, in order
	n    Counts    // the kinds of pkts, NonIP aside
	// nonIP is the EtherType of each frame that NonIPCounts counts, in
	// order: counted one by one on the reading side, they fill its table
	// in the order the EtherTypes were met, as on one Decoder.
	nonIP []layers.EthernetType
	// ready is signalled when segs and n are filled.
	ready chan struct{}
}

// packetBatchLen and packetBatchBytes bound a packet batch: a batch of
// large frames is handed over before its packets' bytes outgrow the
// buffer (a single frame larger than it grows the buffer).
const (
	packetBatchLen   = batchSize
	packetBatchBytes = 128 << 10
)

// packetBatches is how many packet batches may be on their way: read,
// being decoded or decoded and not yet taken back. The reorder buffer and
// the epochs behind them hold more: these only keep the decoders busy,
// and each costs memory (about 320 kB).
const packetBatches = 8

// decoders is how many goroutines decode for a run of w workers (three or
// more): decoding costs a tenth of tracking a packet, whose partitions
// have the other workers, so one decoder for every three of them keeps
// up.
func decoders(w int) int { return max(1, (w-1)/3) }

// readDecoding is readBatches with the decoding done by decoders helper
// goroutines, which are told to stop before it returns.
func readDecoding(src *Source, cfg Config, helpers int, first []Segment, send func([]Segment) []Segment) (Counts, error) {
	free := make(chan *packetBatch, packetBatches)
	for i := 0; i < packetBatches; i++ {
		free <- &packetBatch{
			pkts:  make([]Packet, 0, packetBatchLen),
			buf:   make([]byte, 0, packetBatchBytes),
			segs:  make([]Segment, 0, packetBatchLen),
			ready: make(chan struct{}, 1),
		}
	}
	work := make(chan *packetBatch, packetBatches)
	order := make(chan *packetBatch, packetBatches)
	var wg sync.WaitGroup
	for i := 0; i < helpers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := NewDecoder()
			for b := range work {
				b.decode(dec)
				b.ready <- struct{}{}
			}
		}()
	}
	var (
		read Counts
		err  error
	)
	go func() {
		read, err = readPackets(src, cfg, free, func(b *packetBatch) {
			work <- b
			order <- b
		})
		close(work)
		close(order)
	}()

	var n Counts
	ro := newReorder(cfg.ReorderWindow, first, send)
	for b := range order {
		<-b.ready
		for i := range b.segs {
			*ro.slot() = b.segs[i]
			ro.commit()
		}
		n.add(&b.n)
		for _, et := range b.nonIP {
			n.NonIP.add(et)
		}
		free <- b
	}
	ro.drain()
	wg.Wait()
	n.Packets, n.Filtered = read.Packets, read.Filtered
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// readPackets reads every packet of src into batches taken from free,
// handing each on once full, and counts the packets read and filtered.
func readPackets(src *Source, cfg Config, free chan *packetBatch, send func(*packetBatch)) (Counts, error) {
	var (
		n   Counts
		p   Packet
		err error
	)
	b := <-free
	b.pkts, b.buf = b.pkts[:0], b.buf[:0]
	for {
		if err = nextPacket(src, cfg, &p, &n); err != nil {
			break
		}
		if len(b.pkts) == cap(b.pkts) || len(b.pkts) > 0 && len(b.buf)+len(p.Data) > cap(b.buf) {
			send(b)
			b = <-free
			b.pkts, b.buf = b.pkts[:0], b.buf[:0]
		}
		// No packet of the batch points into buf before it grows.
		at := len(b.buf)
		b.buf = append(b.buf, p.Data...)
		p.Data = b.buf[at:len(b.buf):len(b.buf)]
		b.pkts = append(b.pkts, p)
	}
	if len(b.pkts) > 0 {
		send(b)
	}
	return n, err
}

// decode decodes the batch's packets with dec into segs and n.
func (b *packetBatch) decode(dec *Decoder) {
	b.segs, b.n, b.nonIP = b.segs[:0], Counts{}, b.nonIP[:0]
	for i := range b.pkts {
		b.segs = append(b.segs, Segment{})
		switch dec.Decode(&b.pkts[i], &b.segs[len(b.segs)-1]) {
		case KindTCP:
			b.n.TCP++
			continue
		case KindNonTCP:
			b.n.NonTCP++
		case KindFragment:
			b.n.Fragments++
		default:
			b.n.Truncated++
		}
		b.segs = b.segs[:len(b.segs)-1]
		// dec's table is emptied after every frame it counts, so that it
		// names the frame's EtherType.
		if dec.nonIP.Types > 0 {
			b.nonIP = append(b.nonIP, dec.nonIP.ByType[0].EtherType)
			dec.nonIP = NonIPCounts{}
		}
	}
}

// add adds the decoding counts of m, for the packets after those of n.
func (n *Counts) add(m *Counts) {
	n.TCP += m.TCP
	n.NonTCP += m.NonTCP
	n.Fragments += m.Fragments
	n.Truncated += m.Truncated
}
