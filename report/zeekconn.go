package report

import (
	"bufio"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/twscope/twscope/reassembly"
)

// ZeekConnFields are conn.log's columns: Zeek's own, in the order of
// Conn::Info in scripts/base/protocols/conn/main.zeek, then community_id
// (as Zeek's community-id policy script adds it) and twscope's close facts.
var ZeekConnFields = []string{
	"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
	"service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
	"local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
	"resp_pkts", "resp_ip_bytes", "tunnel_parents",
	"community_id", "closer", "close", "time_wait_holder", "final_ack", "reuse_gap",
	"capture_point", "time_wait_end",
}

// zeekConnTypes are the Zeek types of ZeekConnFields, one for one.
var zeekConnTypes = []string{
	"time", "string", "addr", "port", "addr", "port", "enum",
	"string", "interval", "count", "count", "string", "bool",
	"bool", "count", "string", "count", "count",
	"count", "count", "set[string]",
	"string", "string", "string", "string", "string", "interval",
	"string", "time",
}

// Zeek's ASCII writer defaults (LogAscii::separator and the others).
const (
	zeekUnset = "-"
)

// ZeekConn is one conn.log entry. Pointers are Zeek's optional fields:
// nil is unset ("-" in TSV, left out of JSON, as Zeek does). The JSON tags
// are Zeek's JSON keys.
type ZeekConn struct {
	TS            zeekTime      `json:"ts"`
	UID           string        `json:"uid"`
	OrigH         string        `json:"id.orig_h"`
	OrigP         uint16        `json:"id.orig_p"`
	RespH         string        `json:"id.resp_h"`
	RespP         uint16        `json:"id.resp_p"`
	Proto         string        `json:"proto"`
	Service       *string       `json:"service,omitempty"`
	Duration      *zeekInterval `json:"duration,omitempty"`
	OrigBytes     *int64        `json:"orig_bytes,omitempty"`
	RespBytes     *int64        `json:"resp_bytes,omitempty"`
	ConnState     string        `json:"conn_state,omitempty"`
	LocalOrig     *bool         `json:"local_orig,omitempty"`
	LocalResp     *bool         `json:"local_resp,omitempty"`
	MissedBytes   *int64        `json:"missed_bytes,omitempty"`
	History       string        `json:"history,omitempty"`
	OrigPkts      *int64        `json:"orig_pkts,omitempty"`
	OrigIPBytes   *int64        `json:"orig_ip_bytes,omitempty"`
	RespPkts      *int64        `json:"resp_pkts,omitempty"`
	RespIPBytes   *int64        `json:"resp_ip_bytes,omitempty"`
	TunnelParents []string      `json:"tunnel_parents,omitempty"`

	CommunityID    string        `json:"community_id"`
	Closer         string        `json:"closer"`
	Close          string        `json:"close"`
	TimeWaitHolder string        `json:"time_wait_holder"`
	FinalAck       string        `json:"final_ack"`
	ReuseGap       *zeekInterval `json:"reuse_gap,omitempty"`
	CapturePoint   string        `json:"capture_point,omitempty"`
	TimeWaitEnd    *zeekTime     `json:"time_wait_end,omitempty"`
}

// zeekTime is Zeek's time: epoch seconds with microseconds, held in ns.
type zeekTime int64

func (t zeekTime) MarshalJSON() ([]byte, error) { return []byte(formatMicros(int64(t))), nil }

// zeekInterval is Zeek's interval: seconds with microseconds, held in ns.
type zeekInterval int64

func (d zeekInterval) MarshalJSON() ([]byte, error) { return []byte(formatMicros(int64(d))), nil }

// formatMicros writes ns as seconds with six decimals, as Zeek's "%.6f",
// in integer arithmetic so that no float rounding moves the last digit.
func formatMicros(ns int64) string {
	us := micros(ns) // floor, so that the fraction is never negative
	neg := us < 0
	if neg {
		us = -us
	}
	s := strconv.FormatInt(us/1e6, 10) + "." + pad6(us%1e6)
	if neg {
		s = "-" + s
	}
	return s
}

func pad6(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 6-len(s)) + s
}

// NewZeekConn converts a record to its conn.log entry, filling what Zeek
// fills: duration and byte counts only when the duration is above zero
// (Conn::set_conn), packet counts always. Fields the capture does not give
// twscope (service, local_orig/local_resp, missed_bytes, the IP-level byte
// counts, tunnels) stay unset.
func NewZeekConn(r *reassembly.Record) ZeekConn {
	c := NewConn(r)
	z := ZeekConn{
		TS: zeekTime(r.Start), UID: ZeekUID(r),
		OrigH: r.Client.Addr().Unmap().String(), OrigP: r.Client.Port(),
		RespH: r.Server.Addr().Unmap().String(), RespP: r.Server.Port(),
		Proto: "tcp", ConnState: r.ZeekState, History: r.History,
		CommunityID: c.CommunityID, Closer: c.Closer, Close: c.Close,
		TimeWaitHolder: c.TimeWaitHolder, FinalAck: c.FinalAck,
	}
	if d := r.End - r.Start; d > 0 {
		dur := zeekInterval(d)
		ob, rb := r.C.Bytes, r.S.Bytes
		z.Duration, z.OrigBytes, z.RespBytes = &dur, &ob, &rb
	}
	op, rp := int64(r.C.Packets), int64(r.S.Packets)
	z.OrigPkts, z.RespPkts = &op, &rp
	if r.HasPrev && r.C.SYN.Seen() {
		gap := zeekInterval(r.ReuseGap)
		z.ReuseGap = &gap
	}
	return z
}

