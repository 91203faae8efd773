package pipelines

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Stats counts what one run did.
type Stats struct {
	Batches     int64
	In          int64 // records read from the source
	Out         int64 // records written to the sinks
	Quarantined int64
	Skipped     int64            // records the stage found stored already (ErrStored): neither written nor quarantined
	Reasons     map[string]int64 // quarantine reason -> count
	FailedUnits int64            // input units (files) skipped after a permanent failure
}

// RunLog records every run (the job_runs table).
type RunLog interface {
	Start(ctx context.Context, pipeline string) (runID int64, err error)
	Finish(ctx context.Context, runID int64, s Stats, runErr error) error
}

// Named is implemented by sinks that want their own metric label.
type Named interface{ Name() string }

// MaxHeldBatches bounds how many batches' checkpoints wait for one flush
// (Pipeline.HoldRows), so that batches adding a few rows each still
// commit, show progress and bound what a crash replays (up to two
// flushes' batches: the one in flight and the next one gathering).
const MaxHeldBatches = 64

// Pipeline joins one source, one stage (or none) and any number of sinks.
//
// Three goroutines run a pipeline: the reader, the transformer and the
// writer, joined by channels that hold at most Buffer batches, so a slow sink
// slows the source and memory stays flat. The writer writes each batch's
// rejects to the quarantine while it writes the batch to every sink in
// order, then (both done) hands the batch's checkpoint
// to a committer and writes the next batch while it commits (with one
// writer and a source that is not a Nacker; otherwise it commits before
// the next write); checkpoints are therefore committed in source order and
// only after all writes of their batch succeeded. (A source of independent batches, an
// Intake, may have several writers: see Writers.) A batch that cannot be
// written fails the run, except from a Nacker, whose batch is handed back
// to its senders while the run goes on.
type Pipeline[In, Out any] struct {
	Name   string
	Source Source[In]
	// Locate says where a record came from; nil: In is Located. Run fails
	// at once when it is neither.
	Locate func(In) (Position, []byte)
	// Stage turns each record into the sinks' record; nil passes records
	// on as they are (In must be Out: Run fails at once otherwise).
	Stage      Stage[In, Out]
	Sinks      []Sink[Out]
	Quarantine Quarantine // required when the stage can reject
	Breaker    *Breaker   // nil: never trips
	Retry      Retry      // for sink writes and commits; zero value: DefaultRetry
	Metrics    *Metrics   // nil: no metrics
	Runs       RunLog     // nil: runs are not recorded
	// Step says the run is one step of a job a Recorder records (a load
	// before a reconciliation): the job's run is the one row and the one
	// count in fundflow_pipeline_runs_total, so the step counts no run of
	// its own (set no Runs either); its stage metrics are reported as usual.
	Step bool
	// Buffer is how many batches wait between steps; default 2. Negative:
	// none, a batch is handed on only when the next step takes it, so a
	// source that batches whatever has arrived (an Intake) makes each
	// batch as late, and so as large, as it can.
	Buffer int
	// Writers is how many batches are written at once; default 1. More
	// than one only for a source whose batches are independent
	// (Unordered, such as an Intake): Run fails at once otherwise, since
	// checkpoints are then committed as their batches finish, not in
	// source order.
	Writers int
	// HoldRows lets the sinks and the quarantine that are Holders (the
	// ClickHouse ones) gather several batches into one write: they are
	// flushed once they hold HoldRows records or MaxHeldBatches batches
	// wait, when no batch has come for HoldFor (default 1 s), before a
	// unit is failed, and at the end; a batch that leaves nothing held
	// (its rows were stored already) commits at once. The first kind of
	// flush runs in the background, one at a time: the writer goes on
	// writing the next batches (the other sinks, and the holders' records
	// after the flush's cut) while the holders send; the others wait for it.
	// The checkpoints of the batches they hold wait for that flush (every
	// other sink has written them already), so a crash loses nothing the
	// replay from the last checkpoint does not bring again. 0: holders are
	// flushed after every batch. Only with one writer and a source that is
	// not a Nacker; otherwise too holders are flushed after every batch.
	HoldRows int
	HoldFor  time.Duration
	// Periodic says each run is one pass of a loop that runs every few
	// seconds and mostly finds nothing (the outbox relays): its start, and
	// its end when it read nothing and did not fail, are logged at DEBUG,
	// so an idle loop writes no INFO lines.
	Periodic bool
	Log      *slog.Logger
}

