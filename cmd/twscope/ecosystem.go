package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/twscope/twscope/analyze"
	"github.com/twscope/twscope/reassembly"
	"github.com/twscope/twscope/report"
)

// ecosystemFlags are analyze's outputs for other tools: Zeek's conn.log
// (TSV and JSON) and Parquet. Each streams the records as they are
// finished.
type ecosystemFlags struct {
	zeekConn     string
	zeekConnJSON string
	parquet      string
	point        report.Point // capture_point and time_wait_end of the records

	outputs []ecosystemOutput
}

// ecosystemOutput is one open output: write takes each record, finish
// ends the file given the capture's first and last packet times.
type ecosystemOutput struct {
	path   string
	write  func(*reassembly.Record) error
	finish func(first, last int64) error
	file   *os.File
	err    error
}

func (e *ecosystemFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&e.zeekConn, "zeek-conn", "", "write Zeek's conn.log (TSV, with Zeek's header) to `FILE`")
	fl.StringVar(&e.zeekConnJSON, "zeek-conn-json", "", "write Zeek's conn.log as JSON, one object a line, to `FILE`")
	fl.StringVar(&e.parquet, "parquet", "", "write the connection records as Parquet to `FILE`")
}

// open creates the files asked for and returns the function that feeds
// them each record (nil when none was asked for).
func (e *ecosystemFlags) open() (func(*reassembly.Record), error) {
	for _, p := range []struct {
		flag, path string
	}{{"--zeek-conn", e.zeekConn}, {"--zeek-conn-json", e.zeekConnJSON}, {"--parquet", e.parquet}} {
		if p.path == "-" {
			e.close()
			return nil, usageError(fmt.Errorf("%s needs a file, not standard output", p.flag))
		}
	}
	add := func(path string, mk func(f *os.File) ecosystemOutput) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			e.close()
			return &exitError{exitBadInput, err}
		}
		o := mk(f)
		o.path, o.file = path, f
		e.outputs = append(e.outputs, o)
		return nil
	}
	zeek := func(asJSON bool) func(f *os.File) ecosystemOutput {
		return func(f *os.File) ecosystemOutput {
			zw := report.NewZeekConnWriter(f, asJSON)
			zw.Point = e.point
			return ecosystemOutput{write: zw.Write, finish: zw.Close}
		}
	}
	if err := add(e.zeekConn, zeek(false)); err != nil {
		return nil, err
	}
	if err := add(e.zeekConnJSON, zeek(true)); err != nil {
		return nil, err
	}
	err := add(e.parquet, func(f *os.File) ecosystemOutput {
		pw := report.NewParquetWriter(f)
		pw.Point = e.point
		return ecosystemOutput{write: pw.Write, finish: func(int64, int64) error { return pw.Close() }}
	})
	if err != nil || len(e.outputs) == 0 {
		return nil, err
	}
	return func(r *reassembly.Record) {
		for i := range e.outputs {
			if o := &e.outputs[i]; o.err == nil {
				o.err = o.write(r)
			}
		}
	}, nil
}

// finish ends every output; the capture times come from the result.
func (e *ecosystemFlags) finish(res *analyze.Result) error {
	first, last := captureSpan(res)
	var errs []error
	for _, o := range e.outputs {
		err := o.err
		if err == nil {
			err = o.finish(first, last)
		}
		if cerr := o.file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", o.path, err))
		}
	}
	e.outputs = nil
	if err := errors.Join(errs...); err != nil {
		return &exitError{exitBadInput, err}
	}
	return nil
}

// close closes the files without finishing them (the run failed early).
func (e *ecosystemFlags) close() {
	for _, o := range e.outputs {
		o.file.Close()
	}
	e.outputs = nil
}

// captureSpan is the first and last packet time over all captures (Unix
// ns; 0 when none was read), for conn.log's #open and #close.
func captureSpan(res *analyze.Result) (first, last int64) {
	for _, c := range res.Captures {
		if c.Packets == 0 {
			continue
		}
		if c.First == nil || c.Last == nil {
			continue
		}
		f, l := int64(*c.First), int64(*c.Last)
		if first == 0 || f < first {
			first = f
		}
		if l > last {
			last = l
		}
	}
	return first, last
}
