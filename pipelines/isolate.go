package pipelines

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Isolating wraps a sink that writes a batch in one transaction, so that one
// record the store refuses for good (a value it cannot hold, a constraint it
// breaks) does not fail the batch forever and hold up the stream behind it.
// A batch whose write fails permanently (not IsTransient) is written again
// one record at a time; each record that still fails permanently goes to
// Quarantine with Reason and the error, and the others are written. A
// transient error is returned as it is, for the engine to retry.
//
// Write stays idempotent on the batch as long as the inner sink is: a retry
// after a failed quarantine write writes the good records again (no-ops)
// and quarantines the bad ones once (Put is idempotent on the position).
type Isolating[T any] struct {
	Sink Sink[T]
	// Locate says where a record came from; nil: T is Located. Write
	// fails when it is neither.
	Locate     func(T) (Position, []byte)
	Quarantine Quarantine
	Pipeline   string       // the pipeline's name, for the quarantine rows
	Reason     string       // e.g. "not_storable"
	Log        *slog.Logger // nil: slog.Default()
}

// Name labels the metrics with the inner sink's name.
func (s Isolating[T]) Name() string { return sinkName(s.Sink, 0) }

// Close closes the inner sink if it is an io.Closer (see Sink).
func (s Isolating[T]) Close() error { return closeSinks([]Sink[T]{s.Sink}) }

// Write writes b, isolating records that fail permanently.
func (s Isolating[T]) Write(ctx context.Context, b Batch[T]) error {
	locate, err := locator(s.Locate)
	if err != nil {
		return err // checked first: a sink that could not quarantine must not write
	}
	err = s.Sink.Write(ctx, b)
	if err == nil || IsTransient(err) || ctx.Err() != nil {
		return err
	}
	var bad []Rejected
	for i := range b.Items {
		ierr := s.Sink.Write(ctx, Batch[T]{Items: b.Items[i : i+1], Through: b.Through})
		if ierr == nil {
			continue
		}
		if IsTransient(ierr) || ctx.Err() != nil {
			return ierr
		}
		pos, raw := locate(b.Items[i])
		r := Rejected{Pipeline: s.Pipeline, Pos: pos, Raw: raw, Reason: s.Reason, Detail: safeText(ierr.Error()) /* a database error may quote the value it refused */}
		log := s.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("record cannot be written; quarantined", "pipeline", s.Pipeline, "reason", s.Reason, "pos", fmt.Sprintf("%+v", pos), "err", ierr)
		bad = append(bad, r)
	}
	if len(bad) == 0 {
		return nil // the batch failed, its records one by one did not: nothing left to do
	}
	if s.Quarantine == nil {
		return fmt.Errorf("%d records cannot be written and no quarantine is configured (first: %s)", len(bad), bad[0].Detail)
	}
	return s.Quarantine.Put(ctx, bad)
}

// safeText makes text storable in a text column: valid UTF-8, no NUL byte
// (the rule of fund.SafeText; the engine imports nothing of ours).
func safeText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\0`)
}

// Held, Cut and Flush pass a holding inner sink through (see Holder), so the
// engine flushes it before committing what it holds; 0 and nil otherwise.
// Records are isolated at Write; a holder's refusal at Flush is isolated
// to its batch by the engine (BatchHolder), not to a record.
func (s Isolating[T]) Held() int {
	if h, ok := s.Sink.(Holder); ok {
		return h.Held()
	}
	return 0
}

// Cut cuts a holding inner sink.
func (s Isolating[T]) Cut() {
	if h, ok := s.Sink.(Holder); ok {
		h.Cut()
	}
}

// Flush flushes a holding inner sink.
func (s Isolating[T]) Flush(ctx context.Context) error {
	if h, ok := s.Sink.(Holder); ok {
		return h.Flush(ctx)
	}
	return nil
}

func (s Isolating[T]) innerHolders() []Holder {
	if h, ok := s.Sink.(Holder); ok {
		return []Holder{h}
	}
	return nil
}

// FlushBatch passes a BatchHolder inner sink through.
func (s Isolating[T]) FlushBatch(ctx context.Context, cp Checkpoint) error {
	return flushBatch(ctx, s.innerHolders(), cp)
}

// DropBatch passes a BatchHolder inner sink through.
func (s Isolating[T]) DropBatch(cp Checkpoint) { dropBatch(s.innerHolders(), cp) }
