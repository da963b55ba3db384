package reassembly

import (
	"runtime"
	"sync"
)

// Run's pipeline. One worker: the calling goroutine reads, decodes and
// feeds the sharded tracker's partitions in sequence (sharded.feed). Two:
// one goroutine reads and decodes into batches of segments and dispatches
// them (the capture-wide events), the calling goroutine feeds them to the
// partitions in sequence and emits the records (whatever emit does: the
// detectors). Three or more: one goroutine reads, decoders decode
// batches of packets in parallel (decode_parallel.go), and another
// takes the decoded batches back in order and dispatches their segments
// into epochs (shard.go), which the calling goroutine and Workers-2
// helpers run through, partition by partition, in parallel; the calling
// goroutine emits each epoch's records while the next one runs.
// The partitions see the very same segments and capture-wide events in
// the very same order whatever the number of goroutines, so the output is
// identical by construction; only the work is spread over the cores.

// progressEvery (plus one) is how many packets pass between calls of
// Config.Progress.
const progressEvery = 1<<16 - 1

// workers is how many goroutines Run uses: Config.Workers, or one per
// core (GOMAXPROCS) when there are two or more.
func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	if n := runtime.GOMAXPROCS(0); n >= 2 {
		return min(n, numParts+1)
	}
	return 1
}

// batchSize is the number of segments handed over at once by
// readPipelined: large enough that the channel costs nothing per packet,
// small enough to stay in cache.
const batchSize = 1024

// segBatches is how many batches may be on their way: the tracker stops
// for a moment every second of capture time to finish the connections that
// are due, and the reader goes on meanwhile.
const segBatches = 16

// decidedBatch is a batch of segments with the capture-wide events at
// them, which the dispatcher decided on the reading goroutine.
type decidedBatch struct {
	segs   []Segment
	events []shardEvent
}

// readPipelined is readSegments in a goroutine of its own, feeding
// batches of segments, keyed by the decoder, to the sharded tracker in
// sequence on the calling goroutine: two workers. The reading goroutine
// also takes the dispatcher's part of sharded.feed (decideBatch), as the
// tracker's goroutine has the most to do; the tracker takes the rest
// (feedDecided).
func readPipelined(src *Source, cfg Config, s *sharded) (Counts, error) {
	full := make(chan *decidedBatch, segBatches)
	empty := make(chan *decidedBatch, segBatches)
	for range segBatches {
		empty <- &decidedBatch{segs: make([]Segment, 0, batchSize)}
	}
	var (
		n   Counts
		err error
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The decoder computed each segment's key, hash and fingerprint
		// already, and wrote the segment into the batch itself.
		cur := <-empty
		n, err = readBatches(src, cfg, cur.segs, func(b []Segment) []Segment {
			if len(b) == 0 {
				return b
			}
			cur.segs, cur.events = b, s.d.decideBatch(b, cur.events[:0])
			full <- cur
			cur = <-empty
			return cur.segs[:0]
		})
		close(full)
	}()
	for b := range full {
		s.feedDecided(b.segs, b.events)
		empty <- b
	}
	wg.Wait()
	return n, err
}

// epochsAhead is how many epochs the reader may fill ahead of the
// partitions.
const epochsAhead = 2

// readParallel reads and decodes with readDecoding in a goroutine of its
// own, dispatching the segments into epochs that the calling goroutine
// and Config.Workers-2 helpers have the partitions run through
// (sharded.step): three or more workers.
func readParallel(src *Source, cfg Config, s *sharded) (Counts, error) {
	full := make(chan *epoch, epochsAhead)
	empty := make(chan *epoch, epochsAhead+1)
	for i := 0; i < epochsAhead+1; i++ {
		empty <- new(epoch)
	}
	var (
		n   Counts
		err error
	)
	go func() {
		ep := <-empty
		ep.reset(1)
		s.d.ep = ep
		n, err = readDecoding(src, cfg, decoders(cfg.workers()), make([]Segment, 0, batchSize), func(b []Segment) []Segment {
			for i := range b {
				if s.d.add(&b[i]) {
					full <- ep
					next := <-empty
					next.reset(ep.end)
					ep = next
					s.d.ep = ep
				}
			}
			return b
		})
		if ep.end > ep.base {
			full <- ep
		}
		close(full)
	}()
	for ep := range full {
		s.step(ep)
		empty <- ep
	}
	return n, err
}
