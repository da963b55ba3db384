package reassembly

// Stage hands items from one goroutine to another in batches, in the
// order they were put: the channel costs nothing per item, and the
// consumer sees exactly the sequence the producer made, so a pipeline of
// stages gives the same output as one goroutine. Emptied batches come
// back to the producer to be filled again, with the items the consumer
// saw still in them, so that what the items own (a record to fill again)
// can be taken back instead of allocated anew.
//
// The producer calls Next (and Flush), then Close; the consumer calls
// Drain, on another goroutine. Both pipelines use it: Run's reader hands
// segments to the tracker, analyze's pipe hands records to the detectors.
type Stage[T any] struct {
	full, empty chan []T
	cur         []T
	reuse       func([]T)
}

// NewStage returns a stage of depth batches of size items each. reuse,
// when not nil, is given each batch the consumer is done with before the
// producer fills it again.
func NewStage[T any](size, depth int, reuse func([]T)) *Stage[T] {
	s := &Stage[T]{full: make(chan []T, depth), empty: make(chan []T, depth), reuse: reuse}
	for i := 0; i < depth-1; i++ {
		s.empty <- make([]T, 0, size)
	}
	s.cur = make([]T, 0, size)
	return s
}

// Next returns the next item of the batch being filled, to be written in
// place (the whole of it: it holds what it held in an earlier batch); a
// full batch is handed over first.
func (s *Stage[T]) Next() *T {
	if len(s.cur) == cap(s.cur) {
		s.Flush()
	}
	s.cur = s.cur[:len(s.cur)+1]
	return &s.cur[len(s.cur)-1]
}

// Flush hands over the batch being filled now, even if not full (for a
// watermark the consumer is to see without delay), and takes an emptied
// one to fill next.
func (s *Stage[T]) Flush() {
	if len(s.cur) == 0 {
		return
	}
	s.full <- s.cur
	s.cur = <-s.empty
	if s.reuse != nil {
		s.reuse(s.cur)
	}
	s.cur = s.cur[:0] // the items stay until Next gives them to be overwritten
}

// Close hands over what is left and ends Drain once the consumer has seen
// it. The producer must not call Next after Close.
func (s *Stage[T]) Close() {
	if len(s.cur) > 0 {
		s.full <- s.cur
		s.cur = nil
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
