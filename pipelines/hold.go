package pipelines

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Holder is implemented by a sink (or a quarantine) whose store pays for
// each write more than for the records in it: ClickHouse makes a part of
// every insert and merges the parts later, so an insert of 2,000 rows
// costs its server nearly what one of 50,000 does. Such a sink keeps what
// Write gives it and sends it all in one write when the engine flushes it.
//
// Write (Put) still checks what it is given and fails a batch it cannot
// take; Flush only sends. A flush is two calls:
//
//   - Cut marks every record held now as what the next Flush sends. The
//     engine's writer calls it between two batches, so it decides which
//     batches a flush carries; a Flush that took whatever was held when
//     its goroutine got going could carry a batch that another sink has
//     not written yet (and may still refuse, or write again after a
//     retry).
//   - Flush sends the records cut (none: it returns nil). It may run in
//     the background (Pipeline.HoldRows): Write (Put) and Held must be
//     allowed meanwhile, and what they add is kept after the cut, for
//     the next flush. When Flush succeeds, the records cut are let go;
//     when it fails, they are held again as if never cut, in front of
//     what was added meanwhile, so that a retry (Cut, Flush), FlushBatch
//     and DropBatch see every record in source order.
//
// Held says how many records are held and not cut. A Write of the same
// batch again (same Through, after a retry) must not keep its records
// twice. The engine never runs two of Cut, Flush, FlushBatch and DropBatch
// of one holder at once, and calls Flush after every Cut.
//
// The engine commits a batch's checkpoint only after the holders flushed
// it, so holding moves the commit later and loses nothing (see
// Pipeline.HoldRows). A Finisher may keep records past a Flush that
// succeeded (Held leaves them out): only one whose store catches up by
// itself after a crash. A holder in a pipeline without HoldRows is flushed
// after every batch, before its commit, as if it wrote at once.
type Holder interface {
	Held() int
	Cut()
	Flush(ctx context.Context) error
}

// Finisher is a Holder that may keep records past a Flush that succeeded,
// for a store that catches up after a crash by itself (the Postgres NAV
// sink's nav_latest: its next run's Load). Run calls Finish once every
// batch is written, before the run is recorded (again, with the run's
// Retry, after a transient error), and fails the run with its error; a
// run that fails before that leaves them to the holder's Close
// (io.Closer).
type Finisher interface {
	Holder
	Finish(ctx context.Context) error
}

// finishAll finishes the Finishers among hs (a Fanout's inner ones too),
// each retried on its own.
func finishAll(ctx context.Context, hs []Holder, retry Retry) error {
	var errs []error
	for _, h := range hs {
		if w, ok := h.(interface{ innerHolders() []Holder }); ok {
			errs = append(errs, finishAll(ctx, w.innerHolders(), retry))
			continue
		}
		if f, ok := h.(Finisher); ok {
			errs = append(errs, retry.Do(ctx, "finish", f.Finish))
		}
	}
	return errors.Join(errs...)
}

// BatchHolder is a Holder that knows which batch each record it holds
// came from. One Flush sends the records of many batches, of several
// files, so one record the store refuses for good would fail them all;
// after a Flush fails permanently the engine sends again batch by batch
// (FlushBatch, in source order), fails only the refused batch's unit and
// lets go of what its holders kept of it and of the batches of that unit
// after it (DropBatch), and goes on with the rest.
//
// FlushBatch sends only what is held of the batch through cp (nothing:
// nil) and, after a failure, keeps it. DropBatch forgets what is held of
// it: its unit failed, and the source's undo takes back what the stores
// have of it.
type BatchHolder interface {
	Holder
	FlushBatch(ctx context.Context, through Checkpoint) error
	DropBatch(through Checkpoint)
}

// splittable reports whether what h holds can be sent batch by batch: h
// holds nothing, or it is a BatchHolder whose inner holders (a Fanout's,
// an Isolating's) are too.
func splittable(h Holder) bool {
	if h.Held() == 0 {
		return true
	}
	if w, ok := h.(interface{ innerHolders() []Holder }); ok {
		for _, in := range w.innerHolders() {
			if !splittable(in) {
				return false
			}
		}
		return true
	}
	_, ok := h.(BatchHolder)
	return ok
}

// unsplittable are the holders among hs (and inside their Fanouts and
// Isolatings) that hold records and cannot send them batch by batch.
func unsplittable(hs []Holder) []Holder {
	var out []Holder
	for _, h := range hs {
		if h.Held() == 0 {
			continue
		}
		if w, ok := h.(interface{ innerHolders() []Holder }); ok {
			out = append(out, unsplittable(w.innerHolders())...)
			continue
		}
		if _, ok := h.(BatchHolder); !ok {
			out = append(out, h)
		}
	}
	return out
}

