// Package feed turns a folder of arriving files (local or SFTP) into a
// pipelines.Source of typed records: it waits until a file is complete,
// fingerprints it by SHA-256 so the same bytes load once (after a restart, a
// rename, or a failed move on the server), decodes it with a parser, emits
// batches with a file+line checkpoint, and resumes mid-file after a crash.
package feed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// FileInfo describes a file in a Store.
type FileInfo struct {
	Name    string // base name
	Size    int64
	ModTime time.Time
}

// Store is a folder that files arrive in. Implemented by connectors/file
// (local) and connectors/sftp.
type Store interface {
	// List returns the files in the folder (not recursive).
	List(ctx context.Context) ([]FileInfo, error)
	// Open opens a file for reading.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Archive moves a loaded file out of the way. Best effort: a file that
	// fails to move is recognised by its fingerprint next time.
	Archive(ctx context.Context, name string) error
	// Describe names the folder for logs and lineage, e.g. sftp://host/dir.
	Describe() string
}

// Asider is a Store that can move a file out of the way that was rejected
// or failed (into its rejected folder), so that later runs neither list nor
// read it again. A Source with Options.Archive set (it may move files) sets
// such files aside; without it, a rejected file stays and is recognised by
// its fingerprint each run.
type Asider interface {
	SetAside(ctx context.Context, name string) error
}

// Decoder reads a spooled file and returns an iterator over its records. An
// error wrapping pipelines.ErrRejectFile rejects the whole file (recorded,
// alerted, skipped); any other error fails the run.
// Next returns io.EOF at the end. Records must be Located with the position
// they were given (file, sha, line).
type Decoder[T pipelines.Located] func(r io.Reader, file fund.Origin) (next func() (T, error), err error)

// Registry remembers which files were loaded and where a file's load got to.
// sinks/postgres.Store implements it.
type Registry interface {
	FileStatus(ctx context.Context, pipeline, sha string) (string, error)
	FileSeen(ctx context.Context, pipeline, sha, name string, size int64) error
	FileDone(ctx context.Context, pipeline, sha string, cp pipelines.Checkpoint) error
	FileRejected(ctx context.Context, pipeline, sha, name string, size int64, reason string) error
	// FileFailed marks a file that failed for good part-way (a poison the
	// stage did not catch, a store refusing a batch): recorded with the
	// error, alerted, and skipped from then on like a rejected file.
	FileFailed(ctx context.Context, pipeline, sha, name string, size int64, reason string) error
	LoadCheckpoint(ctx context.Context, stream string) ([]byte, error)
	SaveCheckpoint(ctx context.Context, cp pipelines.Checkpoint) error
}

// Options tune a Source.
type Options struct {
	Glob       string        // file name pattern, e.g. "NAVAll*.txt"; empty = every file
	DoneMarker bool          // a file is complete when NAME.done exists and is not older than it (instead of a stable size)
	StableFor  time.Duration // a file is complete when its size and mtime did not change over this long
	BatchSize  int           // records per batch; default 2000
	Archive    bool          // move loaded files with Store.Archive
	SpoolDir   string        // where files are copied to while loading; default os.TempDir()
	Log        *slog.Logger
	// Progress, when set, is told after every batch how far the current file is.
	Progress func(file string, line int)
	// Undo, when set, is called when a file fails for good with the last
	// line whose batch every sink committed: a sink that wrote a later
	// batch before another refused it (the sinks of a fanout write at
	// once) takes those rows back, so the stores keep the same rows.
	Undo func(ctx context.Context, f fund.Origin, committedLine int) error
}

// position is the checkpoint a Source commits.
type position struct {
	SHA  string `json:"sha256"`
	Name string `json:"name"`
	Line int    `json:"line"` // last line whose record is in a committed batch
	Done bool   `json:"done"`
}

// Source reads the complete, not yet loaded files of a Store in order of
// modification time, one after another.
//
// A batch run (Read returning pipelines.ErrEndOfInput) takes the files that
// are complete when it starts; files still growing are left for the next run.
type Source[T pipelines.Located] struct {
	pipeline string
	store    Store
	reg      Registry
	decode   Decoder[T]
	opt      Options
	log      *slog.Logger

	queue   []FileInfo // complete files not yet looked at
	listed  bool
	cur     *openFile[T]
	Skipped []string // files skipped as already loaded (for reports and tests)

	mu        sync.Mutex
	failed    map[string]bool // fingerprints of files failed during this run (FailUnit)
	committed map[string]int  // fingerprint -> last line committed in this run
}

