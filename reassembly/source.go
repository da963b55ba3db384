package reassembly

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
)

// Packet is one captured frame. Data is valid until the next call to Next:
// it points into the reader's own buffer, so nothing is allocated per packet.
type Packet struct {
	File     int    // index of the file in the list given to Open
	Frame    int    // 1-based frame number within its own file (Wireshark's numbering)
	Time     int64  // Unix nanoseconds
	Data     []byte // captured bytes
	Length   int    // original length on the wire
	LinkType layers.LinkType
}

// FileInfo describes one input file as far as it has been read.
type FileInfo struct {
	Name      string            // as given to Open; "-" is standard input
	Packets   int               // packets read so far
	First     int64             // Unix ns of the first packet read, 0 if none
	Last      int64             // Unix ns of the last packet read, 0 if none
	LinkTypes []layers.LinkType // link types of the packets, in order of first appearance (pcap: the header's)
	Format    string            // "pcap" or "pcapng", with ".gz" appended when gzipped
}

// Sentinel errors wrapped by InputError; test for them with errors.Is.
var (
	// ErrNotCapture: the file starts with neither a pcap nor a pcapng magic.
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrLinkType: a packet or file uses a link type the decoder cannot read.
	ErrLinkType = errors.New("unsupported link type")
	// ErrTruncated: the file (or its gzip stream) ends inside a record.
	ErrTruncated = errors.New("capture cut short")
	// ErrBadLength: a record or block claims a length that cannot be right.
	ErrBadLength = errors.New("impossible record length")
)

// InputError is a problem with one input file. Fatal errors are returned by
// Open or Next and end the whole run; the others are collected by Warnings,
// end only the file they concern, and keep everything read before them.
type InputError struct {
	File   string // name as given to Open; "-" is standard input
	Frame  int    // 1-based frame the problem was met at; 0 when not about a frame
	Offset int64  // byte offset of the record (in the decompressed stream for gzip); -1 if unknown
	Fatal  bool
	Err    error
}

