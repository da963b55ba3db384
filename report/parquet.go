package report

import (
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/twscope/twscope/reassembly"
)

// ParquetConn is one connection record as a Parquet row: the --conns
// fields, with times as TIMESTAMP(MICROS, UTC) (what Spark and DuckDB read
// as timestamps; nanoseconds they do not all take) and the client and
// server as address and port columns beside the ip:port strings, so that
// SQL can group by host.
type ParquetConn struct {
	ID             int64       `parquet:"id"`
	CommunityID    string      `parquet:"community_id"`
	Client         string      `parquet:"client"`
	Server         string      `parquet:"server,dict"`
	ClientIP       string      `parquet:"client_ip,dict"`
	ClientPort     int32       `parquet:"client_port"`
	ServerIP       string      `parquet:"server_ip,dict"`
	ServerPort     int32       `parquet:"server_port"`
	Start          int64       `parquet:"start,timestamp(microsecond:utc)"`
	End            int64       `parquet:"end,timestamp(microsecond:utc)"`
	FirstFrame     int64       `parquet:"first_frame"`
	LastFrame      int64       `parquet:"last_frame"`
	FirstFile      int32       `parquet:"first_file"`
	LastFile       int32       `parquet:"last_file"`
	Packets        int64       `parquet:"packets"`
	Partial        bool        `parquet:"partial"`
	Evicted        bool        `parquet:"idle_evicted"`
	HalfOpenEvict  bool        `parquet:"half_open_evicted"`
	Duplicates     int64       `parquet:"duplicate_packets"`
	Closer         string      `parquet:"closer,dict"`
	Close          string      `parquet:"close,dict"`
	RSTBy          string      `parquet:"rst_by,dict"`
	TimeWaitHolder string      `parquet:"time_wait_holder,dict"`
	FinRetransmits int64       `parquet:"fin_retransmits"`
	FinalAck       string      `parquet:"final_ack,dict"`
	CloseTime      *int64      `parquet:"close_time,optional,timestamp(microsecond:utc)"`
	CloseFrame     int64       `parquet:"close_frame"`
	ReuseGapS      *float64    `parquet:"reuse_gap_s,optional"`
	PrevID         *int64      `parquet:"prev_id,optional"`
	ZeekState      string      `parquet:"zeek_state,dict"`
	History        string      `parquet:"history"`
	SYNRetransmits int64       `parquet:"syn_retransmits"`
	OldDuplicates  int64       `parquet:"old_duplicates"`
	ClientSide     ParquetSide `parquet:"client_side"`
	ServerSide     ParquetSide `parquet:"server_side"`
	CapturePoint   string      `parquet:"capture_point,dict"`
	TimeWaitEnd    *int64      `parquet:"time_wait_end,optional,timestamp(microsecond:utc)"`
}

// ParquetSide is SideFacts as a Parquet struct (group).
type ParquetSide struct {
	ISN            *int64 `parquet:"isn,optional"`
	FinalSeq       int64  `parquet:"final_seq"`
	Bytes          int64  `parquet:"bytes"`
	Packets        int64  `parquet:"packets"`
	FinFrame       *int64 `parquet:"fin_frame,optional"`
	RSTFrame       *int64 `parquet:"rst_frame,optional"`
	FinRetransmits int64  `parquet:"fin_retransmits"`
	TSvalFirst     *int64 `parquet:"tsval_first,optional"`
	TSvalLast      *int64 `parquet:"tsval_last,optional"`
	Timestamps     string `parquet:"timestamps,dict"`
	TimeWaitEnd    *int64 `parquet:"time_wait_end,optional,timestamp(microsecond:utc)"`
}

// micros is a record time (Unix ns) in whole microseconds, rounded down
// (also before 1970): TIMESTAMP(MICROS), and Zeek's times and intervals.
func micros(ns int64) int64 {
	us := ns / 1000
	if ns%1000 != 0 && ns < 0 {
		us--
	}
	return us
}

