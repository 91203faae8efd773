// Package progress draws the progress of a long load of files on a
// terminal: one line redrawn in place (bar, percent, files done, rows,
// rows/s, ETA), or, when the output is not a terminal (a log, CI), a plain
// line every few seconds. Its counters are safe for concurrent use: the
// engine's reader and writer goroutines report to it.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Tracker counts a load of files and draws it.
type Tracker struct {
	w        io.Writer
	label    string
	tty      bool
	every    time.Duration
	now      func() time.Time
	start    time.Time
	mu       sync.Mutex
	files    int   // total files
	bytes    int64 // total bytes
	done     int   // files finished (loaded, skipped or rejected)
	doneB    int64 // their bytes
	rows     int64 // records committed
	sizes    map[string]int64
	lines    map[string]int // total lines of a file, once known
	cur      string         // the file being committed
	curLine  int            // its last committed line
	lastLine int            // width of the last drawn tty line
	stop     chan struct{}
	stopped  chan struct{}
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// New tracks a load of the given files (name -> size) and draws to w: in
// place every 200 ms on a terminal, else a plain line every `every`.
func New(w io.Writer, label string, sizes map[string]int64, every time.Duration) *Tracker {
	t := &Tracker{w: w, label: label, tty: IsTerminal(w), every: every, now: time.Now, sizes: sizes, lines: map[string]int{},
		files: len(sizes)}
	for _, s := range sizes {
		t.bytes += s
	}
	if t.tty {
		t.every = 200 * time.Millisecond
	}
	t.start = t.now()
	return t
}

// Start draws in the background until Stop.
func (t *Tracker) Start() {
	t.stop, t.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.stopped)
		tick := time.NewTicker(t.every)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				t.Draw()
			}
		}
	}()
}

// Stop ends the background drawing and draws the final state on its own line.
func (t *Tracker) Stop() {
	if t.stop != nil {
		close(t.stop)
		<-t.stopped
		t.stop = nil
	}
	t.Draw()
	if t.tty {
		fmt.Fprintln(t.w)
	}
}

// Lines records how many lines a file has (for progress inside a file).
func (t *Tracker) Lines(file string, n int) {
	t.mu.Lock()
	t.lines[file] = n
	t.mu.Unlock()
}

// At records that the file's lines up to line are committed.
func (t *Tracker) At(file string, line int) {
	t.mu.Lock()
	t.cur, t.curLine = file, line
	t.mu.Unlock()
}

// Rows adds committed records.
func (t *Tracker) Rows(n int) {
	t.mu.Lock()
	t.rows += int64(n)
	t.mu.Unlock()
}

// FileDone counts a file as finished (loaded, skipped as seen, or rejected).
func (t *Tracker) FileDone(file string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	t.doneB += t.sizes[file]
	if t.cur == file {
		t.cur, t.curLine = "", 0
	}
}

// Snapshot is the tracker's state.
type Snapshot struct {
	Files, Done int
	Rows        int64
	Fraction    float64       // of the bytes, 0..1
	Elapsed     time.Duration // since New
	RowsPerSec  float64
	ETA         time.Duration // -1 while unknown
}

// Snapshot returns the current state.
func (t *Tracker) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Snapshot{Files: t.files, Done: t.done, Rows: t.rows, Elapsed: t.now().Sub(t.start), ETA: -1}
	done := float64(t.doneB)
	if n := t.lines[t.cur]; t.cur != "" && n > 0 {
		done += float64(t.sizes[t.cur]) * min(1, float64(t.curLine)/float64(n))
	}
	switch {
	case t.bytes > 0:
		s.Fraction = done / float64(t.bytes)
	case t.files > 0:
		s.Fraction = float64(t.done) / float64(t.files)
	default:
		s.Fraction = 1
	}
	if secs := s.Elapsed.Seconds(); secs > 0 {
		s.RowsPerSec = float64(t.rows) / secs
		if s.Fraction > 0 {
			s.ETA = time.Duration(secs * (1 - s.Fraction) / s.Fraction * float64(time.Second)).Round(time.Second)
		}
	}
	return s
}

// Draw writes the current state: in place on a terminal, as a line otherwise.
func (t *Tracker) Draw() {
	s := t.Snapshot()
	eta := "--"
	if s.ETA >= 0 {
		eta = s.ETA.String()
	}
	text := fmt.Sprintf("%s %3.0f%%  %d/%d files  %d rows  %.0f rows/s  elapsed %s  ETA %s",
		t.label, 100*s.Fraction, s.Done, s.Files, s.Rows, s.RowsPerSec, s.Elapsed.Round(time.Second), eta)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.tty {
		fmt.Fprintln(t.w, text)
		return
	}
	const width = 24
	filled := int(s.Fraction * width)
	line := fmt.Sprintf("\r[%s%s] %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), text)
	pad := t.lastLine - len(line)
	t.lastLine = len(line)
	if pad > 0 {
		line += strings.Repeat(" ", pad)
	}
	fmt.Fprint(t.w, line)
}