func (e *InputError) Error() string {
	name := e.File
	if name == "-" {
		name = "<stdin>"
	}
	switch {
	case e.Frame > 0 && e.Offset >= 0:
		return fmt.Sprintf("%s: frame %d at offset %d: %v", name, e.Frame, e.Offset, e.Err)
	case e.Frame > 0:
		return fmt.Sprintf("%s: frame %d: %v", name, e.Frame, e.Err)
	case e.Offset >= 0:
		return fmt.Sprintf("%s: offset %d: %v", name, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %v", name, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// IsFatal reports whether err must stop the run: any error from Open or Next
// other than io.EOF is fatal, and only an *InputError can say otherwise.
func IsFatal(err error) bool {
	if err == nil || err == io.EOF {
		return false
	}
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.Fatal
	}
	return true
}

// Source reads one or more captures as a single stream ordered by time.
// Each file keeps one pending packet; the one returned last is the only
// reader advanced, and only on the following Next, which is why zero-copy
// buffers stay valid until then.
type Source struct {
	files    []*fileReader
	heap     []int // indexes into files with a pending packet, min-heap on (time, file)
	last     int   // file whose packet Next returned last, -1 if none
	warnings []error
	err      error // sticky fatal error
}

// Open opens every named file ("-" is stdin, allowed once), checks its
// format, and reads the first packet of each so that the merge can start.
// Any fatal problem in any file fails the whole Open.
func Open(names []string, stdin io.Reader) (*Source, error) {
	if len(names) == 0 {
		return nil, errors.New("no input files")
	}
	s := &Source{last: -1}
	seenStdin := false
	for i, name := range names {
		var r io.Reader
		var c io.Closer
		if name == "-" {
			if seenStdin {
				s.Close()
				return nil, &InputError{File: name, Offset: -1, Fatal: true, Err: errors.New("standard input given more than once")}
			}
			if stdin == nil {
				s.Close()
				return nil, &InputError{File: name, Offset: -1, Fatal: true, Err: errors.New("no standard input")}
			}
			seenStdin = true
			r = stdin
		} else {
			f, err := os.Open(name)
			if err != nil {
				s.Close()
				return nil, &InputError{File: name, Offset: -1, Fatal: true, Err: unwrapPathError(err)}
			}
			r, c = f, f
		}
		fr, err := newFileReader(i, name, r, c)
		if err != nil {
			if c != nil {
				c.Close()
			}
			s.Close()
			return nil, err
		}
		s.files = append(s.files, fr)
	}
	// Prime every file only once all are known to be captures, so a bad
	// file late in the list fails fast without reading the others.
	for i, f := range s.files {
		ok, err := s.fill(f)
		if err != nil {
			s.Close()
			return nil, err
		}
		if ok {
			s.heap = append(s.heap, i)
			s.up(len(s.heap) - 1)
		}
	}
	return s, nil
}

// unwrapPathError drops the *PathError wrapper, whose text would repeat
// the file name InputError already prints.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// Next fills p with the earliest pending packet of all files. It returns
// io.EOF when every file is finished, or a fatal *InputError, after which it
// keeps returning that error.
func (s *Source) Next(p *Packet) error {
	if s.err != nil {
		return s.err
	}
	if s.last >= 0 {
		// The packet returned last is at the top of the heap: advance its
		// file now that the caller is done with its buffer.
		f := s.files[s.last]
		s.last = -1
		ok, err := s.fill(f)
		if err != nil {
			s.err = err
			return err
		}
		if ok {
			s.down(0)
		} else {
			n := len(s.heap) - 1
			s.heap[0] = s.heap[n]
			s.heap = s.heap[:n]
			if n > 0 {
				s.down(0)
			}
		}
	}
	if len(s.heap) == 0 {
		return io.EOF
	}
	i := s.heap[0]
	f := s.files[i]
	// Field by field: a composite literal is built on the stack and then
	// copied, and the wide loads of that copy stall on the narrow stores
	// just made (no store forwarding).
	p.File = i
	p.Frame = f.frame
	p.Time = f.time
	p.Data = f.data
	p.Length = f.length
	p.LinkType = f.linkType
	s.last = i
	return nil
}

// fill reads the next packet of f into its pending slot. It reports false
// when the file is finished; a non-fatal problem finishes it with a warning.
func (s *Source) fill(f *fileReader) (bool, error) {
	if f.done {
		return false, nil
	}
	err := f.read()
	if len(f.pending) > 0 {
		s.warnings = append(s.warnings, f.pending...)
		f.pending = f.pending[:0]
	}
	if err == nil {
		return true, nil
	}
	f.done = true
	defer func() { s.warnings = append(s.warnings, f.noteTotals()...) }()
	if err == io.EOF {
		return false, nil
	}
	if IsFatal(err) {
		return false, err
	}
	s.warnings = append(s.warnings, err)
	return false, nil
}

// less orders heap entries by time, then by file order, so that ties go to
// the file listed first.
func (s *Source) less(a, b int) bool {
	fa, fb := s.files[s.heap[a]], s.files[s.heap[b]]
	if fa.time != fb.time {
		return fa.time < fb.time
	}
	return fa.index < fb.index
}

func (s *Source) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !s.less(j, i) {
			break
		}
		s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
		j = i
	}
}

func (s *Source) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && s.less(r, l) {
			j = r
		}
		if !s.less(j, i) {
			return
		}
		s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
		i = j
	}
}

// Warnings returns the non-fatal problems met so far, in the order found.
func (s *Source) Warnings() []error {
	return append([]error(nil), s.warnings...)
}

// Files describes each input file, in the order given to Open.
func (s *Source) Files() []FileInfo {
	out := make([]FileInfo, len(s.files))
	for i, f := range s.files {
		out[i] = f.info
		out[i].LinkTypes = append([]layers.LinkType(nil), f.info.LinkTypes...)
	}
	return out
}

// Close closes every file Open opened; standard input is left open.
func (s *Source) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.close(); err != nil && first == nil {
			first = err
		}
	}
	s.heap = s.heap[:0]
	s.last = -1
	if s.err == nil {
		s.err = errors.New("source closed")
	}
	return first
}
