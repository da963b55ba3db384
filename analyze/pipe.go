package analyze

import "github.com/twscope/twscope/reassembly"

// pipe runs the detectors (and the caller's per-record function) on a
// goroutine of their own, so that they overlap with connection tracking on
// a second core. Records and watermarks cross in batches, in the order the
// tracker produced them, so every detector sees exactly the sequence it
// would see without the pipe: the result is the same bytes.
type pipe struct {
	full, empty chan *pipeBatch
	cur         *pipeBatch
	done        chan struct{}
}

// pipeBatch is records in tracker order, then maybe a watermark.
type pipeBatch struct {
	recs  []reassembly.Record
	wm    int64
	hasWM bool
}

const pipeBatchSize = 256

func newPipe(observe func(*reassembly.Record), watermark func(int64)) *pipe {
	p := &pipe{full: make(chan *pipeBatch, 4), empty: make(chan *pipeBatch, 4), done: make(chan struct{})}
	for i := 0; i < cap(p.empty); i++ {
		p.empty <- &pipeBatch{recs: make([]reassembly.Record, 0, pipeBatchSize)}
	}
	p.cur = <-p.empty
	go func() {
		defer close(p.done)
		for b := range p.full {
			for i := range b.recs {
				observe(&b.recs[i])
			}
			if b.hasWM {
				watermark(b.wm)
			}
			clear(b.recs) // drop references to the records' strings
			b.recs, b.hasWM = b.recs[:0], false
			p.empty <- b
		}
	}()
	return p
}

// record copies r (valid only during the call) into the batch.
func (p *pipe) record(r *reassembly.Record) {
	p.cur.recs = append(p.cur.recs, *r)
	if len(p.cur.recs) == pipeBatchSize {
		p.send()
	}
}

func (p *pipe) watermark(t int64) {
	p.cur.wm, p.cur.hasWM = t, true
	p.send()
}

func (p *pipe) send() {
	p.full <- p.cur
	p.cur = <-p.empty
}

// close hands over what is left and waits for the detectors to finish.
func (p *pipe) close() {
	if len(p.cur.recs) > 0 || p.cur.hasWM {
		p.full <- p.cur
	}
	close(p.full)
	<-p.done
}
