package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/navgen"
	"github.com/fundflow/fundflow/internal/testkit"
)

// A backfill of generated history loads the files dated within --from/--to
// in date order, shows progress, stops on cancel and, run again, finishes
// the rest: every NAV of every file in range lands exactly once.
func TestBackfillInterruptAndResume(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Open(testkit.Fixture(t, "amfi/navall/NAVAll_2026-08-18_last-6col.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := navgen.LoadTemplate(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	g, err := navgen.New(tmpl, navgen.Options{Days: 8, Seed: 3, Calendar: calendar2026(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WriteNAVAllDir(dir, nil); err != nil {
		t.Fatal(err)
	}
	// Files out of date order on disk: mtimes reversed.
	names, _ := filepath.Glob(filepath.Join(dir, "NAVAll_*.txt"))
	for i, n := range names {
		mt := time.Now().Add(-time.Duration(i) * time.Hour)
		os.Chtimes(n, mt, mt)
	}
	// In range: 2026-08-07 .. 2026-08-17 (the 8 business days end on the
	// 18th; the 15th is a Saturday holiday anyway).
	var inRange []string
	want := map[string]bool{}
	for _, n := range names {
		day := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), "NAVAll_"), ".txt")
		if day >= "2026-08-07" && day <= "2026-08-17" {
			inRange = append(inRange, filepath.Base(n))
			for k := range testkit.CountNAVFile(t, n).Keys {
				want[k] = true
			}
		}
	}
	if len(inRange) != 7 {
		t.Fatalf("%d files in range: %v", len(inRange), inRange)
	}
	e := newOpsEnv(t, `  nav-ingest:
    source:
      kind: file
      path: `+dir+`
    batch_size: 2000
    max_reject_rate: 0.5
`)
	args := []string{"--config", e.cfgPath, "--log-level", "warn", "backfill", "nav", "--dir", dir, "--from", "2026-08-07", "--to", "2026-08-17", "--progress-every", "50ms"}

	// First run: cancelled once two files are done.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			var n int
			e.d.pg.Pool.QueryRow(ctx, `SELECT count(*) FROM ingested_files WHERE pipeline = 'nav-backfill' AND status = 'done'`).Scan(&n)
			if n >= 2 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var out, errOut bytes.Buffer
	err = run(ctx, args, &out, &errOut)
	if !isExit(err, 130) {
		t.Fatalf("interrupted run: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "run the same command again to resume") || !strings.Contains(errOut.String(), "/7 files") {
		t.Fatalf("stderr:\n%s", errOut.String())
	}
	done := count(t, e.d, `SELECT count(*) FROM ingested_files WHERE status = 'done'`)
	if done < 2 || done == 7 {
		t.Fatalf("%d files done after the interruption", done)
	}

	// Second run: resumes and finishes.
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, errOut.String())
	}
	var sum struct {
		Files     int `json:"files"`
		FilesDone int `json:"files_done"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || sum.Files != 7 || sum.FilesDone != 7 {
		t.Fatalf("summary %s (%v)", out.String(), err)
	}
	if !strings.Contains(errOut.String(), "100%  7/7 files") {
		t.Errorf("no final progress line:\n%s", errOut.String())
	}
	if got := count(t, e.d, `SELECT count(*) FROM navs`); got != len(want) {
		t.Fatalf("navs = %d, want %d distinct (scheme, date) over the files in range", got, len(want))
	}
	if got := chCount(t, e.d, `SELECT count() FROM nav_history FINAL`); got != len(want) {
		t.Fatalf("nav_history = %d, want %d", got, len(want))
	}
	var loaded []string
	rows, err := e.d.pg.Pool.Query(context.Background(), `SELECT name FROM ingested_files WHERE status = 'done' ORDER BY done_at`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		loaded = append(loaded, n)
	}
	if strings.Join(loaded, ",") != strings.Join(inRange, ",") {
		t.Fatalf("loaded %v\nwant, in date order, %v", loaded, inRange)
	}
	// nav_latest is the last day's.
	if got := count(t, e.d, `SELECT count(*) FROM nav_latest WHERE nav_date = '2026-08-17'`); got < 8000 {
		t.Fatalf("only %d schemes at 2026-08-17", got)
	}
}
