package report

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/twscope/twscope/analyze"
)

// WritePartial writes a capture point's partial result for
// analyze.ReadPartial and `twscope merge`, as compact JSON.
func WritePartial(w io.Writer, p *analyze.Partial) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := json.NewEncoder(bw).Encode(p); err != nil {
		return err
	}
	return bw.Flush()
}

// LadderNoteMerged says why a merged report has no ladder diagrams.
const LadderNoteMerged = "Ladder diagrams are not drawn in a merged report: the packets stay with each capture point. Run twscope analyze --html on a capture point to get them."
