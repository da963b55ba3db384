package reassembly

import (
	"runtime"
	"sync"
)

// Run's two-stage pipeline: one goroutine reads and decodes packets into
// batches of segments, the calling goroutine tracks them (and runs
// whatever emit does, the detectors). The tracker sees the very same
// segments in the very same order as in one goroutine, so the output is
// identical by construction; only the work is spread over two cores.

// batchSize is the number of segments handed over at once: large enough
// that the channel costs nothing per packet, small enough to stay in cache.
const batchSize = 1024

// segBatches is how many batches may be on their way: the tracker stops
// for a moment every second of capture time to finish the connections that
// are due, and the reader goes on meanwhile.
const segBatches = 16

// progressEvery (plus one) is how many packets pass between calls of
// Config.Progress.
const progressEvery = 1<<16 - 1

// workers is how many goroutines Run uses: Config.Workers, or two when
// there are two cores to run them.
func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	if runtime.GOMAXPROCS(0) >= 2 {
		return 2
	}
	return 1
}

// readParallel is readSegments in a goroutine of its own, feeding batches
// of segments back to feed on the calling goroutine.
func readParallel(src *Source, cfg Config, tr *Tracker) (Counts, error) {
	st := NewStage[Segment](batchSize, segBatches, nil)
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
		n, err = readBatches(src, cfg, st.Batch(), st.Send)
		st.Close(nil)
	}()
	st.Drain(func(b []Segment) {
		for i := range b {
			tr.feed(&b[i], &b[i].key)
		}
	})
	wg.Wait()
	return n, err
}