type openFile[T any] struct {
	info    FileInfo
	display string // info.Name as UTF-8
	sha     string
	spool   string
	next    func() (T, error)
	from    int // lines up to here were committed by an earlier run
	last    int // last line read
	close   func()
}

// NewSource returns a file source for pipeline over store.
func NewSource[T pipelines.Located](pipeline string, store Store, reg Registry, decode Decoder[T], opt Options) *Source[T] {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 2000
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Source[T]{pipeline: pipeline, store: store, reg: reg, decode: decode, opt: opt, log: opt.Log.With("pipeline", pipeline, "store", store.Describe())}
}

// Close closes the file being read, if a run ended inside one, and the
// store when it holds a connection (an io.Closer, e.g. an SFTP session):
// the source owns its store (see pipelines.Source).
func (s *Source[T]) Close() error {
	if s.cur != nil {
		s.cur.close()
		s.cur = nil
	}
	if c, ok := s.store.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Read returns the next batch of the current file, opening the next complete
// file when the current one is finished. A file's last batch carries a
// checkpoint marked done; it may be empty.
func (s *Source[T]) Read(ctx context.Context) (pipelines.Batch[T], error) {
	for {
		if s.cur != nil && s.isFailed(s.cur.sha) {
			s.cur.close() // failed since: read nothing more of it
			s.cur = nil
		}
		if s.cur == nil {
			if err := s.openNext(ctx); err != nil {
				return pipelines.Batch[T]{}, err
			}
			if s.cur == nil {
				continue // a skipped or rejected file; try the next
			}
		}
		return s.readBatch(ctx)
	}
}

func (s *Source[T]) isFailed(sha string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed[sha]
}

// FailUnit records the file of cp as failed with err (pipelines.UnitFailer):
// the engine could not write one of its batches for a reason a retry will
// not fix. The source reads nothing more of it; later runs skip it.
func (s *Source[T]) FailUnit(ctx context.Context, cp pipelines.Checkpoint, err error) error {
	var p position
	if jerr := json.Unmarshal(cp.Pos, &p); jerr != nil {
		return fmt.Errorf("feed: bad checkpoint %q: %w", cp.Pos, jerr)
	}
	s.mu.Lock()
	if s.failed == nil {
		s.failed = map[string]bool{}
	}
	s.failed[p.SHA] = true
	committed, ok := s.committed[p.SHA]
	s.mu.Unlock()
	if s.opt.Undo != nil {
		if !ok {
			// Nothing of it committed in this run: what an earlier run
			// committed is in the stored checkpoint.
			raw, lerr := s.reg.LoadCheckpoint(ctx, s.stream(p.SHA))
			if lerr != nil {
				return lerr
			}
			var prev position
			if raw != nil && json.Unmarshal(raw, &prev) == nil {
				committed = prev.Line
			}
		}
		if uerr := s.opt.Undo(ctx, fund.Origin{File: p.Name, SHA256: p.SHA}, committed); uerr != nil {
			return fmt.Errorf("undo the uncommitted rows of %s: %w", p.Name, uerr)
		}
	}
	if ferr := s.fileFailed(ctx, p.SHA, p.Name, -1, err); ferr != nil {
		return ferr
	}
	s.setAside(ctx, p.Name)
	return nil
}

func (s *Source[T]) fileFailed(ctx context.Context, sha, name string, size int64, err error) error {
	s.log.Error("file failed; skipped, the files after it go on", "file", name, "sha256", sha, "err", err)
	return s.reg.FileFailed(ctx, s.pipeline, sha, name, size, err.Error())
}

func (s *Source[T]) readBatch(ctx context.Context) (pipelines.Batch[T], error) {
	f := s.cur
	items := make([]T, 0, s.opt.BatchSize)
	for len(items) < s.opt.BatchSize {
		rec, err := f.next()
		if errors.Is(err, io.EOF) {
			b := s.batch(items, true)
			f.close()
			s.cur = nil
			return b, nil
		}
		if err != nil {
			f.close()
			s.cur = nil
			err = fmt.Errorf("%s line %d: %w", f.display, f.last+1, err)
			if pipelines.IsTransient(err) {
				return pipelines.Batch[T]{}, err
			}
			// The file cannot be read to its end: it fails alone.
			if ferr := s.fileFailed(ctx, f.sha, f.display, f.info.Size, err); ferr != nil {
				return pipelines.Batch[T]{}, fmt.Errorf("%w (and recording it: %v)", err, ferr)
			}
			s.setAside(ctx, f.info.Name)
			return pipelines.Batch[T]{}, &pipelines.UnitError{Stream: s.stream(f.sha), Unit: f.display, Err: err}
		}
		pos, _ := rec.Origin()
		f.last = pos.Line
		if pos.Line <= f.from {
			continue // committed by an earlier run
		}
		items = append(items, rec)
	}
	return s.batch(items, false), nil
}

func (s *Source[T]) batch(items []T, done bool) pipelines.Batch[T] {
	f := s.cur
	pos, _ := json.Marshal(position{SHA: f.sha, Name: f.info.Name, Line: f.last, Done: done})
	return pipelines.Batch[T]{Items: items, Through: pipelines.Checkpoint{Stream: s.stream(f.sha), Pos: pos}}
}

func (s *Source[T]) stream(sha string) string { return s.pipeline + "/" + sha }

// Commit records how far a file was loaded; a file's final checkpoint marks
// it done (with its checkpoint, in one transaction) and archives it.
func (s *Source[T]) Commit(ctx context.Context, cp pipelines.Checkpoint) error {
	var p position
	if err := json.Unmarshal(cp.Pos, &p); err != nil {
		return fmt.Errorf("feed: bad checkpoint %q: %w", cp.Pos, err)
	}
	if s.opt.Progress != nil {
		s.opt.Progress(p.Name, p.Line)
	}
	if !p.Done {
		if err := s.reg.SaveCheckpoint(ctx, cp); err != nil {
			return err
		}
		s.mu.Lock()
		if s.committed == nil {
			s.committed = map[string]int{}
		}
		s.committed[p.SHA] = p.Line
		s.mu.Unlock()
		return nil
	}
	if err := s.reg.FileDone(ctx, s.pipeline, p.SHA, cp); err != nil {
		return err
	}
	s.log.Info("file loaded", "file", p.Name, "sha256", p.SHA, "lines", p.Line)
	s.archive(ctx, p.Name)
	return nil
}

// setAside moves a rejected or failed file out of the inbox when the source
// may move files (Archive) and its store can. Best effort, like archive:
// a file that stays is skipped by its fingerprint and set aside next run.
func (s *Source[T]) setAside(ctx context.Context, name string) {
	a, ok := s.store.(Asider)
	if !s.opt.Archive || !ok {
		return
	}
	if err := a.SetAside(ctx, name); err != nil {
		s.log.Warn("could not set the file aside; it stays and is skipped by its fingerprint", "file", name, "err", err)
		return
	}
	s.log.Info("file set aside", "file", name)
	if s.opt.DoneMarker {
		if err := a.SetAside(ctx, name+".done"); err != nil {
			s.log.Warn("could not set the done marker aside", "file", name+".done", "err", err)
		}
	}
}

func (s *Source[T]) archive(ctx context.Context, name string) {
	if !s.opt.Archive {
		return
	}
	if err := s.store.Archive(ctx, name); err != nil {
		// Not fatal: the fingerprint keeps the file from loading twice.
		s.log.Warn("archive failed; the file stays and is skipped by its fingerprint", "file", name, "err", err)
		return
	}
	if s.opt.DoneMarker {
		// The marker goes with its file, so that it cannot vouch for the
		// next file of the same name while that one is being uploaded.
		if err := s.store.Archive(ctx, name+".done"); err != nil {
			s.log.Warn("archive of the done marker failed", "file", name+".done", "err", err)
		}
	}
}

// openNext takes the next complete file from the queue, fingerprints it and
// opens its decoder. It leaves s.cur nil for a file that is skipped.
func (s *Source[T]) openNext(ctx context.Context) error {
	if !s.listed {
		q, err := s.complete(ctx)
		if err != nil {
			return err
		}
		s.queue, s.listed = q, true
	}
	if len(s.queue) == 0 {
		return pipelines.ErrEndOfInput
	}
	info := s.queue[0]
	s.queue = s.queue[1:]

	spool, sha, err := s.spool(ctx, info)
	if err != nil {
		return err
	}
	cleanup := func() { os.Remove(spool) }
	status, err := s.reg.FileStatus(ctx, s.pipeline, sha)
	if err != nil {
		cleanup()
		return err
	}
	if status == "done" || status == "rejected" || status == "failed" {
		cleanup()
		s.log.Info("skipping file already seen", "file", info.Name, "sha256", sha, "status", status)
		s.Skipped = append(s.Skipped, info.Name)
		if status == "done" {
			s.archive(ctx, info.Name)
		} else {
			s.setAside(ctx, info.Name) // one left by an earlier run
		}
		return nil
	}
	from := 0
	if raw, err := s.reg.LoadCheckpoint(ctx, s.stream(sha)); err != nil {
		cleanup()
		return err
	} else if raw != nil {
		var p position
		if err := json.Unmarshal(raw, &p); err != nil {
			cleanup()
			return fmt.Errorf("feed: stored checkpoint of %s: %w", info.Name, err)
		}
		from = p.Line
		s.log.Info("resuming file", "file", info.Name, "after_line", from)
	}
	// The name as stored and shown: a name that is not UTF-8 (a Latin-1
	// name on the server) must not make every row of its file unstorable.
	display := strings.ToValidUTF8(info.Name, "\uFFFD")
	if err := s.reg.FileSeen(ctx, s.pipeline, sha, display, info.Size); err != nil {
		cleanup()
		return err
	}
	fh, err := os.Open(spool)
	if err != nil {
		cleanup()
		return err
	}
	closeAll := func() { fh.Close(); cleanup() }
	next, err := s.decode(fh, fund.Origin{File: display, SHA256: sha})
	if errors.Is(err, pipelines.ErrRejectFile) {
		closeAll()
		s.log.Error("file rejected", "file", info.Name, "sha256", sha, "err", err)
		if err := s.reg.FileRejected(ctx, s.pipeline, sha, display, info.Size, err.Error()); err != nil {
			return err
		}
		s.setAside(ctx, info.Name)
		return nil
	}
	if err != nil {
		closeAll()
		err = fmt.Errorf("%s: %w", display, err)
		if pipelines.IsTransient(err) {
			return err
		}
		if ferr := s.fileFailed(ctx, sha, display, info.Size, err); ferr != nil {
			return fmt.Errorf("%w (and recording it: %v)", err, ferr)
		}
		s.setAside(ctx, info.Name)
		return &pipelines.UnitError{Stream: s.stream(sha), Unit: display, Err: err}
	}
	s.cur = &openFile[T]{info: info, display: display, sha: sha, spool: spool, next: next, from: from, close: closeAll}
	return nil
}

// spool copies a file to local disk while hashing it, so a remote file is
// read over the network once and decoded from the local copy.
func (s *Source[T]) spool(ctx context.Context, info FileInfo) (string, string, error) {
	rc, err := s.store.Open(ctx, info.Name)
	if err != nil {
		return "", "", fmt.Errorf("open %s: %w", info.Name, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(s.opt.SpoolDir, "fundflow-spool-*")
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), rc); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", "", pipelines.Transient(fmt.Errorf("read %s: %w", info.Name, err))
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", "", err
	}
	return tmp.Name(), hex.EncodeToString(h.Sum(nil)), nil
}

