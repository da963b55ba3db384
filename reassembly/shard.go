package reassembly

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// The sharded tracker (Run's): numParts Trackers, each the whole tracker
// for the address pairs that hash to it, run on as many cores as
// Config.Workers gives, with output that is the same bytes for any worker
// count and, unless a bound is hit, the same as one Tracker fed every
// segment (doc.go says why; the pieces are here).
//
// A dispatcher takes the segments in capture order and decides what the
// single tracker decides for the capture as a whole (decide): each
// segment's index (TrackerStats.Segments), the running time and its jumps
// (timejump.go), the sweep every second of capture time and the linger
// sweep every lingerSweepEvery segments. Every partition applies those
// events at the same position in the stream as the single tracker does,
// and its own segments between them (Tracker.track).
//
// In sequence (feed, one or two workers) each segment goes to its
// partition as it comes, IDs are counted as incarnations open, and the
// records come out at once; a sweep's, from all partitions, merged by ID.
// With two workers the dispatcher runs on the reading goroutine, a batch
// at a time (decideBatch), and the tracker's goroutine does the rest
// (feedDecided).
// In parallel (three or more) the dispatcher, on the reading goroutine,
// cuts the stream into epochs of epochLen segments, each with one list of
// segments per partition and the list of events. The partitions of an
// epoch run in parallel holding provisional IDs; at its end the
// coordinator (Run's goroutine) ranks the openings (collect), the
// partitions put the final IDs in place before the next epoch (patch:
// the live incarnations, the half-open queue, the clocks and four-tuple
// summaries that copied them), and the coordinator emits the epoch's
// records, merged into the single tracker's order (position, phase, ID)
// and given their final IDs, while the next epoch runs. Either way the
// bounds are checked for the partitions together at every epochLen-th
// segment (checkBounds, bound), so the two give the same records.

// numParts is the number of partitions: a constant, not the worker count,
// so that what the partitions hold, and so the output, is the same
// whatever the number of goroutines that run them.
const numParts = 16

// epochLen is the number of segments in an epoch: what the partitions of
// one step work through before the coordinator numbers their openings.
const epochLen = 4096

// provBase marks a provisional connection ID: provBase plus the index of
// the segment that opened the incarnation. Provisional IDs are above every
// final one and increase in the order incarnations open, as the final IDs
// do, so the tracker's sorts by ID (finishAll, Flush) come out the same
// with either; at each epoch's end they are replaced by the final ID, the
// rank of the opening among all openings of the capture.
const provBase = math.MaxInt>>1 + 1

// Capture-wide events at one position of the segment stream, in the order
// the single tracker handles them in feed.
const (
	evJump   uint8 = 1 << iota // the segment's time jumped (checkTime)
	evRetime                   // the jump before is confirmed (retimeJumped)
	evSweep                    // a second of capture time passed (sweep)
	evLinger                   // lingerSweepEvery segments passed (sweepLinger)
)

// Phases of one position, in the single tracker's order; records of one
// phase finished by a sweep come out in ID order.
const (
	phaseBound     uint8 = iota // the memory bounds at an epoch's start
	phaseSweep                  // sweep
	phaseWatermark              // the watermark after the sweep
	phaseLinger                 // sweepLinger
	phaseSegment                // the segment itself
	phaseFlush                  // Flush, at the end
)

type shardEvent struct {
	pos       int   // the segment's index, from 1
	now       int64 // the capture's time after it
	what      uint8
	jumpTime  int64
	jumpFrame Frame
}

// shardItem is a segment, keyed by the decoder, with its index and the
// capture's time after it.
type shardItem struct {
	seg Segment
	pos int
	now int64
}

// epoch is a run of epochLen segments, split by partition.
type epoch struct {
	base, end int   // indices of the segments: [base, end)
	now       int64 // the capture's time after the last
	parts     [numParts][]shardItem
	events    []shardEvent
}

func (e *epoch) reset(base int) {
	e.base, e.end = base, base
	for i := range e.parts {
		e.parts[i] = e.parts[i][:0]
	}
	e.events = e.events[:0]
}

