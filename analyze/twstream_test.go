package analyze

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/twscope/twscope/reassembly/synth"
)

// TestTimeWaitStreamed checks that streaming the TIME_WAIT intervals gives
// the same hosts, peaks and port pressure findings as keeping them all.
func TestTimeWaitStreamed(t *testing.T) {
	var buf bytes.Buffer
	mix := synth.DefaultMix
	mix.Reuse = 0 // a reuse's second SYN comes seconds later and would stretch the rate's span
	if _, err := synth.Generate(&buf, synth.GenConfig{Seed: 3, Packets: 400000, Rate: 3000, Clients: 3, Servers: 1, Mix: &mix}); err != nil {
		t.Fatal(err)
	}
	run := func(limit int) *Result {
		defer func(old int) { twExactLimit = old }(twExactLimit)
		twExactLimit = limit
		return twRunBytes(t, Options{}, buf.Bytes())
	}
	exact, streamed := run(1<<30), run(0)
	if !reflect.DeepEqual(exact.Hosts, streamed.Hosts) {
		t.Errorf("hosts differ:\nexact    %+v\nstreamed %+v", exact.Hosts, streamed.Hosts)
	}
	pressure := func(r *Result) []Finding {
		var out []Finding
		for _, f := range r.Findings {
			if f.Kind == KindPortPressure {
				ev := *f.Evidence.(*PortPressureEvidence)
				ev.Points = nil
				f.Evidence = &ev
				out = append(out, f)
			}
		}
		return out
	}
	pe, ps := pressure(exact), pressure(streamed)
	if len(pe) == 0 {
		t.Fatal("no port pressure in the test capture")
	}
	if !reflect.DeepEqual(pe, ps) {
		t.Errorf("port pressure differs:\nexact    %+v\nstreamed %+v", pe, ps)
	}
	if len(streamed.TimeWait) != len(exact.TimeWait) || len(streamed.TimeWait[0].Points) == 0 {
		t.Errorf("series: exact %d hosts, streamed %d", len(exact.TimeWait), len(streamed.TimeWait))
	}
}