// ZeekUID is the incarnation's conn.log uid: "C" and 17 base62 digits, as
// Zeek's look, derived from the four-tuple, the first packet's time and
// the client's ISN, so that the same input gives the same uids and two
// incarnations in a run (which differ in one of those) do not share one.
func ZeekUID(r *reassembly.Record) string {
	var b [64]byte
	buf, _ := r.Client.AppendBinary(b[:0]) // address, zone, port: never fails
	buf, _ = r.Server.AppendBinary(buf)
	buf = binary.BigEndian.AppendUint64(buf, uint64(r.Start))
	buf = binary.BigEndian.AppendUint32(buf, r.C.ISN)
	sum := sha1.Sum(buf)
	s := new(big.Int).SetBytes(sum[:12]).Text(62) // 96 bits, as Zeek's
	return "C" + strings.Repeat("0", 17-len(s)) + s
}

// ZeekConnWriter writes conn.log, as TSV with Zeek's header or as Zeek's
// JSON (one object a line).
type ZeekConnWriter struct {
	out    ZeekOutput
	w      *bufio.Writer
	json   bool
	enc    *json.Encoder
	openAt int64 // offset of the #open time in the file
	row    []string
	// Point fills capture_point and time_wait_end.
	Point Point
}

// ZeekOutput is where conn.log goes: a file, written in order, whose
// #open time is filled in at the end.
type ZeekOutput interface {
	io.Writer
	io.WriterAt
}

// NewZeekConnWriter writes conn.log to out. The TSV header's #open time is
// the capture's first packet, known only at the end: Close writes it in
// place, so the header comes first as Zeek's does and no record is held.
func NewZeekConnWriter(out ZeekOutput, asJSON bool) *ZeekConnWriter {
	zw := &ZeekConnWriter{out: out, w: bufio.NewWriterSize(out, 64<<10), json: asJSON}
	if asJSON {
		zw.enc = json.NewEncoder(zw.w)
		return zw
	}
	head := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t"
	zw.openAt = int64(len(head))
	zw.w.WriteString(head)
	zw.w.WriteString(zeekStamp(0))
	zw.w.WriteString("\n#fields\t" + strings.Join(ZeekConnFields, "\t"))
	zw.w.WriteString("\n#types\t" + strings.Join(zeekConnTypes, "\t") + "\n")
	return zw
}

// zeekStamp is Zeek's #open/#close time format, in UTC.
func zeekStamp(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02-15-04-05")
}

// Write writes one record.
func (zw *ZeekConnWriter) Write(r *reassembly.Record) error {
	z := NewZeekConn(r)
	z.CapturePoint = zw.Point.Name
	z.TimeWaitEnd = timeWaitEndAs(zw.Point, r, reassembly.SideBoth, func(ns int64) zeekTime { return zeekTime(ns) })
	if zw.json {
		return zw.enc.Encode(z)
	}
	zw.row = append(zw.row[:0],
		formatMicros(int64(z.TS)), z.UID, z.OrigH, strconv.Itoa(int(z.OrigP)), z.RespH, strconv.Itoa(int(z.RespP)), z.Proto,
		zeekString(z.Service), zeekDur(z.Duration), zeekCount(z.OrigBytes), zeekCount(z.RespBytes), zeekStr(z.ConnState), zeekBool(z.LocalOrig),
		zeekBool(z.LocalResp), zeekCount(z.MissedBytes), zeekStr(z.History), zeekCount(z.OrigPkts), zeekCount(z.OrigIPBytes),
		zeekCount(z.RespPkts), zeekCount(z.RespIPBytes), zeekSet(z.TunnelParents),
		zeekStr(z.CommunityID), z.Closer, z.Close, z.TimeWaitHolder, z.FinalAck, zeekDur(z.ReuseGap),
		zeekStr(z.CapturePoint), zeekTimeOpt(z.TimeWaitEnd))
	for i, f := range zw.row {
		if i > 0 {
			zw.w.WriteByte('\t')
		}
		zw.w.WriteString(f)
	}
	return zw.w.WriteByte('\n')
}

// Close ends the log: for TSV, the #open time (first packet) is written
// in place and the #close line (last packet) appended. first and last are
// Unix ns.
func (zw *ZeekConnWriter) Close(first, last int64) error {
	if zw.json {
		return zw.w.Flush()
	}
	zw.w.WriteString("#close\t" + zeekStamp(last) + "\n")
	if err := zw.w.Flush(); err != nil {
		return err
	}
	_, err := zw.out.WriteAt([]byte(zeekStamp(first)), zw.openAt)
	return err
}

func zeekTimeOpt(t *zeekTime) string {
	if t == nil {
		return zeekUnset
	}
	return formatMicros(int64(*t))
}

func zeekStr(s string) string {
	if s == "" {
		return zeekUnset
	}
	return s
}

func zeekString(s *string) string {
	if s == nil {
		return zeekUnset
	}
	if *s == "" {
		return "(empty)"
	}
	return *s
}

func zeekCount(n *int64) string {
	if n == nil {
		return zeekUnset
	}
	return strconv.FormatInt(*n, 10)
}

func zeekDur(d *zeekInterval) string {
	if d == nil {
		return zeekUnset
	}
	return formatMicros(int64(*d))
}

func zeekBool(b *bool) string {
	switch {
	case b == nil:
		return zeekUnset
	case *b:
		return "T"
	}
	return "F"
}

// zeekSet writes a set[string]: unset when nil, "(empty)" when empty.
func zeekSet(s []string) string {
	switch {
	case s == nil:
		return zeekUnset
	case len(s) == 0:
		return "(empty)"
	}
	return strings.Join(s, ",")
}
