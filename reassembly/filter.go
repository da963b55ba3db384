//go:build !libpcap

package reassembly

import "errors"

// FilterAvailable says whether this build can compile BPF filters.
const FilterAvailable = false

// NewFilter fails in the default, pure-Go build: compiling tcpdump filter
// expressions needs libpcap.
func NewFilter(expr string) (func(*Packet) bool, error) {
	return nil, errors.New("--filter needs libpcap: this twscope was built without it; " +
		"install libpcap-dev and build with 'go build -tags libpcap ./cmd/twscope', " +
		"or filter first with 'tcpdump -r IN -w OUT EXPR'")
}