// NewParquetConn converts a record to its Parquet row. The values are
// NewConn's; only the times come from the record, as numbers.
func NewParquetConn(r *reassembly.Record) ParquetConn {
	c := NewConn(r)
	p := ParquetConn{
		ID: int64(c.ID), CommunityID: c.CommunityID, Client: c.Client, Server: c.Server,
		ClientIP: r.Client.Addr().Unmap().String(), ClientPort: int32(r.Client.Port()),
		ServerIP: r.Server.Addr().Unmap().String(), ServerPort: int32(r.Server.Port()),
		Start: micros(r.Start), End: micros(r.End),
		FirstFrame: int64(c.FirstFrame), LastFrame: int64(c.LastFrame),
		FirstFile: int32(c.FirstFile), LastFile: int32(c.LastFile), Packets: int64(c.Packets),
		Partial: c.Partial, Evicted: c.Evicted, HalfOpenEvict: c.HalfOpenEvict, Duplicates: int64(c.Duplicates),
		Closer: c.Closer, Close: c.Close, RSTBy: c.RSTBy, TimeWaitHolder: c.TimeWaitHolder,
		FinRetransmits: int64(c.FinRetransmits), FinalAck: c.FinalAck,
		CloseFrame: int64(c.CloseFrame), ReuseGapS: c.ReuseGapS,
		ZeekState: c.ZeekState, History: c.History,
		SYNRetransmits: int64(c.SYNRetransmits), OldDuplicates: int64(c.OldDuplicates),
		ClientSide: parquetSide(c.ClientSide), ServerSide: parquetSide(c.ServerSide),
	}
	if r.CloseAt.Seen() {
		t := micros(r.CloseAt.Time)
		p.CloseTime = &t
	}
	if c.PrevID != nil {
		id := int64(*c.PrevID)
		p.PrevID = &id
	}
	return p
}

func parquetSide(s SideFacts) ParquetSide {
	p := ParquetSide{FinalSeq: int64(s.FinalSeq), Bytes: s.Bytes, Packets: int64(s.Packets),
		FinRetransmits: int64(s.FinRetrans), Timestamps: s.Timestamps,
		ISN: u32(s.ISN), TSvalFirst: u32(s.TSvalFirst), TSvalLast: u32(s.TSvalLast)}
	if s.FinFrame > 0 {
		f := int64(s.FinFrame)
		p.FinFrame = &f
	}
	if s.RSTFrame > 0 {
		f := int64(s.RSTFrame)
		p.RSTFrame = &f
	}
	return p
}

// u32 widens an optional 32-bit sequence or timestamp value: Parquet has
// no unsigned 32-bit type that every reader takes.
func u32(v *uint32) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

// parquetBatch is how many rows are handed to the writer at once, and
// parquetRowGroup how many a row group holds before it is flushed to the
// file: memory stays bounded by one row group's column buffers.
const (
	parquetBatch    = 256
	parquetRowGroup = 64 << 10
)

// ParquetWriter streams connection records into a Parquet file.
type ParquetWriter struct {
	w     *parquet.GenericWriter[ParquetConn]
	batch []ParquetConn
	// Point fills capture_point and time_wait_end.
	Point Point
}

// NewParquetWriter writes Parquet to out (zstd compressed); call Close at
// the end, which writes the footer.
func NewParquetWriter(out io.Writer) *ParquetWriter { return newParquetWriter(out, parquetRowGroup) }

func newParquetWriter(out io.Writer, rowGroup int64) *ParquetWriter {
	return &ParquetWriter{
		w: parquet.NewGenericWriter[ParquetConn](out,
			parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(rowGroup),
			parquet.CreatedBy("twscope", "", "")),
		batch: make([]ParquetConn, 0, parquetBatch),
	}
}

// Write adds one record.
func (pw *ParquetWriter) Write(r *reassembly.Record) error {
	row := NewParquetConn(r)
	row.CapturePoint = pw.Point.Name
	row.TimeWaitEnd = timeWaitEndAs(pw.Point, r, reassembly.SideBoth, micros)
	row.ClientSide.TimeWaitEnd = timeWaitEndAs(pw.Point, r, reassembly.SideClient, micros)
	row.ServerSide.TimeWaitEnd = timeWaitEndAs(pw.Point, r, reassembly.SideServer, micros)
	pw.batch = append(pw.batch, row)
	if len(pw.batch) == cap(pw.batch) {
		return pw.flushBatch()
	}
	return nil
}

func (pw *ParquetWriter) flushBatch() error {
	_, err := pw.w.Write(pw.batch)
	clear(pw.batch)
	pw.batch = pw.batch[:0]
	return err
}

// Close writes what is left and the file footer.
func (pw *ParquetWriter) Close() error {
	if err := pw.flushBatch(); err != nil {
		return err
	}
	return pw.w.Close()
}
