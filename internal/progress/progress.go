// Package progress is fundflow's one progress reporter: a Line redrawn in
// place with a bar on a terminal, or, when the output is not a terminal (a
// file, a log, CI), a plain line at most every few seconds, never a '\r'.
// Counter counts rows or files of a known (or unknown) total on a Line:
// export, audit verify, gen nav-history, gen sips. Tracker counts a load of
// files by bytes and lines (backfill). Both are safe for concurrent use: the
// engine's reader and writer goroutines report to them.
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
	w       io.Writer
	label   string
	tty     bool
	every   time.Duration
	now     func() time.Time
	start   time.Time
	mu      sync.Mutex
	files   int   // total files
	bytes   int64 // total bytes
	done    int   // files finished (loaded, skipped or rejected)
	doneB   int64 // their bytes
	rows    int64 // records committed
	sizes   map[string]int64
	lines   map[string]int // total lines of a file, once known
	cur     string         // the file being committed
	curLine int            // its last committed line
	line    *Line
	stop    chan struct{}
	stopped chan struct{}
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
		files: len(sizes), line: NewLine(w, every)}
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
	t.line.Final(t.text())
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
	t.line.Draw(t.text())
}

func (t *Tracker) text() Text {
	s := t.Snapshot()
	eta := "--"
	if s.ETA >= 0 {
		eta = s.ETA.String()
	}
	return Text{Fraction: s.Fraction, Words: fmt.Sprintf("%s %3.0f%%  %d/%d files  %d rows  %.0f rows/s  elapsed %s  ETA %s",
		t.label, 100*s.Fraction, s.Done, s.Files, s.Rows, s.RowsPerSec, s.Elapsed.Round(time.Second), eta)}
}

// Text is one state of a progress line: its words and, for the bar drawn
// before them on a terminal, the fraction done (negative: unknown, no bar).
type Text struct {
	Fraction float64
	Words    string
}

// Line is where a progress report goes. On a terminal each Draw redraws
// one line in place ('\r', a bar, the words); anywhere else each Draw is a
// plain line of the words and Show draws at most one every `every`.
type Line struct {
	w     io.Writer
	tty   bool
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	last  time.Time // of the last draw
	width int       // of the last line drawn in place
}

// NewLine reports to w: in place at most every 200 ms on a terminal, else a
// line at most every `every`.
func NewLine(w io.Writer, every time.Duration) *Line {
	l := &Line{w: w, tty: IsTerminal(w), every: every, now: time.Now}
	if l.tty {
		l.every = 200 * time.Millisecond
	}
	l.last = l.now() // the first line comes after one interval: a short job prints only its final line
	return l
}

// Show draws x when an interval has passed since the last draw.
func (l *Line) Show(x Text) {
	l.mu.Lock()
	due := l.now().Sub(l.last) >= l.every
	l.mu.Unlock()
	if due {
		l.Draw(x)
	}
}

// Draw draws x now.
func (l *Line) Draw(x Text) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = l.now()
	if !l.tty {
		fmt.Fprintln(l.w, x.Words)
		return
	}
	line := "\r" + bar(x.Fraction) + x.Words
	if pad := l.width - len(line); pad > 0 {
		line += strings.Repeat(" ", pad)
	}
	l.width = len(line)
	fmt.Fprint(l.w, line)
}

// Final draws x as the report's last line and ends it.
func (l *Line) Final(x Text) {
	l.Draw(x)
	if l.tty {
		fmt.Fprintln(l.w)
	}
}

// bar is "[####....] " for a fraction in 0..1, "" when it is unknown.
func bar(f float64) string {
	if f < 0 {
		return ""
	}
	const width = 24
	filled := int(min(1, f) * width)
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "] "
}

// Counter reports n of a total (rows, files) on a Line: "LABEL 42% 420/1000
// rows 3s 140 rows/s", or without a total "LABEL 420 rows ...".
type Counter struct {
	line  *Line
	label string
	unit  string
	total int64 // 0: unknown
	start time.Time
}

// NewCounter counts units of total (0: unknown) on w; on a file or log a
// line at most every `every`.
func NewCounter(w io.Writer, label, unit string, total int64, every time.Duration) *Counter {
	l := NewLine(w, every)
	return &Counter{line: l, label: label, unit: unit, total: total, start: l.now()}
}

// Update reports n done, when an interval has passed.
func (c *Counter) Update(n int64) { c.line.Show(c.text(n)) }

// Done reports n done as the last line.
func (c *Counter) Done(n int64) { c.line.Final(c.text(n)) }

func (c *Counter) text(n int64) Text {
	el := c.line.now().Sub(c.start)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	tail := fmt.Sprintf("%s  %s  %.0f %s/s", c.unit, el.Round(100*time.Millisecond), rate, c.unit)
	if c.total <= 0 {
		return Text{Fraction: -1, Words: fmt.Sprintf("%s %d %s", c.label, n, tail)}
	}
	f := min(1, float64(n)/float64(c.total))
	return Text{Fraction: f, Words: fmt.Sprintf("%s %3.0f%% %d/%d %s", c.label, 100*f, n, c.total, tail)}
}
