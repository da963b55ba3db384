package analyze

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// Helpers the detectors share: naming sides and endpoints, the TIME_WAIT
// length they judge by, what is unknown because the snaplen cut the
// options, and the small conversions evidence needs.

// side names a side for a person: "the client 10.0.0.1:40000".
func side(r *reassembly.Record, s reassembly.Side) string {
	switch s {
	case reassembly.SideClient:
		return "the client " + r.Client.String()
	case reassembly.SideServer:
		return "the server " + r.Server.String()
	case reassembly.SideBoth:
		return "both sides"
	}
	return "nobody"
}

// endpointOf returns a side's address and port.
func endpointOf(r *reassembly.Record, s reassembly.Side) netip.AddrPort {
	if s == reassembly.SideServer {
		return r.Server
	}
	return r.Client
}

// seconds formats a duration in nanoseconds for a sentence.
func seconds(ns int64) string {
	s := float64(ns) / 1e9
	switch {
	case s < 0.001 && s > -0.001:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1 && s > -1:
		return fmt.Sprintf("%.0f ms", s*1e3)
	case s < 100 && s > -100:
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

// plural writes n with the singular or plural form: plural(2, "SYN")
// is "2 SYNs"; plural(1, "SYN was", "SYNs were") is "1 SYN was".
func plural(n int, one string, many ...string) string {
	if n == 1 {
		return "1 " + one
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// timeWaitLimit returns the TIME_WAIT length every detector judges by:
// the profile's, or Linux's when none was set.
func timeWaitLimit(d time.Duration) time.Duration {
	if d <= 0 {
		return Profiles["linux"].TimeWait
	}
	return d
}

// prevIndex is the index (0 client, 1 server) in r.Prev of the endpoint
// that plays side s in r: the roles turn round when the old server is the
// one that connects again.
func prevIndex(r *reassembly.Record, s reassembly.Side) int {
	if endpointOf(r, s) == r.PrevClient() {
		return 0
	}
	return 1
}

// endpointIn names the endpoint that played side s in a previous
// incarnation, "" for none or both.
func endpointIn(r *reassembly.Record, s reassembly.Side) string {
	switch s {
	case reassembly.SideClient:
		return r.PrevClient().String()
	case reassembly.SideServer:
		return r.PrevServer().String()
	}
	return ""
}

// frameEvidence is a frame number for evidence, or nil when not in the capture.
func frameEvidence(f reassembly.Frame) *int {
	if !f.Seen() {
		return nil
	}
	n := f.N
	return &n
}

// knownOrNil is v, or nil (JSON null: unknown) when unknown.
func knownOrNil(v, unknown bool) *bool {
	if unknown {
		return nil
	}
	return &v
}

// ptr is a pointer to a copy of v, for evidence that may be null.
func ptr[T any](v T) *T { return &v }

// tsUnknownIn reports whether the snaplen cut the TCP options of either
// side of r or of its previous incarnation, so that whether timestamps
// were sent is unknown: evidence about them is then null, never false.
func tsUnknownIn(r *reassembly.Record) bool {
	return r.C.TSUnknown() || r.S.TSUnknown() ||
		r.HasPrev && (r.Prev.TSUnknown[0] || r.Prev.TSUnknown[1])
}
