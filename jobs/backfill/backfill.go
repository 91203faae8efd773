// Package backfill is the NAV backfill job: a folder of NAV files (daily
// NAVAll files and history reports) loaded in date order through
// nav-ingest's parser, validation and sinks, under its own name
// (nav-backfill: its runs, quarantine, lock and file registry), so a
// backfill can run beside the scheduled nav-ingest. It reports progress
// (rows/s, ETA) and resumes where it stopped: finished files are known by
// their SHA-256, a file cut short continues after its last committed line.
package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/progress"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/supervise"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
	"github.com/fundflow/fundflow/transforms/nav"
)

// Name names the backfill's runs, quarantine, lock and file registry.
const Name = "nav-backfill"

// Options say what to load and where progress goes.
type Options struct {
	Dir      string
	From, To fund.Date // keep the files dated within them (zero: open); a range that overlaps is loaded whole
	Glob     string    // file name pattern; "" all
	Progress io.Writer // a bar on a terminal, else a line every Every
	Every    time.Duration
}

// Result is what a backfill did.
type Result struct {
	Stats     pipelines.Stats
	Files     int // files to load
	FilesDone int // loaded, skipped as loaded before, or rejected
	Elapsed   time.Duration
	RowsPerS  float64
}

// Run loads the folder under the job's single-runner lock. Cancelling ctx
// stops it after the batch in flight; the same Run again resumes.
func Run(ctx context.Context, d navingest.Deps, c *config.NAVIngest, opt Options) (res Result, err error) {
	err = supervise.Single(ctx, d.PG, Name, func(ctx context.Context) error {
		var err error
		res, err = run(ctx, d, c, opt)
		return err
	})
	return res, err
}

func run(ctx context.Context, d navingest.Deps, c *config.NAVIngest, opt Options) (Result, error) {
	store := &openTracker{Store: &feed.Dated{Store: file.Dir{Path: opt.Dir}, From: opt.From, To: opt.To, DateOf: navFileDates(opt.Dir)}}
	listed, err := store.List(ctx)
	if err != nil {
		return Result{}, err
	}
	sizes := map[string]int64{}
	for _, f := range listed {
		if ok, _ := path.Match(opt.Glob, f.Name); opt.Glob == "" || ok {
			sizes[f.Name] = f.Size
		}
	}
	tr := progress.New(opt.Progress, "backfill", sizes, opt.Every)
	// The run closes the pipeline's sinks and its source (the one set below).
	p, err := navingest.NewFrom(ctx, d, c, store)
	if err != nil {
		return Result{}, err
	}
	reg := &doneTracker{Registry: d.PG, store: store, t: tr}
	decode := func(r io.Reader, f fund.Origin) (func() (nav.Item, error), error) {
		if rs, ok := r.(io.ReadSeeker); ok {
			if n, err := countLines(rs); err == nil {
				tr.Lines(f.File, n)
			}
		}
		return nav.Decode(r, f)
	}
	src := feed.NewSource[nav.Item](Name, store, reg, decode, feed.Options{
		Glob: opt.Glob, BatchSize: c.BatchSize, Log: d.Log,
		Progress: func(file string, line int) { reg.committing(file); tr.At(file, line) },
		Undo:     navingest.Undo(d.CH, d.PG, d.Log),
	})
	// The same pipeline as nav-ingest (stage, sinks, quarantine, runs),
	// reading the folder in date order under its own name.
	p.Name = Name
	p.Source = &rowCounter{Source: src, t: tr}
	fmt.Fprintf(opt.Progress, "backfill: %d files in %s", len(sizes), opt.Dir)
	if !opt.From.IsZero() || !opt.To.IsZero() {
		fmt.Fprintf(opt.Progress, " dated %s..%s", dateOrDots(opt.From), dateOrDots(opt.To))
	}
	fmt.Fprintln(opt.Progress)
	tr.Start()
	st, runErr := p.Run(ctx)
	tr.Stop()
	snap := tr.Snapshot()
	return Result{Stats: st, Files: snap.Files, FilesDone: snap.Done, Elapsed: snap.Elapsed, RowsPerS: snap.RowsPerSec}, runErr
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

// countLines counts the lines of a seekable file and rewinds it. It reads
// straight into one 64 KiB buffer: through a bufio.Reader as large as the
// reads (as it did), the reads bypass the reader's buffer, and each file
// allocated 2 MiB for nothing (120 MB on the 60-day backfill).
func countLines(rs io.ReadSeeker) (int, error) {
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	n, last := 0, byte('\n')
	buf := make([]byte, 64<<10)
	for {
		k, err := rs.Read(buf)
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
