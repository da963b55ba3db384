package report

import (
	"encoding/json"
	"io"

	"github.com/twscope/twscope/analyze"
)

// WriteJSON writes the report as indented JSON. The output is the same
// bytes for the same result: maps are written with sorted keys.
func WriteJSON(w io.Writer, res *analyze.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
