package pipelines

import (
	"context"
	"errors"
	"sync"
)

// Holder is implemented by a sink (or a quarantine) whose store pays for
// each write more than for the records in it: ClickHouse makes a part of
// every insert and merges the parts later, so an insert of 2,000 rows
// costs its server nearly what one of 50,000 does. Such a sink keeps what
// Write gives it and sends it all in one write when Flush is called.
//
// Write (Put) still checks what it is given and fails a batch it cannot
// take; Flush only sends. Held says how many records wait for Flush.
// Flush must leave the records held when it fails, so that a retry sends
// them; a Write of the same batch again (same Through, after a retry)
// must not keep its records twice.
//
// The engine commits a batch's checkpoint only after the holders flushed
// it, so holding moves the commit later and loses nothing (see
// Pipeline.HoldRows). A holder in a pipeline without HoldRows is flushed
// after every batch, before its commit, as if it wrote at once.
type Holder interface {
	Held() int
	Flush(ctx context.Context) error
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

func heldIn(hs []Holder) int {
	n := 0
	for _, h := range hs {
		n += h.Held()
	}
	return n
}

// flushAll flushes every holder that holds something, at the same time
// (they are different stores, or different tables of one).
func flushAll(ctx context.Context, hs []Holder) error {
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		if h.Held() == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.Flush(ctx)
		}()
	}
	wg.Wait()
	return joinKeepTransient(errs)
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

// Flush flushes the Fanout's holding sinks.
func (f Fanout[T]) Flush(ctx context.Context) error {
	return flushAll(ctx, f.innerHolders())
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
