package api

import (
	"bytes"
	"io"
	"os"
)

// spoolMemory is how much of a response spool keeps in memory before it
// moves to a temporary file.
const spoolMemory = 16 << 20

// spool collects a response that must be complete before it is sent.
type spool struct {
	mem  bytes.Buffer
	file *os.File
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) > spoolMemory {
		f, err := os.CreateTemp("", "fundflow-spool-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // gone when closed
		if _, err := s.mem.WriteTo(f); err != nil {
			f.Close()
			return 0, err
		}
		s.file = f
	}
	if s.file != nil {
		return s.file.Write(p)
	}
	return s.mem.Write(p)
}

func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.file == nil {
		return s.mem.WriteTo(w)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, s.file)
}

func (s *spool) Close() error {
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}
