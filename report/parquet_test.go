package report

import (
	"bytes"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestParquetRowGroups checks that the writer ends a row group each time
// one is full (what bounds its memory), rather than holding every row
// until Close: 1000 records in row groups of 128 give 7 groups of 128 and
// one of 104, in order, with the times in microseconds.
func TestParquetRowGroups(t *testing.T) {
	var buf bytes.Buffer
	pw := newParquetWriter(&buf, 128)
	r := record()
	for i := range 1000 {
		r.ID = i + 1
		r.Start = int64(i)*1_000_000_000 + 1_500 // 1.5 µs past each second: truncated to 1 µs
		if err := pw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	groups := f.RowGroups()
	if len(groups) != 8 || groups[0].NumRows() != 128 || groups[7].NumRows() != 104 {
		t.Fatalf("%d row groups", len(groups))
	}
	rows, err := parquet.Read[ParquetConn](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		if row.ID != int64(i+1) || row.Start != int64(i)*1_000_000+1 || row.CommunityID != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" || row.ReuseGapS == nil || *row.ReuseGapS != 3 {
			t.Fatalf("row %d: %+v", i, row)
		}
	}
}
