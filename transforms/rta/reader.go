package rta

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLineBytes bounds one line. A feed's lines are a few hundred bytes; a
// longer line means the input is not a feed and the parse fails.
const MaxLineBytes = 1 << 20

// maxZipBytes bounds a zip archive read into memory when the input cannot be
// read at random (the feed source hands over a local file, which can).
const maxZipBytes = 4 << 30

var errLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLineBytes)

// Decompress returns the text of a feed: r itself, or what a gzip stream or
// a zip archive with exactly one file holds. The kind is recognised by the
// first bytes, not by the file name. The returned close releases the
// decompressor.
func Decompress(r io.Reader) (io.Reader, func() error, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	nop := func() error { return nil }
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, &HeaderError{Problem: fmt.Sprintf("a broken gzip stream: %v", err)}
		}
		return zr, zr.Close, nil
	case bytes.Equal(magic, []byte("PK\x03\x04")), bytes.Equal(magic, []byte("PK\x05\x06")): // a local file header, or an empty archive
		return unzip(r, br)
	}
	return br, nop, nil
}

// unzip opens the single file of a zip archive.
func unzip(orig io.Reader, br *bufio.Reader) (io.Reader, func() error, error) {
	var ra io.ReaderAt
	var size int64
	if f, ok := orig.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		n, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, nil, fmt.Errorf("zip: %w", err)
		}
		ra, size = f, n
	} else {
		data, err := io.ReadAll(io.LimitReader(br, maxZipBytes+1))
		if err != nil {
			return nil, nil, fmt.Errorf("zip: %w", err)
		}
		if len(data) > maxZipBytes {
			return nil, nil, &HeaderError{Problem: fmt.Sprintf("a zip archive larger than %d bytes", maxZipBytes)}
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, nil, &HeaderError{Problem: fmt.Sprintf("a broken zip archive: %v", err)}
	}
	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() && !strings.HasPrefix(f.Name, "__MACOSX/") {
			files = append(files, f)
		}
	}
	if len(files) != 1 {
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Name
		}
		return nil, nil, &HeaderError{Problem: fmt.Sprintf("a zip archive must hold exactly one feed file, this one holds %d %q", len(files), names)}
	}
	rc, err := files[0].Open()
	if err != nil {
		return nil, nil, &HeaderError{Problem: fmt.Sprintf("zip entry %s: %v", files[0].Name, err)}
	}
	return rc, rc.Close, nil
}

// lineReader reads lines of any length up to MaxLineBytes, ending in LF,
// CRLF or CR CR LF (a CRLF file re-saved in text mode); a lone CR inside a
// line is kept.
type lineReader struct {
	br   *bufio.Reader
	long []byte
	n    int // lines read
}

func newLineReader(r io.Reader) *lineReader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &lineReader{br: br}
}

// next returns the next line without its terminator; the slice is valid
// until the next call. io.EOF after the last line (a last line without a
// terminator is a line).
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = lr.br.ReadSlice('\n')
			lr.long = append(lr.long, line...)
			if len(lr.long) > MaxLineBytes {
				return nil, errLineTooLong
			}
		}
		line = lr.long
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(line) == 0 && errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	lr.n++
	line = bytes.TrimSuffix(line, []byte("\n"))
	for len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// span is one field of a line: line[start:end], and whether it was quoted
// with doubled quotes inside (so it must be unescaped).
type span struct {
	start, end int
	escaped    bool
}

// errQuote is a field whose quotes do not close properly.
var errQuote = errors.New("unbalanced or stray double quote")

// split cuts line at delim into spans (appended to out[:0]). A field may be
// enclosed in double quotes, with "" for a quote inside; the delimiter is
// then part of the field. Quotes must close before the next delimiter.
func split(line []byte, delim byte, out []span) ([]span, error) {
	out = out[:0]
	i := 0
	for {
		// Skip spaces before an opening quote, as CSV writers sometimes add them.
		j := i
		for j < len(line) && line[j] == ' ' {
			j++
		}
		if j < len(line) && line[j] == '"' {
			s := span{start: j + 1}
			k := j + 1
			for {
				q := bytes.IndexByte(line[k:], '"')
				if q < 0 {
					return out, errQuote
				}
				k += q
				if k+1 < len(line) && line[k+1] == '"' {
					s.escaped = true
					k += 2
					continue
				}
				break
			}
			s.end = k
			k++
			for k < len(line) && line[k] == ' ' {
				k++
			}
			out = append(out, s)
			if k == len(line) {
				return out, nil
			}
			if line[k] != delim {
				return out, errQuote
			}
			i = k + 1
			continue
		}
		d := bytes.IndexByte(line[i:], delim)
		end := len(line)
		if d >= 0 {
			end = i + d
		}
		if bytes.IndexByte(line[i:end], '"') >= 0 {
			return out, errQuote
		}
		out = append(out, span{start: i, end: end})
		if d < 0 {
			return out, nil
		}
		i = end + 1
	}
}

// text returns the field's value with surrounding spaces removed and
// doubled quotes undone.
func (s span) text(line []byte) string {
	b := bytes.TrimSpace(line[s.start:s.end])
	if s.escaped {
		return strings.ReplaceAll(string(b), `""`, `"`)
	}
	return string(b)
}

// delimiterOf picks the delimiter of a header line: a pipe if it has one
// outside quotes, else a comma.
func delimiterOf(header []byte) byte {
	in := false
	for _, c := range header {
		switch {
		case c == '"':
			in = !in
		case c == '|' && !in:
			return '|'
		}
	}
	return ','
}
