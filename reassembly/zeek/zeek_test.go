package zeek

import "testing"

// TestObserveAllocs keeps Observe free of allocations, and checks the
// history of a small exchange with a zero window and a gap.
func TestObserveAllocs(t *testing.T) {
	type seg struct {
		fromOrig bool
		Segment
	}
	segs := []seg{
		{true, Segment{Flags: SYN, Seq: 100, Window: 1000}},
		{false, Segment{Flags: SYN | ACK, Seq: 500, Ack: 101, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: 101, Ack: 501, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: 101, Ack: 501, Window: 1000, Len: 10, Captured: 10}},
		{true, Segment{Flags: ACK, Seq: 131, Ack: 501, Window: 1000, Len: 10, Captured: 10}},
		{false, Segment{Flags: ACK, Seq: 501, Ack: 141, Window: 0}},
		{true, Segment{Flags: FIN | ACK, Seq: 141, Ack: 501, Window: 1000}},
		{false, Segment{Flags: FIN | ACK, Seq: 501, Ack: 142, Window: 1000}},
	}
	var z Conn
	allocs := testing.AllocsPerRun(100, func() {
		z = Conn{}
		for i := range segs {
			z.Observe(segs[i].fromOrig, &segs[i].Segment)
		}
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per connection", allocs)
	}
	// The zero window comes before the gap it acks: Zeek updates the
	// window before it processes the ACK.
	if got, want := z.History(), "ShADawGFf"; z.State() != "SF" || got != want {
		t.Errorf("got %s %s, want SF %s", z.State(), got, want)
	}
}

// TestHistories checks that Histories gives each connection its own
// history, and the same string without allocating for one seen before.
func TestHistories(t *testing.T) {
	conn := func(segs ...Segment) *Conn {
		z := new(Conn)
		for i := range segs {
			z.Observe(i%2 == 0, &segs[i])
		}
		return z
	}
	syn := Segment{Flags: SYN, Seq: 100}
	synAck := Segment{Flags: SYN | ACK, Seq: 500, Ack: 101}
	rst := Segment{Flags: RST | ACK, Seq: 500, Ack: 101}
	cases := []*Conn{
		new(Conn),
		conn(syn),
		conn(syn, synAck),
		conn(syn, rst),
		conn(syn, synAck),
		conn(syn),
	}
	var h Histories
	for i, z := range cases {
		if got, want := h.Of(z), z.History(); got != want {
			t.Errorf("connection %d: history %q, want %q", i, got, want)
		}
	}
	z := cases[2]
	if allocs := testing.AllocsPerRun(100, func() { _ = h.Of(z) }); allocs != 0 {
		t.Errorf("a history seen before allocates %v times", allocs)
	}
}

// TestObserveWrap follows a connection whose client's sequence numbers
// wrap past zero, with a retransmission and a hole, through the path of
// ordinary segments: the bytes sent must count across the wrap, and the
// retransmission ('T') and the hole ('G') show in the history.
func TestObserveWrap(t *testing.T) {
	isn := uint32(1<<32 - 20)
	segs := []struct {
		fromOrig bool
		Segment
	}{
		{true, Segment{Flags: SYN, Seq: isn, Window: 1000}},
		{false, Segment{Flags: SYN | ACK, Seq: 500, Ack: isn + 1, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: isn + 1, Ack: 501, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: isn + 1, Ack: 501, Window: 1000, Len: 30, Captured: 30}},
		{false, Segment{Flags: ACK, Seq: 501, Ack: isn + 31, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: isn + 1, Ack: 501, Window: 1000, Len: 30, Captured: 30}},
		{true, Segment{Flags: ACK, Seq: isn + 41, Ack: 501, Window: 1000, Len: 10, Captured: 10}},
		{false, Segment{Flags: ACK, Seq: 501, Ack: isn + 51, Window: 1000}},
		{true, Segment{Flags: FIN | ACK, Seq: isn + 51, Ack: 501, Window: 1000}},
		{false, Segment{Flags: FIN | ACK, Seq: 501, Ack: isn + 52, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: isn + 52, Ack: 502, Window: 1000}},
	}
	var z Conn
	for i := range segs {
		z.Observe(segs[i].fromOrig, &segs[i].Segment)
	}
	if got, want := z.History(), "ShADaTGFf"; z.State() != "SF" || got != want {
		t.Errorf("got %s %s, want SF %s", z.State(), got, want)
	}
	if _, n := z.Endpoint(true); n != 50 {
		t.Errorf("originator sent %d bytes, want 50", n)
	}
}

// BenchmarkObserve feeds the segments of a short exchange (handshake,
// request, response, a retransmission, close) to many connections at once,
// a segment to each in turn, so that their state does not all stay in
// the nearest cache.
func BenchmarkObserve(b *testing.B) {
	segs := []struct {
		fromOrig bool
		Segment
	}{
		{true, Segment{Flags: SYN, Seq: 100, Window: 1000}},
		{false, Segment{Flags: SYN | ACK, Seq: 500, Ack: 101, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: 101, Ack: 501, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: 101, Ack: 501, Window: 1000, Len: 100, Captured: 100}},
		{false, Segment{Flags: ACK, Seq: 501, Ack: 201, Window: 1000}},
		{false, Segment{Flags: ACK, Seq: 501, Ack: 201, Window: 1000, Len: 1000, Captured: 1000}},
		{false, Segment{Flags: ACK, Seq: 1501, Ack: 201, Window: 1000, Len: 1000, Captured: 1000}},
		{true, Segment{Flags: ACK, Seq: 201, Ack: 2501, Window: 1000}},
		{false, Segment{Flags: ACK, Seq: 1501, Ack: 201, Window: 1000, Len: 1000, Captured: 1000}},
		{true, Segment{Flags: FIN | ACK, Seq: 201, Ack: 2501, Window: 1000}},
		{false, Segment{Flags: FIN | ACK, Seq: 2501, Ack: 202, Window: 1000}},
		{true, Segment{Flags: ACK, Seq: 202, Ack: 2502, Window: 1000}},
	}
	conns := make([]Conn, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(segs) * len(conns) {
		clear(conns)
		for j := range segs {
			for k := range conns {
				conns[k].Observe(segs[j].fromOrig, &segs[j].Segment)
			}
		}
	}
	b.StopTimer()
	if got := conns[0].History(); got != "ShADadtFf" {
		b.Errorf("history %s", got)
	}
}