// flushBatch sends what every holder holds of one batch.
func flushBatch(ctx context.Context, hs []Holder, cp Checkpoint) error {
	errs := make([]error, len(hs))
	for i, h := range hs {
		if bh, ok := h.(BatchHolder); ok && h.Held() > 0 {
			errs[i] = bh.FlushBatch(ctx, cp)
		}
	}
	return joinKeepTransient(errs)
}

// dropBatch lets go of what every holder holds of one batch.
func dropBatch(hs []Holder, cp Checkpoint) {
	for _, h := range hs {
		if bh, ok := h.(BatchHolder); ok {
			bh.DropBatch(cp)
		}
	}
}

// holders are the sinks and the quarantine that hold records.
func holders[T any](sinks []Sink[T], q Quarantine) []Holder {
	var hs []Holder
	for _, s := range sinks {
		if h, ok := s.(Holder); ok {
			hs = append(hs, h)
		}
	}
	if h, ok := q.(Holder); ok {
		hs = append(hs, h)
	}
	return hs
}

// halfHolder is a sink that holds records (Held, Flush) with no Cut: a
// Holder written before Cut, which the engine would never flush.
type halfHolder interface {
	Held() int
	Flush(ctx context.Context) error
}

// checkHolders fails for a sink (in a Fanout or an Isolating too) or a
// quarantine that is a halfHolder, whose records would be lost.
func checkHolders[T any](sinks []Sink[T], q Quarantine) error {
	all := []any{q}
	for len(sinks) > 0 {
		s := sinks[0]
		sinks = sinks[1:]
		all = append(all, s)
		switch w := s.(type) {
		case Fanout[T]:
			sinks = append(sinks, w...)
		case Isolating[T]:
			sinks = append(sinks, w.Sink)
		}
	}
	for i, s := range all {
		_, full := s.(Holder)
		if _, half := s.(halfHolder); half && !full {
			name := "the quarantine"
			if i > 0 {
				name = "sink " + sinkName(s, i-1)
			}
			return fmt.Errorf("%s holds records (Held, Flush) but has no Cut, so it would never be flushed (see pipelines.Holder)", name)
		}
	}
	return nil
}

func heldIn(hs []Holder) int {
	n := 0
	for _, h := range hs {
		n += h.Held()
	}
	return n
}

// cutAll cuts every holder (see Holder): what the flush that follows
// sends. Call it in the writer, between two batches.
func cutAll(hs []Holder) {
	for _, h := range hs {
		h.Cut()
	}
}

// flushCut flushes every holder at the same time (they are different
// stores, or different tables of one); each sends what it was cut.
func flushCut(ctx context.Context, hs []Holder) error {
	if len(hs) == 1 {
		return hs[0].Flush(ctx)
	}
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.Flush(ctx)
		}()
	}
	wg.Wait()
	return joinKeepTransient(errs)
}

// flushAll sends everything the holders hold, when nothing writes to them
// meanwhile.
func flushAll(ctx context.Context, hs []Holder) error {
	cutAll(hs)
	return flushCut(ctx, hs)
}

// joinKeepTransient joins errors so that the result is Transient only when
// every one of them is (a permanent failure must not be retried).
func joinKeepTransient(errs []error) error {
	var transient, permanent []error
	for _, err := range errs {
		switch {
		case err == nil:
		case IsTransient(err):
			transient = append(transient, err)
		default:
			permanent = append(permanent, err)
		}
	}
	if len(permanent) > 0 {
		for _, t := range transient {
			permanent = append(permanent, errors.New(t.Error()))
		}
		return errors.Join(permanent...)
	}
	return errors.Join(transient...)
}

// Held is what the Fanout's holding sinks hold.
func (f Fanout[T]) Held() int {
	n := 0
	for _, s := range f {
		if h, ok := s.(Holder); ok {
			n += h.Held()
		}
	}
	return n
}

// Cut cuts the Fanout's holding sinks.
func (f Fanout[T]) Cut() { cutAll(f.innerHolders()) }

// Flush flushes the Fanout's holding sinks, each what it was cut.
func (f Fanout[T]) Flush(ctx context.Context) error {
	return flushCut(ctx, f.innerHolders())
}

func (f Fanout[T]) innerHolders() []Holder {
	var hs []Holder
	for _, s := range f {
		if h, ok := s.(Holder); ok {
			hs = append(hs, h)
		}
	}
	return hs
}

// FlushBatch sends what the Fanout's holding sinks hold of one batch (see
// BatchHolder).
func (f Fanout[T]) FlushBatch(ctx context.Context, cp Checkpoint) error {
	return flushBatch(ctx, f.innerHolders(), cp)
}

// DropBatch lets go of what the Fanout's holding sinks hold of one batch.
func (f Fanout[T]) DropBatch(cp Checkpoint) { dropBatch(f.innerHolders(), cp) }