// inflight is a held flush running in the background: the batches whose
// records it sends, and its error once done is closed.
type inflight[Out any] struct {
	batches []staged[Out]
	done    chan struct{}
	err     error
}

type staged[Out any] struct {
	batch       Batch[Out]
	out         int // len(batch.Items), kept when a held batch lets its items go (light)
	rejected    []Rejected
	skipped     int
	in          int
	first, last Position // where the batch's input records came from, for errors
	err         error    // the batch's unit is to fail (the breaker opened on it)
}

// outCount is how many records the batch wrote.
func (s *staged[Out]) outCount() int {
	if s.batch.Items == nil {
		return s.out
	}
	return len(s.batch.Items)
}

// light is what a batch's commit needs once every sink has written it:
// its counts, checkpoint and reject reasons, not its records nor the
// rejects' raw lines. A held batch (HoldRows) waits for its commit this
// way, so holding ten batches does not keep ten batches of records alive.
func (s staged[Out]) light() staged[Out] {
	s.out = s.outCount()
	s.batch.Items = nil
	rs := make([]Rejected, len(s.rejected))
	for i, r := range s.rejected {
		rs[i] = Rejected{Pipeline: r.Pipeline, Pos: r.Pos, Reason: r.Reason}
	}
	s.rejected = rs
	return s
}

// where names a batch's input for an error message: "f.txt lines 3-2002".
func (s *staged[Out]) where() string {
	switch {
	case s.in == 0 || s.first.File == "":
		return "batch through " + s.batch.Through.Stream
	case s.first.Line == s.last.Line:
		return fmt.Sprintf("%s line %d", s.first.File, s.first.Line)
	}
	return fmt.Sprintf("%s lines %d-%d", s.first.File, s.first.Line, s.last.Line)
}

// isCancel reports whether err only says that the run's context ended.
func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// firstReal returns the first of errs that is not only a cancellation, or
// else the first non-nil one: when one goroutine fails and the run's
// context is cancelled because of it, the others fail with "context
// canceled", and that must never hide the cause.
func firstReal(errs ...error) error {
	var first error
	for _, e := range errs {
		if e == nil {
			continue
		}
		if !isCancel(e) {
			return e
		}
		if first == nil {
			first = e
		}
	}
	return first
}

