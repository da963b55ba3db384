package reassembly

import "testing"

// TestParseOptions checks the timestamps and window scale read from
// option lists, the common layout (NOP, NOP, timestamps) among them and
// lists that only look like it.
func TestParseOptions(t *testing.T) {
	ts := []byte{8, 10, 0, 0, 0, 7, 0, 0, 0, 9}
	cat := func(b ...[]byte) []byte {
		var out []byte
		for _, x := range b {
			out = append(out, x...)
		}
		return out
	}
	tests := []struct {
		name   string
		opts   []byte
		hasTS  bool
		wscale uint8
	}{
		{"nop-nop-ts", cat([]byte{1, 1}, ts), true, 0},
		{"ts-nop-nop", cat(ts, []byte{1, 1}), true, 0},
		{"nop-nop-ts-eol", cat([]byte{1, 1}, ts, []byte{0, 0, 0, 0}), true, 0},
		{"nop-nop-ts-cut", cat([]byte{1, 1}, ts[:9]), false, 0},
		{"nop-nop-ts-len-9", cat([]byte{1, 1, 8, 9}, ts[2:]), false, 0},
		{"syn", cat([]byte{2, 4, 5, 0xb4, 4, 2}, ts, []byte{1, 3, 3, 7}), true, 8},
		{"eol-first", cat([]byte{0, 1}, ts), false, 0},
	}
	for _, tt := range tests {
		var seg Segment
		parseOptions(tt.opts, &seg)
		want := Segment{HasTS: tt.hasTS, WScale: tt.wscale}
		if tt.hasTS {
			want.TSval, want.TSecr = 7, 9
		}
		if seg != want {
			t.Errorf("%s: %+v, want %+v", tt.name, seg, want)
		}
	}
}
