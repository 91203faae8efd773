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
	var hs []Holder
	for _, s := range f {
		if h, ok := s.(Holder); ok {
			hs = append(hs, h)
		}
	}
	return flushAll(ctx, hs)
}