// Run reads until ErrEndOfInput (a batch run), the context ends (a stream),
// or something fails. It returns what it did and the first error. A failed
// run commits nothing after the last fully written batch.
func (p *Pipeline[In, Out]) Run(ctx context.Context) (st Stats, err error) {
	log := p.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("pipeline", p.Name)
	retry := p.Retry
	if retry.Attempts == 0 {
		retry = DefaultRetry
	}
	buf := p.Buffer
	switch {
	case buf < 0:
		buf = 0
	case buf == 0:
		buf = 2
	}
	st.Reasons = map[string]int64{}

	defer func() {
		if cerr := p.Close(); cerr != nil {
			log.Error("close pipeline", "err", cerr)
		}
	}()
	locate, err := locator(p.Locate)
	if err != nil {
		return st, fmt.Errorf("%s: %w", p.Name, err)
	}
	if err := checkHolders(p.Sinks, p.Quarantine); err != nil {
		return st, fmt.Errorf("%s: %w", p.Name, err)
	}
	writers := max(p.Writers, 1)
	if _, ok := p.Source.(Unordered); writers > 1 && !ok {
		return st, fmt.Errorf("%s: %d writers, but its source's batches must be committed in order", p.Name, writers)
	}
	if _, same := any([]In(nil)).([]Out); p.Stage == nil && !same {
		return st, fmt.Errorf("%s: no stage, and its records (%T) are not what its sinks take (%T)", p.Name, *new(In), *new(Out))
	}
	var runID int64
	if p.Runs != nil {
		if runID, err = p.Runs.Start(ctx, p.Name); err != nil {
			return st, fmt.Errorf("%s: record run start: %w", p.Name, err)
		}
	}
	started := time.Now()
	quiet := slog.LevelInfo
	if p.Periodic {
		quiet = slog.LevelDebug
	}
	log.Log(ctx, quiet, "run started", "run_id", runID)
	defer func() {
		outcome := "ok"
		if err != nil {
			outcome = "failed"
		}
		if !p.Step {
			p.Metrics.run(p.Name, outcome)
		}
		if p.Runs != nil {
			// The run's own context may be cancelled; its record must still land.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if ferr := p.Runs.Finish(fctx, runID, st, err); ferr != nil {
				log.Error("record run finish", "err", ferr)
			}
		}
		level := slog.LevelInfo
		if p.Periodic && err == nil && st.In == 0 && st.Skipped == 0 {
			level = slog.LevelDebug
		}
		log.Log(ctx, level, "run finished", "run_id", runID, "outcome", outcome, "batches", st.Batches, "in", st.In,
			"out", st.Out, "quarantined", st.Quarantined, "skipped", st.Skipped, "took", time.Since(started).Round(time.Millisecond), "err", err)
	}()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(e error) { cancel(e) }
	units := &unitLog{log: log}
	uf, _ := p.Source.(UnitFailer)
	nacker, _ := p.Source.(Nacker)

	read := make(chan Batch[In], buf)
	written := make(chan staged[Out], buf)
	var wg sync.WaitGroup
	wg.Add(2)

	// Reader.
	go func() {
		defer wg.Done()
		defer close(read)
		for {
			t0 := time.Now()
			b, rerr := p.Source.Read(ctx)
			if errors.Is(rerr, ErrEndOfInput) {
				return
			}
			var uerr *UnitError
			if errors.As(rerr, &uerr) && ctx.Err() == nil {
				units.failed(uerr, false) // its batches read before stay good
				continue
			}
			if rerr != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("%s: read: %w", p.Name, rerr))
				}
				return
			}
			p.Metrics.stage(p.Name, "source", 0, len(b.Items), time.Since(t0))
			select {
			case read <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

	// Transformer.
	go func() {
		defer wg.Done()
		defer close(written)
		tripped := "" // the stream the breaker last opened on: read ahead, never written
		for b := range read {
			if tripped != "" && b.Through.Stream == tripped {
				continue
			}
			t0 := time.Now()
			s := staged[Out]{in: len(b.Items), batch: Batch[Out]{Through: b.Through}}
			items := b.Items
			if p.Stage == nil {
				// Pass-through: the records are the output (In is Out,
				// checked at the start), one conversion per batch.
				s.batch.Items, items = any(b.Items).([]Out), nil
			} else {
				s.batch.Items = make([]Out, 0, len(b.Items))
			}
			if len(b.Items) > 0 {
				s.first, _ = locate(b.Items[0])
				s.last, _ = locate(b.Items[len(b.Items)-1])
			}
			for _, item := range items {
				out, serr := p.Stage(ctx, item)
				var rej *RejectError
				switch {
				case serr == nil:
					s.batch.Items = append(s.batch.Items, out)
				case errors.Is(serr, ErrStored):
					s.skipped++
					serr = nil // not a reject, for the breaker
				case errors.As(serr, &rej):
					pos, raw := locate(item)
					r := Rejected{Pipeline: p.Name, Pos: pos, Raw: raw, Reason: rej.Reason, Detail: rej.Detail}
					if c, ok := any(item).(Contextual); ok {
						r.Context = c.ReplayContext()
					}
					s.rejected = append(s.rejected, r)
					p.Metrics.reject(p.Name, "transform", rej.Reason)
				default:
					pos, _ := locate(item)
					fail(fmt.Errorf("%s: transform %s line %d: %w", p.Name, pos.File, pos.Line, serr))
					return
				}
				if p.Breaker.Observe(serr != nil) {
					berr := fmt.Errorf("%w: %.0f%% of the last %d records rejected (limit %.0f%%), last reason %v",
						ErrBreakerOpen, 100*p.Breaker.Rate(), p.Breaker.filled, 100*p.Breaker.MaxRate, serr)
					if uf == nil || b.Through.Stream == "" {
						fail(fmt.Errorf("%s: %w", p.Name, berr))
						return
					}
					// A broken file halts, not the feed: the writer fails
					// its unit, and the next file starts a fresh window.
					s.err = berr
					p.Breaker.Reset()
					tripped = b.Through.Stream
					break
				}
			}
			p.Metrics.stage(p.Name, "transform", s.in, len(s.batch.Items), time.Since(t0))
			select {
			case written <- s:
			case <-ctx.Done():
				return
			}
		}
	}()

	hold := holders(p.Sinks, p.Quarantine)
	grouping := len(hold) > 0 && p.HoldRows > 0 && writers == 1 && nacker == nil
	holdFor := p.HoldFor
	if holdFor <= 0 {
		holdFor = time.Second
	}

	// Writers (one unless Writers says more). The quarantine is written
	// alongside the sinks, not before them: its commit waits for the
	// database's flush, and nothing in a sink depends on it. The checkpoint
	// follows only when both succeeded, so a crash between them replays the
	// batch, and both writes are idempotent (a position is quarantined once).
	var flushMu sync.Mutex // not grouping: the writers' flushes
	write := func(s staged[Out]) error {
		var qerr error
		qdone := make(chan struct{})
		if len(s.rejected) > 0 {
			if p.Quarantine == nil {
				return fmt.Errorf("%d records rejected but no quarantine is configured (first: %s)", len(s.rejected), s.rejected[0].Reason)
			}
			go func() {
				defer close(qdone)
				qerr = retry.Do(ctx, "quarantine", func(ctx context.Context) error { return p.Quarantine.Put(ctx, s.rejected) })
			}()
		} else {
			close(qdone)
		}
		var serr error
		for i, sink := range p.Sinks {
			name := sinkName(sink, i)
			t0 := time.Now()
			if serr = retry.Do(ctx, "sink "+name, func(ctx context.Context) error { return sink.Write(ctx, s.batch) }); serr != nil {
				break
			}
			p.Metrics.stage(p.Name, name, len(s.batch.Items), len(s.batch.Items), time.Since(t0))
		}
		<-qdone
		var ferr error
		if !grouping && len(hold) > 0 {
			// Even after a failure: what a holder took of this batch is
			// sent now, as a sink that writes at once would have, and
			// not after an Undo of the batch's unit.
			// One flush at a time: writers share the holders. Held is
			// asked under the lock too: another writer's flush may have
			// cut this batch's records (Held leaves them out) and not
			// sent them yet; this commit must wait for it.
			flushMu.Lock()
			if heldIn(hold) > 0 {
				ferr = retry.Do(ctx, "flush", func(ctx context.Context) error { return flushAll(ctx, hold) })
			}
			flushMu.Unlock()
		}
		return firstReal(serr, qerr, ferr)
	}
	var stMu sync.Mutex // the writers' counts
	commit := func(s staged[Out]) error {
		if err := retry.Do(ctx, "commit", func(ctx context.Context) error { return p.Source.Commit(ctx, s.batch.Through) }); err != nil {
			return fmt.Errorf("%s: commit checkpoint after %s: %w", p.Name, s.where(), err)
		}
		stMu.Lock()
		st.Batches++
		st.In += int64(s.in)
		st.Out += int64(s.outCount())
		st.Quarantined += int64(len(s.rejected))
		st.Skipped += int64(s.skipped)
		for _, r := range s.rejected {
			st.Reasons[r.Reason]++
		}
		stMu.Unlock()
		return nil
	}
	// With one writer, a batch's checkpoint is committed while the next
	// batch is written: a commit waits for the database's flush (and a
	// file's last one marks the file done), and the sinks need not wait
	// for it. Commits stay in source order, each after its batch's
	// writes; whatever the writer does next other than writing a batch
	// (fail a unit, end, fail) waits for the commits before it (drain).
	var (
		queue   chan staged[Out] // nil: each commit before the next write
		pending sync.WaitGroup
		cmu     sync.Mutex
		cerr    error // the committer's first error
		cdone   = make(chan struct{})
	)
	if writers == 1 && nacker == nil {
		queue = make(chan staged[Out]) // unbuffered: at most one commit behind
		go func() {
			defer close(cdone)
			for s := range queue {
				cmu.Lock()
				failed := cerr != nil
				cmu.Unlock()
				if !failed {
					if err := commit(s); err != nil {
						cmu.Lock()
						cerr = err
						cmu.Unlock()
						fail(err)
					}
				}
				pending.Done()
			}
		}()
	} else {
		close(cdone)
	}
	drain := func() error {
		pending.Wait()
		cmu.Lock()
		defer cmu.Unlock()
		return cerr
	}
	enqueue := func(s staged[Out]) error {
		if queue == nil {
			return commit(s)
		}
		pending.Add(1)
		select {
		case queue <- s:
			return nil
		case <-ctx.Done():
			pending.Done()
			return ctx.Err()
		}
	}
	// held are the batches every sink has written but the holders hold
	// (grouping only: one writer): their commits wait for the flush.
	var held []staged[Out]
	// failUnit records the unit of a batch that cannot be written for a
	// reason a retry will not fix as failed (the source's undo takes back
	// what the stores have of it past its last commit), once the batches
	// before it committed.
	failUnit := func(s staged[Out], err error) error {
		if derr := drain(); derr != nil {
			return derr
		}
		ue := &UnitError{Stream: s.batch.Through.Stream, Unit: s.where(), Err: err}
		if ferr := retry.Do(ctx, "fail unit", func(ctx context.Context) error { return uf.FailUnit(ctx, s.batch.Through, ue) }); ferr != nil {
			return fmt.Errorf("%s: %w (and recording the failed unit: %v)", p.Name, ue, ferr)
		}
		units.failed(ue, true)
		return nil
	}
	// unitsFail says whether err, a batch's, fails only the batch's unit:
	// a failure a retry will not fix is the input's. A service that stays
	// down fails the run, so that the next run loads the unit again.
	unitsFail := func(stream string, err error) bool {
		return uf != nil && stream != "" && !IsTransient(err) && !errors.Is(err, ErrGaveUp) && !isCancel(err) && ctx.Err() == nil
	}
	// flushEach is what follows a flush the store refused for good: one
	// insert carried the held batches of several units, so they are sent
	// again batch by batch, in source order. A batch refused again fails
	// its unit (what is held of it, and of that unit's batches after it,
	// is let go); the others commit. But batches of two or more units
	// refused is the store refusing everything (read-only, a missing
	// table): that fails the run and commits nothing, so that the next
	// run loads them all again, instead of setting every file aside. It
	// returns cause when the holders cannot send batch by batch.
	flushEach := func(cause error) error {
		// A holder that cannot send batch by batch (nav_latest's held
		// moves, the quarantine's events) may hold records of batches
		// written while the refused flush ran in the background: every
		// sink has those batches, so their records are sent first, whole.
		if hs := unsplittable(hold); len(hs) > 0 {
			if err := retry.Do(ctx, "flush", func(ctx context.Context) error { return flushAll(ctx, hs) }); err != nil {
				return cause
			}
		}
		for _, h := range hold {
			if !splittable(h) {
				return cause
			}
		}
		log.Warn("a held flush was refused; sending its batches one by one", "batches", len(held), "err", cause)
		// Decide first, commit or fail after: the second refused unit
		// must find nothing committed or failed by this re-send.
		refused := make([]error, len(held))
		refusedUnits := map[string]bool{}
		for i, s := range held {
			cp := s.batch.Through
			if units.skipped(cp.Stream) || refusedUnits[cp.Stream] {
				dropBatch(hold, cp)
				continue
			}
			err := retry.Do(ctx, "flush batch", func(ctx context.Context) error { return flushBatch(ctx, hold, cp) })
			if err == nil {
				continue
			}
			if !unitsFail(cp.Stream, err) {
				return fmt.Errorf("%s: flush %s: %w", p.Name, s.where(), err)
			}
			if len(refusedUnits) > 0 {
				return fmt.Errorf("%s: flush: the store refused batches of several units, first %w; the run fails so that the next one loads them again: %s: %w",
					p.Name, cause, s.where(), err)
			}
			dropBatch(hold, cp)
			refusedUnits[cp.Stream] = true
			refused[i] = err
		}
		for i, s := range held {
			switch {
			case refused[i] != nil:
				if err := failUnit(s, refused[i]); err != nil {
					return err
				}
			case units.skipped(s.batch.Through.Stream):
			default:
				if err := enqueue(s); err != nil {
					return err
				}
			}
		}
		held = held[:0]
		if heldIn(hold) > 0 {
			return retry.Do(ctx, "flush", func(ctx context.Context) error { return flushAll(ctx, hold) })
		}
		return nil
	}
	// fl is the held flush running in the background (grouping only; at
	// most one): the writer goes on writing the next batches (their
	// records are kept after the cut) while the holders send. Its batches
	// commit when it succeeded, before any batch held since.
	var fl *inflight[Out]
	// settle waits for the flush in flight, if any. When it succeeded,
	// its batches' checkpoints are enqueued; when it failed, its batches
	// are held again in front of those held since (as the holders hold
	// their records again), and its error is returned as failed, for
	// flushNow to handle as if the flush had run in the writer.
	settle := func() (failed, err error) {
		if fl == nil {
			return nil, nil
		}
		f := fl
		fl = nil
		<-f.done
		if f.err != nil {
			held = append(f.batches, held...)
			return f.err, nil
		}
		for _, s := range f.batches {
			if err := enqueue(s); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	// flushNow sends what is held and waits: the held batches commit after
	// it. failed is the error of the attempt the background flush made
	// (nil: none): it counts as the retry's first attempt, so a permanent
	// refusal is not sent again and a transient one is retried as usual.
	flushNow := func(failed error, failing *Checkpoint) error {
		// The failing batch's records are not sent: its unit fails (or the
		// run does), and the source's undo takes back what the stores have
		// of it. Sent, a refusal of them would fail the run even with
		// nothing else held.
		if failing != nil {
			dropBatch(hold, *failing)
		}
		if len(held) == 0 && heldIn(hold) == 0 {
			return nil
		}
		err := retry.Do(ctx, "flush", func(ctx context.Context) error {
			if err := failed; err != nil {
				failed = nil
				return err
			}
			return flushAll(ctx, hold)
		})
		if err != nil && len(held) > 0 && unitsFail(held[0].batch.Through.Stream, err) {
			if err = flushEach(err); err == nil {
				return nil
			}
		}
		if err != nil {
			what := "records of a failed batch"
			if len(held) > 0 {
				what = fmt.Sprintf("%d held batches (through %s)", len(held), held[len(held)-1].where())
			}
			return fmt.Errorf("%s: flush %s: %w", p.Name, what, err)
		}
		for _, s := range held {
			if err := enqueue(s); err != nil {
				return err
			}
		}
		held = held[:0]
		return nil
	}
	// flushHeld waits for the flush in flight and sends the rest: before
	// a unit fails, when the source is idle, at the end.
	flushHeld := func(failing *Checkpoint) error {
		// (Not grouping, write flushes. Grouping, a failed batch's
		// records may be held with no batch held.)
		if !grouping {
			return nil
		}
		failed, err := settle()
		if err != nil {
			return err
		}
		return flushNow(failed, failing)
	}
	// resolve settles the flush in flight; when it failed, everything held
	// is sent now and waited for, as a flush in the writer always was.
	resolve := func() error {
		failed, err := settle()
		if err != nil || failed == nil {
			return err
		}
		return flushNow(failed, nil)
	}
	// startFlush starts a flush of what is held in the background, once
	// the one in flight is resolved.
	startFlush := func() error {
		if err := resolve(); err != nil || len(held) == 0 {
			return err // (nothing held: resolve sent it)
		}
		cutAll(hold) // in the writer: the flush carries exactly the batches in held
		f := &inflight[Out]{batches: held, done: make(chan struct{})}
		held = nil
		go func() {
			defer close(f.done)
			f.err = flushCut(ctx, hold)
		}()
		fl = f
		return nil
	}
	// reap resolves the flush in flight if it has ended, so that its
	// batches commit without waiting for the next flush.
	reap := func() error {
		if fl == nil {
			return nil
		}
		select {
		case <-fl.done:
			return resolve()
		default:
			return nil
		}
	}
	// next takes the next batch. While batches are held and none waits,
	// it waits at most holdFor for one, then flushes what is held; a
	// flush in flight that ends meanwhile is resolved at once.
	next := func() (staged[Out], bool, error) {
		if len(held) == 0 && fl == nil {
			s, ok := <-written
			return s, ok, nil
		}
		select {
		case s, ok := <-written:
			return s, ok, nil
		default:
		}
		t := time.NewTimer(holdFor)
		defer t.Stop()
		for len(held) > 0 || fl != nil {
			var flushed <-chan struct{}
			if fl != nil {
				flushed = fl.done
			}
			select {
			case s, ok := <-written:
				return s, ok, nil
			case <-flushed:
				if err := resolve(); err != nil {
					return staged[Out]{}, false, err
				}
			case <-t.C:
				if err := flushHeld(nil); err != nil {
					return staged[Out]{}, false, err
				}
			}
		}
		s, ok := <-written
		return s, ok, nil
	}
	writeAll := func() (err error) {
		defer func() {
			// A failed write still lets the batches before it commit
			// (and a flush in flight ends before the sinks are closed).
			_, serr := settle()
			if derr := drain(); err == nil {
				err = cmp.Or(serr, derr)
			}
		}()
		for {
			s, ok, err := next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if units.skipped(s.batch.Through.Stream) {
				continue // read ahead from a unit that failed since
			}
			err = s.err
			if err == nil {
				err = write(s)
			}
			if err != nil && nacker != nil {
				// Its senders are told and send again (or not): the
				// stream goes on with the next batch.
				log.Warn("batch not written; handed back to its senders", "batch", s.where(), "err", err)
				if nerr := nacker.Nack(ctx, s.batch.Through, err); nerr != nil {
					return fmt.Errorf("%s: hand back %s: %w (after: %v)", p.Name, s.where(), nerr, err)
				}
				continue
			}
			if err != nil {
				// The batches before it commit first: flushed, then
				// drained.
				if ferr := flushHeld(&s.batch.Through); ferr != nil {
					return fmt.Errorf("%w (after %s: %v)", ferr, s.where(), err)
				}
				if derr := drain(); derr != nil {
					return derr
				}
				// With a source of units, it fails that unit, not the run.
				if !unitsFail(s.batch.Through.Stream, err) {
					return fmt.Errorf("%s: %s: %w", p.Name, s.where(), err)
				}
				if units.skipped(s.batch.Through.Stream) {
					continue // failed already, by a held batch of it the store refused
				}
				if ferr := failUnit(s, err); ferr != nil {
					return ferr
				}
				continue
			}
			if grouping {
				held = append(held, s.light())
				// Nothing held (a batch of rows already stored: a NAV
				// file published again): the waiting batches commit
				// now. MaxHeldBatches bounds the wait when batches add
				// a few rows each.
				var err error
				switch n := heldIn(hold); {
				case n == 0:
					err = flushHeld(nil)
				case n >= p.HoldRows || len(held) >= MaxHeldBatches:
					err = startFlush()
				default:
					err = reap()
				}
				if err != nil {
					return err
				}
				continue
			}
			if err := enqueue(s); err != nil {
				return err
			}
		}
		return flushHeld(nil)
	}
	werrs := make([]error, writers)
	var ww sync.WaitGroup
	for i := range werrs {
		ww.Add(1)
		go func() {
			defer ww.Done()
			if werrs[i] = writeAll(); werrs[i] != nil {
				fail(werrs[i])
			}
		}()
	}
	ww.Wait()
	if queue != nil {
		close(queue)
	}
	<-cdone
	werr := firstReal(werrs...)
	// Drain so the other goroutines can leave, then wait for them.
	for range written {
	}
	wg.Wait()
	st.FailedUnits = int64(len(units.errs))
	// The first real error wins: a sink that saw the context cancelled
	// because the reader failed reports "context canceled"; the reader's
	// error is the one to show. A failed reader or transformer, or the
	// caller's own cancel (a stream pipeline's normal way to stop:
	// errors.Is(err, context.Canceled)), is the context's cause.
	if err := firstReal(context.Cause(ctx), werr); err != nil {
		return st, err
	}
	var errs []error
	if len(units.errs) > 0 {
		errs = append(errs, fmt.Errorf("%s: %w: %d unit(s), first %w", p.Name, ErrUnitFailed, len(units.errs), units.errs[0]))
	}
	// What holders kept past their flushes goes now (the good units'),
	// before the run is recorded: its failure is the run's.
	if err := finishAll(ctx, hold, retry); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
	}
	return st, errors.Join(errs...)
}

// Close closes the source and every sink that is an io.Closer, and returns
// their errors joined. Run calls it when it ends; call it yourself only for
// a pipeline that is built and never run.
func (p *Pipeline[In, Out]) Close() error {
	var errs []error
	if p.Source != nil {
		if err := p.Source.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: close source: %w", p.Name, err))
		}
	}
	if err := closeSinks(p.Sinks); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
	}
	return errors.Join(errs...)
}