// partOf is the partition of a segment of key k: a hash of its unordered
// address pair (the key's addresses, which are in order), fixed (not
// seeded) so that the partitions hold the same whatever the run. Both
// directions of a four-tuple, all its incarnations and both (source,
// destination) clocks of the pair (domain.md 5) are in one partition.
func partOf(k *segKey) int {
	a, b := &k.key.loAddr, &k.key.hiAddr
	h := (binary.LittleEndian.Uint64(a[8:]) ^ binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	h ^= (binary.LittleEndian.Uint64(b[8:]) ^ binary.LittleEndian.Uint64(b[:8])*0xc2b2ae3d27d4eb4f) * 0x94d049bb133111eb
	h ^= h >> 31
	h *= 0xff51afd7ed558ccd
	return int(h >> (64 - 4)) // numParts == 16
}

// dispatcher decides the capture-wide steps of feed for each segment and
// puts it in its partition's list.
type dispatcher struct {
	g  Tracker // its clock, sweep and linger state and TimeJumps only
	ep *epoch
}

// add dispatches seg and reports whether the epoch is full.
func (d *dispatcher) add(seg *Segment) bool {
	pos, what := d.decide(seg)
	g := &d.g
	ep := d.ep
	if what != 0 {
		ep.events = append(ep.events, shardEvent{pos, g.now, what, g.jumpTime, g.jumpFrame})
	}
	// Filled in place: a segment item is large, and a copy on the way
	// costs as much as the rest of the dispatching.
	i := seg.key.part
	ep.parts[i] = append(ep.parts[i], shardItem{})
	it := &ep.parts[i][len(ep.parts[i])-1]
	it.seg, it.pos, it.now = *seg, pos, g.now
	ep.end, ep.now = pos+1, g.now
	return ep.end-ep.base == epochLen
}

// decide takes feed's capture-wide steps for seg: its index, its time
// (checkTime may take it at the running time), and the events at it.
func (d *dispatcher) decide(seg *Segment) (pos int, what uint8) {
	g := &d.g
	g.stats.Segments++
	pos = g.stats.Segments
	jumps, clock := g.stats.TimeJumpCount, g.clock
	g.checkTime(seg)
	if g.stats.TimeJumpCount != jumps {
		what = evJump
	} else if dt := seg.Time - clock; pos > 1 && (dt > maxTimeJump || dt < -maxTimeJump) {
		// Neither near the running time nor a new jump: the capture
		// moved to the jump's time (checkTime).
		what = evRetime
	}
	if seg.Time > g.now {
		g.now = seg.Time
	}
	if g.now-g.lastSweep >= sweepEvery {
		g.lastSweep = g.now
		what |= evSweep
	}
	if pos >= g.live.nextLinger {
		g.live.nextLinger = pos + lingerSweepEvery
		what |= evLinger
	}
	return pos, what
}

// part is one partition: a Tracker and what the coordinator needs of it.
type part struct {
	t       *Tracker
	pos     int // of the segment or event being handled
	phase   uint8
	jumpPos int // of the last time jump
	out     []shardOut
	opens   []opening  // this epoch's openings
	refs    []int32    // conns (in t.conns) that copied a provisional ID this epoch
	pool    []*Record  // records to fill
	seqID   *int       // in sequence (sharded.feed), the count of openings
	shared  *[]*Record // in sequence, the pool of them all
	// keep* are the bounds to apply at the next epoch's start (-1: none).
	keepHalf, keepTuples, keepClocks int
}

// opening is an incarnation opened in the current epoch, with what finds
// the places its provisional ID may have been copied to.
type opening struct {
	id  int
	ref int32 // the conn, in Tracker.conns
	h   uint64
	key flowKey
	ck  clockKey
}

// shardOut is a record (or, rec nil, a watermark) with where the single
// tracker would have emitted it.
type shardOut struct {
	pos   int
	phase uint8
	part  int32
	seq   int32
	sub   int64 // the ID in ID-ordered phases, the watermark's time
	r     *Record
}

func cmpOut(a, b shardOut) int {
	if c := cmp.Compare(a.pos, b.pos); c != 0 {
		return c
	}
	if c := cmp.Compare(a.phase, b.phase); c != 0 {
		return c
	}
	if c := cmp.Compare(a.sub, b.sub); c != 0 {
		return c
	}
	if c := cmp.Compare(a.part, b.part); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// opened notes an opening and returns its provisional ID.
func (p *part) opened(c *conn, h uint64) int {
	if p.seqID != nil {
		*p.seqID++
		return *p.seqID
	}
	id := provBase + p.pos
	p.opens = append(p.opens, opening{id: id, ref: c.ref, h: h, key: c.key, ck: clockKeyOf(c.Client.Addr(), c.Server.Addr())})
	return id
}

func (p *part) emit(r *Record) {
	o := shardOut{pos: p.pos, phase: p.phase, r: r}
	if p.phase != phaseSegment {
		o.sub = int64(r.ID)
	}
	p.out = append(p.out, o)
}

func (p *part) watermark(w int64) {
	p.out = append(p.out, shardOut{pos: p.pos, phase: phaseWatermark, sub: w})
}

func (p *part) newRecord() *Record {
	if p.shared != nil {
		if n := len(*p.shared); n > 0 {
			r := (*p.shared)[n-1]
			*p.shared = (*p.shared)[:n-1]
			return r
		}
		return new(Record)
	}
	if n := len(p.pool); n > 0 {
		r := p.pool[n-1]
		p.pool = p.pool[:n-1]
		return r
	}
	return new(Record)
}

// run works through the partition's segments of an epoch and the
// capture-wide events, each at its position.
func (p *part) run(ep *epoch, idx int) {
	items, evs := ep.parts[idx], ep.events
	i, j := 0, 0
	for {
		if j < len(evs) && (i == len(items) || evs[j].pos <= items[i].pos) {
			p.event(&evs[j])
			j++
			continue
		}
		if i == len(items) {
			return
		}
		it := &items[i]
		i++
		p.segment(&it.seg, &it.seg.key, it.pos, it.now)
	}
}

// segment applies one segment, the pos-th of the capture, after which
// the capture's time is now.
func (p *part) segment(seg *Segment, k *segKey, pos int, now int64) {
	t := p.t
	t.stats.Segments, t.now, p.pos, p.phase = pos, now, pos, phaseSegment
	if t.jumpPending && pos != p.jumpPos {
		t.jumpPending = false
	}
	c := t.track(seg, k)
	// In sequence the IDs are final at once: nothing to patch, and the
	// record's line that holds SYNTS need not be loaded.
	if c != nil && p.seqID == nil && (c.SYNTS.LatestConn >= provBase || c.SYNTS.RecycleConn >= provBase) &&
		(len(p.refs) == 0 || p.refs[len(p.refs)-1] != c.ref) {
		p.refs = append(p.refs, c.ref)
	}
}

// event applies the capture-wide steps of feed at one position.
func (p *part) event(e *shardEvent) {
	t := p.t
	t.stats.Segments, t.now, p.pos = e.pos, e.now, e.pos
	if e.what&evJump != 0 {
		t.jumpPending, t.jumpTime, t.jumpFrame, t.jumpConn = true, e.jumpTime, e.jumpFrame, nil
		p.jumpPos = e.pos
	}
	if e.what&evRetime != 0 {
		t.jumpPending = false
		t.retimeJumped()
	}
	if e.what&evSweep != 0 {
		p.phase = phaseSweep
		t.sweep()
	}
	if e.what&evLinger != 0 {
		p.phase = phaseLinger
		t.sweepLinger()
	}
}

// isLive reports whether c is an incarnation the partition holds.
func (t *Tracker) isLive(c *conn) bool {
	return t.live.has(c)
}

// patch replaces the provisional IDs of an epoch by the final ones,
// wherever the partition holds them: rank[id-provBase-base] is the final
// ID of provisional id.
func (p *part) patch(base int, rank []int) {
	t := p.t
	fix := func(v *int) {
		if *v >= provBase {
			*v = rank[*v-provBase-base]
		}
	}
	ci := SideClient.Index()
	for k := range p.opens {
		o := &p.opens[k]
		f := rank[o.id-provBase-base]
		c := t.conns.at(o.ref)
		same := c.id == o.id // c is still (or, finished, was last) this incarnation
		if same && t.isLive(c) {
			// Its four-tuple has no summary while it lives.
			c.id, c.ID = f, f
			t.live.e[c.ref].id = f
			fix(&c.Prev.ID)
		} else if i, ok := t.tuples.lookup(&o.key, o.h); ok && t.tuples.slab.s[i].ID == o.id {
			t.tuples.slab.s[i].ID = f
		}
		// Only the client's clock holds the ID, written through c's
		// cache (senderClock) or by rememberStamp, which needs the
		// client's timestamps, cached before.
		var clk *ipClock
		switch {
		case same && c.clkGen[ci] == 0:
		case same && c.clkGen[ci] == t.clockGen:
			clk = &t.clocks.s[c.clk[ci]]
		default:
			if i := t.clocks.get(o.ck, false); i >= 0 {
				clk = &t.clocks.s[i]
			}
		}
		if clk != nil {
			if clk.latestConn == o.id {
				clk.latestConn = f
			}
			if clk.recycleConn == o.id {
				clk.recycleConn = f
			}
		}
		if t.jumpConnID == o.id {
			t.jumpConnID = f
		}
	}
	p.opens = p.opens[:0]
	for _, ref := range p.refs {
		if c := t.conns.at(ref); t.isLive(c) {
			fix(&c.SYNTS.LatestConn)
			fix(&c.SYNTS.RecycleConn)
		}
	}
	p.refs = p.refs[:0]
	// The half-open queue is in the order of opening: this epoch's are
	// its tail.
	q := t.half.q
	for k := len(q) - 1; k >= t.half.head && q[k].id >= provBase; k-- {
		q[k].id = rank[q[k].id-provBase-base]
	}
}

// bound applies, at an epoch's start, the bounds the coordinator found
// the partitions over together.
func (p *part) bound(pos int, now int64) {
	t := p.t
	p.pos, p.phase = pos, phaseBound
	t.now = now
	if p.keepHalf >= 0 {
		h := &t.half
		for h.live > p.keepHalf && h.head < len(h.q) {
			e := h.q[h.head]
			h.q[h.head] = halfOpenEntry{}
			h.head++
			ec := t.conns.at(e.ref)
			if ec.id != e.id || !ec.halfOpen {
				continue
			}
			ec.HalfOpenEvicted = true
			t.stats.HalfOpenEvicted++
			t.finish(ec, false)
		}
	}
	if p.keepTuples >= 0 {
		t.stats.TuplesForgotten += t.tuples.prune(p.keepTuples, t.now, t.tupleNeed)
	}
	if p.keepClocks >= 0 {
		t.stats.ClocksForgotten += t.clocks.pruneOldest(p.keepClocks)
		t.clockGen++
	}
	p.keepHalf, p.keepTuples, p.keepClocks = -1, -1, -1
}

// sharded is the coordinator: it runs the partitions of each epoch, numbers
// their openings and emits their records in the single tracker's order.
type sharded struct {
	cfg    Config
	emit   func(*Record)
	parts  [numParts]part
	d      dispatcher
	nextID int

	// The epoch whose records wait to be emitted, with its ranks.
	pendBase int
	pend     []shardOut
	rank     [2][]int
	cur      int // which rank is the pending epoch's

	helpers []chan func()
	wg      sync.WaitGroup
	order   [numParts]int
	back    [numParts][]*Record // records to give back to the partitions
	started bool
	endNow  int64
	free    []*Record // in sequence, the records to fill again
	keys    []outKey  // in sequence, emitAll's
	ahead   []*Record // in sequence, the consumer's records taken ahead
	sink    uint64    // newRecord's loads
	// feedDecided's position and capture time, after the last segment.
	fedPos int
	fedNow int64
}

// newRecord is the consumer's next record (Config.NewRecord), for a
// partition in sequence. It takes recordsAhead at a time and loads the
// first line of each: a record the consumer gave back is in the cache of
// its core, or none, and each was a miss that held up the tracker by
// itself when open cleared the record; taken together, the misses
// overlap.
func (s *sharded) newRecord() *Record {
	if len(s.ahead) == 0 {
		sink := s.sink
		for range recordsAhead {
			r := s.cfg.NewRecord()
			sink += uint64(r.ID)
			s.ahead = append(s.ahead, r)
		}
		s.sink = sink
	}
	n := len(s.ahead) - 1
	r := s.ahead[n]
	s.ahead[n] = nil
	s.ahead = s.ahead[:n]
	return r
}

// recordsAhead is how many records newRecord takes at a time.
const recordsAhead = 32

// maxPool bounds the records a partition keeps to fill again, in
// parallel; in sequence the partitions share one pool of up to
// maxPool*numParts, or take the consumer's (Config.NewRecord).
const maxPool = 256

func newSharded(cfg Config, emit func(*Record), workers int) *sharded {
	s := &sharded{cfg: cfg, emit: emit}
	for i := range s.parts {
		p := &s.parts[i]
		pc := cfg
		pc.NewRecord, pc.Watermark = p.newRecord, nil
		if workers <= 2 {
			// One goroutine: the consumer's records, or one pool.
			p.shared = &s.free
			if cfg.NewRecord != nil {
				pc.NewRecord = s.newRecord
			}
		}
		if cfg.Watermark != nil {
			pc.Watermark = p.watermark
		}
		p.t = NewTracker(pc, p.emit)
		p.t.shard = p
		p.t.tuples.slab.bits = filterBits - 4 // numParts == 16: the same bits per four-tuple
		// A partition holds its share of the four-tuples, a sixteenth
		// give or take: its slab grows by doubling only up to a quarter
		// more than that (then as append grows it), not to one
		// tracker's bound, where doubling past the share held room for
		// twice as many four-tuples in all as the bound allows.
		p.t.tuples.slab.limit = intOr(cfg.MaxTuples, defaultMaxTuples)/numParts*5/4 + 1
		p.keepHalf, p.keepTuples, p.keepClocks = -1, -1, -1
	}
	for i := 2; i < workers && i < numParts+1; i++ {
		ch := make(chan func())
		s.helpers = append(s.helpers, ch)
		go func() {
			for f := range ch {
				f()
				s.wg.Done()
			}
		}()
	}
	if workers <= 2 {
		for i := range s.parts {
			s.parts[i].seqID = &s.nextID
		}
	}
	for i := range s.rank {
		s.rank[i] = make([]int, epochLen)
	}
	return s
}

// parallel runs work for every partition, the largest first, on the
// helpers and the calling goroutine, after meanwhile (on the caller).
func (s *sharded) parallel(ep *epoch, work func(p *part, idx int), meanwhile func()) {
	if len(s.helpers) == 0 {
		meanwhile()
		for i := range s.parts {
			work(&s.parts[i], i)
		}
		return
	}
	for i := range s.order {
		s.order[i] = i
	}
	if ep != nil {
		slices.SortStableFunc(s.order[:], func(a, b int) int { return cmp.Compare(len(ep.parts[b]), len(ep.parts[a])) })
	}
	var next atomic.Int32
	task := func() {
		for {
			j := int(next.Add(1) - 1)
			if j >= numParts {
				return
			}
			work(&s.parts[s.order[j]], s.order[j])
		}
	}
	s.wg.Add(len(s.helpers))
	for _, ch := range s.helpers {
		ch <- task
	}
	meanwhile()
	task()
	s.wg.Wait()
}

// step runs the partitions through ep: first they put the previous
// epoch's final IDs in place and apply the bounds, then they take the
// segments; meanwhile the previous epoch's records are emitted.
func (s *sharded) step(ep *epoch) {
	prev := s.rank[s.cur]
	pendBase, started := s.pendBase, s.started
	s.parallel(ep, func(p *part, idx int) {
		if started {
			p.patch(pendBase, prev)
		}
		p.bound(ep.base, s.endNow)
		p.run(ep, idx)
	}, s.emitPending)
	s.started = true
	s.collect(ep.base, ep.end)
	s.endNow = ep.now
	s.checkBounds()
}

// collect numbers the openings of the epoch [base, end) that just ran and
// takes its records, to be emitted with the next step.
func (s *sharded) collect(base, end int) {
	s.cur ^= 1
	rank := s.rank[s.cur][:end-base]
	clear(rank)
	for i := range s.parts {
		for _, o := range s.parts[i].opens {
			rank[o.id-provBase-base] = 1
		}
	}
	id := s.nextID
	for k, v := range rank {
		if v != 0 {
			id++
			rank[k] = id
		}
	}
	s.nextID = id
	s.pendBase = base
	s.pend = s.pend[:0]
	for i := range s.parts {
		p := &s.parts[i]
		for k, o := range p.out {
			o.part, o.seq = int32(i), int32(k)
			s.pend = append(s.pend, o)
		}
		clear(p.out)
		p.out = p.out[:0]
		if len(p.pool) < maxPool {
			p.pool = append(p.pool, s.back[i]...)
		}
		clear(s.back[i])
		s.back[i] = s.back[i][:0]
	}
}

// checkBounds finds whether the partitions together hold more than a
// bound allows, and if so has each keep its share at the next epoch's
// start. A partition also applies every bound to itself as the single
// tracker does, so that the bounds change nothing unless the single
// tracker's would: the partitions hold together what it would hold.
func (s *sharded) checkBounds() {
	var half, tuples, clocks int
	for i := range s.parts {
		t := s.parts[i].t
		half += t.half.live
		tuples += t.tuples.len()
		clocks += t.clocks.len()
	}
	limH := intOr(s.cfg.MaxHalfOpen, defaultMaxHalfOpen)
	limT := intOr(s.cfg.MaxTuples, defaultMaxTuples)
	limC := intOr(s.cfg.MaxClocks, defaultMaxClocks)
	if half > limH {
		s.oldestHalfOpen(half - limH)
	}
	for i := range s.parts {
		p := &s.parts[i]
		if tuples > limT {
			p.keepTuples = limT * 3 / 4 * p.t.tuples.len() / tuples
		}
		if clocks > limC {
			p.keepClocks = limC * 3 / 4 * p.t.clocks.len() / clocks
		}
	}
}

// oldestHalfOpen has the partitions evict the n oldest half-open
// incarnations of them all, as the single tracker evicts the oldest: their
// queues are in the order of opening, and the IDs, final or provisional,
// in that order too.
func (s *sharded) oldestHalfOpen(n int) {
	var next [numParts]int // each queue's first entry not yet taken
	var evict [numParts]int
	for i := range s.parts {
		next[i] = s.parts[i].t.half.head
	}
	valid := func(i int) (int, bool) {
		t := s.parts[i].t
		h := &t.half
		for ; next[i] < len(h.q); next[i]++ {
			if e := h.q[next[i]]; e.id != 0 {
				if c := t.conns.at(e.ref); c.id == e.id && c.halfOpen {
					return e.id, true
				}
			}
		}
		return 0, false
	}
	for ; n > 0; n-- {
		best, bestID := -1, 0
		for i := range s.parts {
			if id, ok := valid(i); ok && (best < 0 || id < bestID) {
				best, bestID = i, id
			}
		}
		if best < 0 {
			break
		}
		evict[best]++
		next[best]++
	}
	for i := range s.parts {
		if evict[i] > 0 {
			s.parts[i].keepHalf = s.parts[i].t.half.live - evict[i]
		}
	}
}

// emitPending emits the records of the epoch that ran last, in order,
// with their final IDs.
func (s *sharded) emitPending() {
	if len(s.pend) == 0 {
		return
	}
	rank, base := s.rank[s.cur], s.pendBase
	fix := func(v *int) {
		if *v >= provBase {
			*v = rank[*v-provBase-base]
		}
	}
	slices.SortFunc(s.pend, cmpOut)
	for i := 0; i < len(s.pend); i++ {
		o := &s.pend[i]
		if o.r == nil {
			// The partitions' watermarks at one position: the first
			// is the smallest, the capture's.
			s.cfg.Watermark(o.sub)
			for i+1 < len(s.pend) && s.pend[i+1].r == nil && s.pend[i+1].pos == o.pos {
				i++
			}
			continue
		}
		r := o.r
		if s.started { // in sequence the IDs are final already
			fix(&r.ID)
			fix(&r.Prev.ID)
			fix(&r.SYNTS.LatestConn)
			fix(&r.SYNTS.RecycleConn)
		}
		s.emit(r)
		s.recycle(r, o.part)
		o.r = nil
	}
	s.pend = s.pend[:0]
}

// finish puts the last epoch's IDs in place, finishes every incarnation
// still held and emits the rest.
func (s *sharded) finish() {
	prev, pendBase, started := s.rank[s.cur], s.pendBase, s.started
	g := &s.d.g
	if !started {
		// In sequence (feed): the bounds at the end, as step applies
		// them after each epoch.
		s.checkBounds()
	}
	s.parallel(nil, func(p *part, _ int) {
		if started {
			p.patch(pendBase, prev)
		}
		p.t.stats.Segments = g.stats.Segments
		p.bound(g.stats.Segments+1, g.now)
		p.pos, p.phase = g.stats.Segments+1, phaseFlush
		p.t.now = g.now
		p.t.Flush()
	}, s.emitPending)
	s.collect(g.stats.Segments+1, g.stats.Segments+1)
	s.emitPending()
	for _, ch := range s.helpers {
		close(ch)
	}
}

// stats adds up the partitions' counts; the segments and time jumps are
// the dispatcher's, which saw them all.
func (s *sharded) stats() TrackerStats {
	g := s.d.g.stats
	st := TrackerStats{Segments: g.Segments, TimeJumps: g.TimeJumps, TimeJumpCount: g.TimeJumpCount}
	for i := range s.parts {
		p := s.parts[i].t.stats
		st.Connections += p.Connections
		st.Partial += p.Partial
		st.Evicted += p.Evicted
		st.OldDuplicate += p.OldDuplicate
		st.HalfOpenEvicted += p.HalfOpenEvicted
		st.Duplicates += p.Duplicates
		st.TuplesForgotten += p.TuplesForgotten
		st.ClocksForgotten += p.ClocksForgotten
		st.Suspect += p.Suspect
	}
	return st
}

// feed is the sharded tracker on one goroutine, for one or two workers:
// each segment goes to its partition as it comes, after the capture-wide
// events at it, and the records come out at once, with their final IDs
// (opened numbers the openings as they come). The partitions see what
// they see in epochs, and the bounds are applied at the same positions,
// so the records are the same as with more workers.
func (s *sharded) feed(seg *Segment, k *segKey) {
	g := &s.d.g
	endNow := g.now
	pos, what := s.d.decide(seg)
	if pos > 1 && (pos-1)%epochLen == 0 {
		s.bound(pos, endNow)
	}
	if what != 0 {
		s.event(&shardEvent{pos, g.now, what, g.jumpTime, g.jumpFrame})
	}
	s.segment(seg, k, pos, g.now)
}

// decideBatch is the dispatcher's part of feed for the segments of b, in
// order, on the reading goroutine (two workers): it appends the events at
// them to evs, for feedDecided.
func (d *dispatcher) decideBatch(b []Segment, evs []shardEvent) []shardEvent {
	g := &d.g
	for i := range b {
		if pos, what := d.decide(&b[i]); what != 0 {
			evs = append(evs, shardEvent{pos, g.now, what, g.jumpTime, g.jumpFrame})
		}
	}
	return evs
}

// feedDecided is the rest of feed for the segments of b, which
// decideBatch saw, with the events it found at them (evs): it counts the
// positions and the capture's time (decide's, after checkTime) itself.
func (s *sharded) feedDecided(b []Segment, evs []shardEvent) {
	pos, now := s.fedPos, s.fedNow
	for i := range b {
		seg := &b[i]
		pos++
		if pos > 1 && (pos-1)%epochLen == 0 {
			s.bound(pos, now)
		}
		now = max(now, seg.Time)
		if len(evs) > 0 && evs[0].pos == pos {
			s.event(&evs[0])
			evs = evs[1:]
		}
		s.segment(seg, &seg.key, pos, now)
	}
	s.fedPos, s.fedNow = pos, now
}

// bound applies, in sequence, the bounds of the partitions together at
// the pos-th segment, an epoch's first, with the capture's time now
// before it, as step does at an epoch's start.
func (s *sharded) bound(pos int, now int64) {
	s.checkBounds()
	for i := range s.parts {
		if p := &s.parts[i]; p.keepHalf >= 0 || p.keepTuples >= 0 || p.keepClocks >= 0 {
			p.bound(pos, now)
		}
	}
	s.emitAll()
}

// event applies, in sequence, the capture-wide events at one position.
func (s *sharded) event(e *shardEvent) {
	for i := range s.parts {
		s.parts[i].event(e)
	}
	s.emitAll()
}

// segment has seg's partition apply it, in sequence, and emits what that
// finished.
func (s *sharded) segment(seg *Segment, k *segKey, pos int, now int64) {
	p := &s.parts[k.part]
	p.segment(seg, k, pos, now)
	for i := range p.out {
		s.emit(p.out[i].r)
		s.recycle(p.out[i].r, 0)
		p.out[i].r = nil
	}
	p.out = p.out[:0]
}

// recycle keeps r, just emitted from partition i, to fill again, unless
// the consumer keeps it (Config.NewRecord): in parallel the partition
// gets one of the consumer's instead, with the next epoch.
func (s *sharded) recycle(r *Record, i int32) {
	switch {
	case s.parts[0].shared != nil:
		if s.cfg.NewRecord == nil && len(s.free) < maxPool*numParts {
			s.free = append(s.free, r)
		}
	case len(s.back[i]) < maxPool:
		if s.cfg.NewRecord != nil {
			r = s.cfg.NewRecord()
		}
		s.back[i] = append(s.back[i], r)
	}
}

// emitAll emits what the partitions finished at one position, in
// sequence (feed), in order: by phase (bounds, sweep, watermark, linger),
// the records of a phase by ID, and of the partitions' watermarks the
// smallest, the capture's. In sequence every ID is final and unique, so
// one key per record orders them as cmpOut does, and sorting the keys
// costs a fraction of sorting shardOuts by cmpOut.
func (s *sharded) emitAll() {
	keys := s.keys[:0]
	wm, hasWM := int64(0), false
	for i := range s.parts {
		p := &s.parts[i]
		for k := range p.out {
			o := &p.out[k]
			if o.r == nil {
				if !hasWM || o.sub < wm {
					wm = o.sub
				}
				hasWM = true
				continue
			}
			keys = append(keys, outKey{uint64(o.phase)<<56 | uint64(o.r.ID), o.r})
		}
		clear(p.out)
		p.out = p.out[:0]
	}
	slices.SortFunc(keys, func(a, b outKey) int { return cmp.Compare(a.key, b.key) })
	for _, o := range keys {
		if hasWM && uint8(o.key>>56) > phaseWatermark {
			s.cfg.Watermark(wm)
			hasWM = false
		}
		s.emit(o.r)
		s.recycle(o.r, 0)
	}
	if hasWM {
		s.cfg.Watermark(wm)
	}
	clear(keys)
	s.keys = keys[:0]
}

// outKey is a record emitted in sequence with its place in emitAll's
// order: its phase, then its ID.
type outKey struct {
	key uint64
	r   *Record
}
