package analyze

import "github.com/twscope/twscope/reassembly"

// pipe runs the detectors (and the caller's per-record function) on a
// goroutine of their own, so that they overlap with connection tracking on
// a second core. Records and watermarks cross in batches, in the order the
// tracker produced them, so every detector sees exactly the sequence it
// would see without the pipe: the result is the same bytes. The tracker
// hands the records over (reassembly.Config.NewRecord) rather than have
// them copied, and they come back with the emptied batches to be filled
// again.
type pipe struct {
	full, empty chan *pipeBatch
	cur         *pipeBatch
	done        chan struct{}
	free        []*reassembly.Record // the tracker's side: records to fill
}

// pipeBatch is records in tracker order, then maybe a watermark.
type pipeBatch struct {
	recs  []*reassembly.Record
	wm    int64
	hasWM bool
}

const pipeBatchSize = 256

// pipeBatches is how many batches may be on their way: enough for the
// bursts of records that a sweep of the tracker finishes at once (about a
// second's worth of closes), so that the tracker does not wait for the
// detectors while the reader waits for the tracker.
const pipeBatches = 16

func newPipe(observe func(*reassembly.Record), watermark func(int64)) *pipe {
	p := &pipe{full: make(chan *pipeBatch, pipeBatches), empty: make(chan *pipeBatch, pipeBatches), done: make(chan struct{})}
	for i := 0; i < cap(p.empty); i++ {
		p.empty <- &pipeBatch{recs: make([]*reassembly.Record, 0, pipeBatchSize)}
	}
	p.cur = <-p.empty
	go func() {
		defer close(p.done)
		for b := range p.full {
			for _, r := range b.recs {
				observe(r)
			}
			if b.hasWM {
				watermark(b.wm)
			}
			b.hasWM = false
			p.empty <- b // with its records, for newRecord
		}
	}()
	return p
}

// record takes r, handed over by the tracker, into the batch.
func (p *pipe) record(r *reassembly.Record) {
	p.cur.recs = append(p.cur.recs, r)
	if len(p.cur.recs) == pipeBatchSize {
		p.send()
	}
}

// newRecord gives the tracker a record to fill: one the detectors are
// done with, or a new one.
func (p *pipe) newRecord() *reassembly.Record {
	if n := len(p.free); n > 0 {
		r := p.free[n-1]
		p.free = p.free[:n-1]
		return r
	}
	return new(reassembly.Record)
}

func (p *pipe) watermark(t int64) {
	p.cur.wm, p.cur.hasWM = t, true
	p.send()
}

func (p *pipe) send() {
	p.full <- p.cur
	p.cur = <-p.empty
	// The detectors are done with the batch's records: fill them again.
	// Records come back in bursts (a sweep finishes many connections at
	// once) and are taken one by one; keeping as many as can be on their
	// way spares the garbage collector a record per connection.
	for i, r := range p.cur.recs {
		if len(p.free) < pipeBatches*pipeBatchSize {
			p.free = append(p.free, r)
		}
		p.cur.recs[i] = nil
	}
	p.cur.recs = p.cur.recs[:0]
}

// close hands over what is left and waits for the detectors to finish.
func (p *pipe) close() {
	if len(p.cur.recs) > 0 || p.cur.hasWM {
		p.full <- p.cur
	}
	close(p.full)
	<-p.done
}
