package reassembly

// Stage hands items from one goroutine to another in batches, in the
// order they were put: the channel costs nothing per item, and the
// consumer sees exactly the sequence the producer made, so a pipeline of
// stages gives the same output as one goroutine. Emptied batches come
// back to the producer to be filled again, with the items the consumer
// saw still in them, so that what the items own (a record to fill again)
// can be taken back instead of allocated anew.
//
// The producer appends to the batch Batch gave it, hands it over with
// Send when full (or at once, for a watermark) and fills the batch Send
// returns; the appending is the producer's own code, inlined in its loop,
// as the stage is passed every packet. It ends with Close. The consumer
// calls Drain, on another goroutine. analyze's pipe hands records to the
// detectors with it; Run's two-worker pipeline hands its segments on the
// same way, with the dispatcher's events beside them (readPipelined).
type Stage[T any] struct {
	full, empty chan []T
	reuse       func([]T)
}

// NewStage returns a stage of depth batches of size items each. reuse,
// when not nil, is given each batch the consumer is done with before the
// producer fills it again.
func NewStage[T any](size, depth int, reuse func([]T)) *Stage[T] {
	s := &Stage[T]{full: make(chan []T, depth), empty: make(chan []T, depth), reuse: reuse}
	for i := 0; i < depth; i++ {
		s.empty <- make([]T, 0, size)
	}
	return s
}

// Batch is the first batch to fill (once: then the batches Send returns).
func (s *Stage[T]) Batch() []T { return <-s.empty }

// Send hands b over, when it holds anything, and returns an emptied batch
// to fill next (b itself when empty).
func (s *Stage[T]) Send(b []T) []T {
	if len(b) == 0 {
		return b
	}
	s.full <- b
	b = <-s.empty
	if s.reuse != nil {
		s.reuse(b)
	}
	return b[:0]
}

// Close hands over b, the last batch, and ends Drain once the consumer has
// seen it.
func (s *Stage[T]) Close(b []T) {
	if len(b) > 0 {
		s.full <- b
	}
	close(s.full)
}

// Drain passes every batch to consume, in order, until Close; a batch is
// reused once consume returns.
func (s *Stage[T]) Drain(consume func([]T)) {
	for b := range s.full {
		consume(b)
		s.empty <- b
	}
}
