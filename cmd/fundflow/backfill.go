package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/progress"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
	"github.com/fundflow/fundflow/transforms/nav"
)

const backfillUsage = `usage:
  fundflow backfill nav --dir DIR [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--glob PATTERN]
      Load a folder of NAV files (daily NAVAll files and history reports) in
      date order through nav-ingest's parser, validation and sinks. A file's
      date is the date in its name (a name with two dates is a range), else
      its business date; --from/--to keep the files dated within them (a
      range that overlaps is loaded whole). Progress goes to stderr: a bar
      on a terminal, a line every 5 s otherwise. Ctrl-C or SIGTERM stops
      after the batch in flight; the same command again resumes where it
      stopped: finished files are recognised by their SHA-256 and skipped, a
      file cut short continues after its last committed line. Prints a JSON
      summary. Needs the config's pipelines.nav-ingest section (batch size,
      thresholds) but not its source.`

// backfillPipeline names the backfill's runs, quarantine, lock and file
// registry: a backfill can run beside the scheduled nav-ingest.
const backfillPipeline = "nav-backfill"

func cmdBackfill(ctx context.Context, g globals, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "nav" {
		return usageErr("%s", backfillUsage)
	}
	fs := flag.NewFlagSet("backfill nav", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "folder of NAV files")
	fromS := fs.String("from", "", "first date, YYYY-MM-DD")
	toS := fs.String("to", "", "last date, YYYY-MM-DD")
	glob := fs.String("glob", "", "file name pattern, e.g. NAVAll_*.txt")
	every := fs.Duration("progress-every", 5*time.Second, "plain progress line interval when stderr is not a terminal")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return usageErr("backfill nav: bad arguments (%v)\n%s", err, backfillUsage)
	}
	if *dir == "" {
		return usageErr("backfill nav needs --dir\n%s", backfillUsage)
	}
	var from, to fund.Date
	for _, f := range []struct {
		s   string
		d   *fund.Date
		tag string
	}{{*fromS, &from, "--from"}, {*toS, &to, "--to"}} {
		if f.s == "" {
			continue
		}
		d, err := fund.ParseISODate(f.s)
		if err != nil {
			return usageErr("%s: %v", f.tag, err)
		}
		*f.d = d
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return usageErr("--to %s is before --from %s", to, from)
	}
	if *glob != "" {
		if _, err := path.Match(*glob, ""); err != nil {
			return usageErr("--glob %q: %v", *glob, err)
		}
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return usageErr("--dir %s: not a folder (%v)", *dir, err)
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	if cfg.Pipelines.NAVIngest == nil {
		return usageErr("backfill nav uses nav-ingest's settings: add a pipelines.nav-ingest section to the config")
	}
	d, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	unlock, err := d.pg.TryLock(ctx, "pipeline:"+backfillPipeline)
	if err != nil {
		return err
	}
	defer unlock()

	store := &openTracker{Store: &feed.Dated{Store: file.Dir{Path: *dir}, From: from, To: to, DateOf: navFileDates(*dir)}}
	listed, err := store.List(ctx)
	if err != nil {
		return err
	}
	sizes := map[string]int64{}
	for _, f := range listed {
		if ok, _ := path.Match(*glob, f.Name); *glob == "" || ok {
			sizes[f.Name] = f.Size
		}
	}
	tr := progress.New(stderr, "backfill", sizes, *every)
	// The run closes the pipeline's sinks and its source (the one set below).
	p, err := navIngestFrom(ctx, d, store)
	if err != nil {
		return err
	}
	reg := &doneTracker{Registry: d.pg, store: store, t: tr}
	decode := func(r io.Reader, f fund.Source) (func() (nav.Item, error), error) {
		if rs, ok := r.(io.ReadSeeker); ok {
			if n, err := countLines(rs); err == nil {
				tr.Lines(f.File, n)
			}
		}
		return nav.Decode(r, f)
	}
	src := feed.NewSource[nav.Item](backfillPipeline, store, reg, decode, feed.Options{
		Glob: *glob, BatchSize: cfg.Pipelines.NAVIngest.BatchSize, Log: d.log,
		Progress: func(file string, line int) { reg.committing(file); tr.At(file, line) },
		Undo:     navUndo(d),
	})
	// The same pipeline as nav-ingest (stage, sinks, quarantine, runs),
	// reading the folder in date order under its own name.
	p.Name = backfillPipeline
	p.Source = &rowCounter{Source: src, t: tr}
	fmt.Fprintf(stderr, "backfill: %d files in %s", len(sizes), *dir)
	if !from.IsZero() || !to.IsZero() {
		fmt.Fprintf(stderr, " dated %s..%s", dateOrDots(from), dateOrDots(to))
	}
	fmt.Fprintln(stderr)
	tr.Start()
	st, runErr := p.Run(ctx)
	tr.Stop()
	snap := tr.Snapshot()
	out := struct {
		runSummary
		Files     int     `json:"files"`
		FilesDone int     `json:"files_done"`
		Seconds   float64 `json:"seconds"`
		RowsPerS  int64   `json:"rows_per_second"`
	}{summary(backfillPipeline, st), snap.Files, snap.Done, snap.Elapsed.Round(10 * time.Millisecond).Seconds(), int64(snap.RowsPerSec)}
	if runErr != nil && errors.Is(runErr, context.Canceled) && ctx.Err() != nil {
		fmt.Fprintf(stderr, "backfill: interrupted after %d of %d files; run the same command again to resume\n", snap.Done, snap.Files)
		json.NewEncoder(stdout).Encode(out) //nolint:errcheck
		return &exitError{code: 130, err: errors.New("backfill interrupted")}
	}
	if runErr != nil {
		return runErr
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func dateOrDots(d fund.Date) string {
	if d.IsZero() {
		return "…"
	}
	return d.String()
}

// navFileDates dates a NAV file whose name has no date by its content: a
// NAVAll file by its business date, a history report by its first and last
// days. A file that is not a NAV file gets no date (and is left out).
func navFileDates(dir string) func(ctx context.Context, name string) (fund.Date, fund.Date, error) {
	return func(ctx context.Context, name string) (fund.Date, fund.Date, error) {
		f, err := os.Open(filepath.Join(dir, filepath.Base(name)))
		if err != nil {
			return fund.Date{}, fund.Date{}, err
		}
		defer f.Close()
		p, err := amfi.NewParser(f)
		if err != nil {
			return fund.Date{}, fund.Date{}, nil
		}
		counts := map[fund.Date]int{}
		var lo, hi fund.Date
		for {
			row, err := p.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fund.Date{}, fund.Date{}, fmt.Errorf("date %s: %w", name, err)
			}
			if row.Reason != "" {
				continue
			}
			dt := row.Record.Date
			counts[dt]++
			if lo.IsZero() || dt.Before(lo) {
				lo = dt
			}
			if dt.After(hi) {
				hi = dt
			}
		}
		if p.Layout() == amfi.LayoutHistory {
			return lo, hi, nil
		}
		b := amfi.BusinessDateOf(p.Layout(), counts)
		return b, b, nil
	}
}

// countLines counts the lines of a seekable file and rewinds it.
func countLines(rs io.ReadSeeker) (int, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(rs, 1<<20)
	n, last := 0, byte('\n')
	buf := make([]byte, 1<<20)
	for {
		k, err := br.Read(buf)
		if k > 0 {
			n += bytes.Count(buf[:k], []byte{'\n'})
			last = buf[k-1]
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	_, err = rs.Seek(start, io.SeekStart)
	return n, err
}

// openTracker remembers the file the source opened last: the feed asks the
// registry about a file right after opening it, by fingerprint only.
type openTracker struct {
	feed.Store
	mu   sync.Mutex
	last string
}

func (o *openTracker) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	o.mu.Lock()
	o.last = name
	o.mu.Unlock()
	return o.Store.Open(ctx, name)
}

func (o *openTracker) lastOpened() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// doneTracker tells the progress tracker when a file is finished: loaded,
// skipped as loaded before, or rejected.
type doneTracker struct {
	feed.Registry
	store *openTracker
	t     *progress.Tracker
	mu    sync.Mutex
	cur   string // the file whose checkpoint is being committed
}

func (r *doneTracker) committing(file string) {
	r.mu.Lock()
	r.cur = file
	r.mu.Unlock()
}

func (r *doneTracker) FileStatus(ctx context.Context, pipeline, sha string) (string, error) {
	st, err := r.Registry.FileStatus(ctx, pipeline, sha)
	if err == nil && (st == "done" || st == "rejected" || st == "failed") {
		r.t.FileDone(r.store.lastOpened())
	}
	return st, err
}

func (r *doneTracker) FileDone(ctx context.Context, pipeline, sha string, cp pipelines.Checkpoint) error {
	if err := r.Registry.FileDone(ctx, pipeline, sha, cp); err != nil {
		return err
	}
	r.mu.Lock()
	cur := r.cur
	r.mu.Unlock()
	r.t.FileDone(cur)
	return nil
}

func (r *doneTracker) FileRejected(ctx context.Context, pipeline, sha, name string, size int64, reason string) error {
	if err := r.Registry.FileRejected(ctx, pipeline, sha, name, size, reason); err != nil {
		return err
	}
	r.t.FileDone(name)
	return nil
}

func (r *doneTracker) FileFailed(ctx context.Context, pipeline, sha, name string, size int64, reason string) error {
	if err := r.Registry.FileFailed(ctx, pipeline, sha, name, size, reason); err != nil {
		return err
	}
	r.t.FileDone(name)
	return nil
}

// rowCounter counts the records of each batch once its checkpoint commits
// (commits come in the order batches were read).
type rowCounter struct {
	pipelines.Source[nav.Item]
	t       *progress.Tracker
	mu      sync.Mutex
	pending []int
}

func (c *rowCounter) Read(ctx context.Context) (pipelines.Batch[nav.Item], error) {
	b, err := c.Source.Read(ctx)
	if err == nil {
		c.mu.Lock()
		c.pending = append(c.pending, len(b.Items))
		c.mu.Unlock()
	}
	return b, err
}

// FailUnit passes a failed file on to the feed source (pipelines.UnitFailer):
// without it the engine could not skip a poison file and would fail the
// whole backfill.
func (c *rowCounter) FailUnit(ctx context.Context, cp pipelines.Checkpoint, err error) error {
	uf, ok := c.Source.(pipelines.UnitFailer)
	if !ok {
		return err
	}
	return uf.FailUnit(ctx, cp, err)
}

func (c *rowCounter) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	if err := c.Source.Commit(ctx, cp); err != nil {
		return err
	}
	c.mu.Lock()
	n := 0
	if len(c.pending) > 0 {
		n, c.pending = c.pending[0], c.pending[1:]
	}
	c.mu.Unlock()
	c.t.Rows(n)
	return nil
}