// complete lists the files that are ready: matching the glob, not markers,
// and either with a .done marker or with the same size and mtime across two
// listings StableFor apart.
func (s *Source[T]) complete(ctx context.Context) ([]FileInfo, error) {
	first, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	var ready []FileInfo
	if s.opt.DoneMarker {
		markers := map[string]FileInfo{}
		for _, f := range first {
			if strings.HasSuffix(f.Name, ".done") {
				markers[strings.TrimSuffix(f.Name, ".done")] = f
			}
		}
		for _, f := range first {
			m, ok := markers[f.Name]
			if !ok || !s.match(f.Name) {
				continue
			}
			// A marker older than its file is left from an earlier file of
			// the same name: this one may still be uploading.
			if m.ModTime.Before(f.ModTime) {
				s.log.Info("done marker older than its file; waiting for a new one", "file", f.Name)
				continue
			}
			ready = append(ready, f)
		}
	} else {
		if s.opt.StableFor > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(s.opt.StableFor):
			}
		}
		second, err := s.list(ctx)
		if err != nil {
			return nil, err
		}
		before := map[string]FileInfo{}
		for _, f := range first {
			before[f.Name] = f
		}
		for _, f := range second {
			b, ok := before[f.Name]
			if ok && b.Size == f.Size && b.ModTime.Equal(f.ModTime) && s.match(f.Name) {
				ready = append(ready, f)
			} else if s.match(f.Name) {
				s.log.Info("file still growing; leaving it for the next run", "file", f.Name)
			}
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].ModTime.Equal(ready[j].ModTime) {
			return ready[i].ModTime.Before(ready[j].ModTime)
		}
		return ready[i].Name < ready[j].Name
	})
	return ready, nil
}

func (s *Source[T]) list(ctx context.Context) ([]FileInfo, error) {
	fs, err := s.store.List(ctx)
	if err != nil {
		return nil, pipelines.Transient(fmt.Errorf("list %s: %w", s.store.Describe(), err))
	}
	return fs, nil
}

func (s *Source[T]) match(name string) bool {
	if strings.HasSuffix(name, ".done") || strings.HasPrefix(name, ".") {
		return false
	}
	if s.opt.Glob == "" {
		return true
	}
	ok, _ := path.Match(s.opt.Glob, name)
	return ok
}
