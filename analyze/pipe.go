package analyze

import "github.com/twscope/twscope/reassembly"

// pipe runs the detectors (and the caller's per-record function) on a
// goroutine of their own, so that they overlap with connection tracking on
// a second core. Records and watermarks cross in batches of a
// reassembly.Stage, in the order the tracker produced them, so every
// detector sees exactly the sequence it would see without the pipe: the
// result is the same bytes. The tracker hands the records over
// (reassembly.Config.NewRecord) rather than have them copied, and they
// come back with the emptied batches to be filled again.
type pipe struct {
	stage *reassembly.Stage[pipeItem]
	cur   []pipeItem // the batch being filled
	done  chan struct{}
	free  []*reassembly.Record // the tracker's side: records to fill
}

// pipeItem is a record in tracker order, or (rec nil) a watermark.
type pipeItem struct {
	rec *reassembly.Record
	wm  int64
}

const pipeBatchSize = 256

// pipeBatches is how many batches may be on their way: enough for the
// bursts of records that a sweep of the tracker finishes at once (about a
// second's worth of closes), so that the tracker does not wait for the
// detectors while the reader waits for the tracker.
const pipeBatches = 16

func newPipe(observe func(*reassembly.Record), watermark func(int64)) *pipe {
	p := &pipe{done: make(chan struct{})}
	p.stage = reassembly.NewStage(pipeBatchSize, pipeBatches, p.reuse)
	p.cur = p.stage.Batch()
	go func() {
		defer close(p.done)
		p.stage.Drain(func(b []pipeItem) {
			for _, it := range b {
				if it.rec != nil {
					observe(it.rec)
				} else {
					watermark(it.wm)
				}
			}
		})
	}()
	return p
}

// record takes r, handed over by the tracker, into the batch.
func (p *pipe) record(r *reassembly.Record) {
	p.cur = append(p.cur, pipeItem{rec: r})
	if len(p.cur) == pipeBatchSize {
		p.cur = p.stage.Send(p.cur)
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

// watermark is handed over at once, with the records before it: the
// detectors settle their state by it.
func (p *pipe) watermark(t int64) {
	p.cur = p.stage.Send(append(p.cur, pipeItem{wm: t}))
}

// reuse takes back the records of a batch the detectors are done with, to
// fill them again. Records come back in bursts (a sweep finishes many
// connections at once) and are taken one by one; keeping as many as can
// be on their way spares the garbage collector a record per connection.
func (p *pipe) reuse(b []pipeItem) {
	for i := range b {
		if r := b[i].rec; r != nil && len(p.free) < pipeBatches*pipeBatchSize {
			p.free = append(p.free, r)
		}
		b[i].rec = nil
	}
}

// close hands over what is left and waits for the detectors to finish.
func (p *pipe) close() {
	p.stage.Close(p.cur)
	p.cur = nil
	<-p.done
}
