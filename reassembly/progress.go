package reassembly

// Position is how many bytes of the capture files, as stored (compressed
// for gzip), have been read so far: against the files' sizes it says how
// far a run has come. Call it from the goroutine that reads (Config.Progress).
func (s *Source) Position() int64 {
	var n int64
	for _, f := range s.files {
		n += f.raw.n
	}
	return n
}