// closeSinks closes the sinks that are io.Closers.
func closeSinks[T any](sinks []Sink[T]) error {
	var errs []error
	for i, s := range sinks {
		if c, ok := s.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close sink %s: %w", sinkName(s, i), err))
			}
		}
	}
	return errors.Join(errs...)
}

// unitLog keeps the units that failed during a run: reported by the reader
// (a unit the source could not read on: the batches read before it are
// good and still written) and the writer (a unit whose batch could not be
// written: the batches of it read ahead are dropped).
type unitLog struct {
	mu    sync.Mutex
	errs  []*UnitError
	names map[string]bool // failed
	skip  map[string]bool // failed by the writer: drop what is read ahead
	log   *slog.Logger
}

func (u *unitLog) failed(e *UnitError, skip bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.names == nil {
		u.names, u.skip = map[string]bool{}, map[string]bool{}
	}
	if skip {
		u.skip[e.Stream] = true
	}
	if u.names[e.Stream] {
		return
	}
	u.names[e.Stream] = true
	u.errs = append(u.errs, e)
	u.log.Error("input failed; skipped, the run goes on", "unit", e.Unit, "stream", e.Stream, "err", e.Err)
}

func (u *unitLog) skipped(stream string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return stream != "" && u.skip[stream]
}

func sinkName(s any, i int) string {
	if n, ok := s.(Named); ok {
		return n.Name()
	}
	return fmt.Sprintf("sink%d", i)
}
