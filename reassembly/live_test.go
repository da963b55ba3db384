package reassembly

import (
	"math"
	"testing"
)

// liveRefs is the refs of the incarnations t holds, in ref order.
func (t *Tracker) liveRefs() []int32 {
	var refs []int32
	for i := range t.live.e {
		if t.live.e[i].id != 0 {
			refs = append(refs, int32(i))
		}
	}
	return refs
}

// TestLiveSetReuse checks that an entry removed is never due and that a
// conn used again, or made past the end, is due at its own deadline.
func TestLiveSetReuse(t *testing.T) {
	var l liveSet
	cs := []conn{{ref: 0, id: 1, Record: new(Record)}, {ref: 1, id: 2, Record: new(Record)}, {ref: 2, id: 3, Record: new(Record)}}
	for i := range cs {
		l.add(&cs[i], int64(10*(i+1)), math.MaxInt)
	}
	l.remove(&cs[1])
	l.remove(&cs[1]) // not live: nothing
	if l.has(&cs[1]) {
		t.Fatal("removed conn still live")
	}
	l.touch(&cs[1], 0, math.MaxInt) // not live: nothing
	if got, _ := l.due(100, 0, nil); len(got) != 2 || got[0] != (dueConn{1, 0}) || got[1] != (dueConn{3, 2}) {
		t.Fatalf("due %v, want conns 1 and 3", got)
	}
	cs[1].id = 4
	l.add(&cs[1], 5, math.MaxInt)
	late := conn{ref: 5, id: 5, Record: new(Record)}
	l.add(&late, 50, math.MaxInt)
	if got, _ := l.due(20, 0, nil); len(got) != 2 || got[0] != (dueConn{1, 0}) || got[1] != (dueConn{4, 1}) {
		t.Fatalf("due %v, want conns 1 and 4", got)
	}
	if got, _ := l.due(60, 0, nil); len(got) != 4 || got[3] != (dueConn{5, 5}) {
		t.Fatalf("due %v, want 4 conns, conn 5 last", got)
	}
}

// TestLiveSetWatermark checks that the watermark due returns is the
// earliest closing time of the incarnations not due, or the floor.
func TestLiveSetWatermark(t *testing.T) {
	var l liveSet
	cs := make([]conn, 4)
	for i, start := range []int64{3, 7, 9, 1} {
		cs[i] = conn{ref: int32(i), id: i + 1, Record: &Record{HasPrev: true, Start: start}}
		l.add(&cs[i], 30, math.MaxInt)
	}
	l.touch(&cs[0], 10, math.MaxInt) // due at 20: its start does not count
	l.remove(&cs[3])
	if _, w := l.due(20, 100, nil); w != 7 {
		t.Errorf("watermark %d, want 7", w)
	}
	if _, w := l.due(20, 5, nil); w != 5 {
		t.Errorf("watermark %d, want the floor, 5", w)
	}
}
