package analyze

import "github.com/twscope/twscope/reassembly"

// tsUnknownIn reports whether the snaplen cut the TCP options of either
// side of r or of its previous incarnation, so that whether timestamps
// were sent is unknown: evidence about them is then null, never false.
func tsUnknownIn(r *reassembly.Record) bool {
	return r.C.TSUnknown() || r.S.TSUnknown() ||
		r.HasPrev && (r.Prev.TSUnknown[0] || r.Prev.TSUnknown[1])
}
