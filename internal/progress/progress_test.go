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
