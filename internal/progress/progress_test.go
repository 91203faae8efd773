package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSnapshotAndPlainLines(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 8, 18, 10, 0, 0, 0, time.UTC)
	tr := New(&out, "backfill", map[string]int64{"a.txt": 100, "b.txt": 300}, time.Hour)
	tr.now = func() time.Time { return clock }
	tr.start = clock
	if s := tr.Snapshot(); s.Fraction != 0 || s.ETA != -1 || s.Files != 2 {
		t.Fatalf("start %+v", s)
	}
	clock = clock.Add(10 * time.Second)
	tr.Rows(1000)
	tr.At("a.txt", 7)
	tr.FileDone("a.txt")
	// 100 of 400 bytes in 10 s: 30 s to go; 1000 rows in 10 s.
	if s := tr.Snapshot(); s.Done != 1 || s.Fraction != 0.25 || s.RowsPerSec != 100 || s.ETA != 30*time.Second {
		t.Fatalf("after a.txt %+v", s)
	}
	// Half of b.txt's lines: 100 + 150 of 400 bytes.
	tr.Lines("b.txt", 10)
	tr.At("b.txt", 5)
	if s := tr.Snapshot(); s.Fraction != 0.625 {
		t.Fatalf("inside b.txt %+v", s)
	}
	tr.Draw()
	if !strings.Contains(out.String(), "backfill  62%  1/2 files  1000 rows  100 rows/s") || strings.Contains(out.String(), "\r") {
		t.Fatalf("plain line %q", out.String())
	}
	tr.FileDone("b.txt")
	if s := tr.Snapshot(); s.Fraction != 1 || s.ETA != 0 {
		t.Fatalf("end %+v", s)
	}
	if IsTerminal(&out) {
		t.Error("a buffer is not a terminal")
	}
}

// On a writer that is not a terminal (a file, a log: `export 2>f`, `audit
// verify 2>f`) a Counter writes plain lines, at most one per interval, and
// never a '\r'; issue 16 found bars redrawn with '\r' in such files. On a
// terminal the same counter redraws one line in place with a bar.
func TestCounterOnAFileWritesPlainLinesOnly(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 8, 18, 10, 0, 0, 0, time.UTC)
	c := NewCounter(&out, "export transactions", "rows", 1000, 5*time.Second)
	c.line.now = func() time.Time { return clock }
	c.start, c.line.last = clock, clock
	for n := int64(1); n <= 1000; n++ {
		clock = clock.Add(100 * time.Millisecond) // 100 s in all: 20 intervals of 5 s
		c.Update(n)
	}
	c.Done(1000)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if strings.Contains(out.String(), "\r") || len(lines) != 21 {
		t.Fatalf("%d lines (want 20 and the final one), '\\r' written: %v\n%q", len(lines), strings.Contains(out.String(), "\r"), out.String())
	}
	if lines[0] != "export transactions   5% 50/1000 rows  5s  10 rows/s" || lines[20] != "export transactions 100% 1000/1000 rows  1m40s  10 rows/s" {
		t.Errorf("first %q, last %q", lines[0], lines[20])
	}

	// No total (audit verify): the count without a percentage.
	out.Reset()
	u := NewCounter(&out, "audit verify:", "rows", 0, time.Second)
	u.Done(0)
	if got := out.String(); got != "audit verify: 0 rows  0s  0 rows/s\n" {
		t.Errorf("unknown total: %q", got)
	}

	// A terminal: in place, with a bar, and one newline at the end.
	out.Reset()
	tty := NewCounter(&out, "x", "rows", 4, time.Hour)
	tty.line.tty = true
	tty.line.Draw(tty.text(1))
	tty.Done(4)
	if got := out.String(); !strings.HasPrefix(got, "\r[######..................] x  25% 1/4 rows") ||
		!strings.Contains(got, "\r[########################] x 100% 4/4 rows") || strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
		t.Errorf("terminal: %q", got)
	}
}
