// Package pipelines is fundflow's engine: typed sources, stages and sinks
// joined by bounded channels, with checkpoints that commit only after every
// sink wrote, per-record quarantine, a reject-rate breaker, retries with
// backoff for transient failures, run history and Prometheus metrics.
//
// It knows nothing of NAVs or payments: the pipelines themselves are
// assembled in jobs/ from connectors, transforms and sinks.
package pipelines

import (
	"context"
	"errors"
	"fmt"
)

// Checkpoint is a source's position after a batch: opaque to everyone but the
// source that made it (a file fingerprint and line, Kafka offsets, inbox ids).
type Checkpoint struct {
	Stream string // which stream the position belongs to, e.g. "nav-ingest/<sha256>"
	Pos    []byte // the source's own encoding of the position
}

// Batch is a slice of records and the checkpoint that is reached once all of
// them (and every batch before) are durably written.
type Batch[T any] struct {
	Items   []T
	Through Checkpoint
}

// ErrEndOfInput is returned by Source.Read when a batch run has nothing more
// to read. It is not a failure: the run ends after the batches before it are
// written and committed.
var ErrEndOfInput = errors.New("end of input")

// Source produces batches.
//
// Rules:
//   - Read blocks until a batch is ready, the context ends, or the input is
//     exhausted (ErrEndOfInput). A batch may be empty only to move the
//     checkpoint (for example past a file of nothing but separator lines).
//   - Commit(cp) is called, in order, only after every sink has durably
//     written every batch up to and including the one that carried cp. A
//     source must not treat anything as consumed before Commit: after a crash
//     it resumes from its last committed checkpoint and batches after it are
//     delivered again (at-least-once; sinks make it effectively-once).
//     The sinks may already be writing the next batch while Commit(cp)
//     runs: a commit does not hold back the writes after it.
//   - Read and Commit may be called from different goroutines, but never two
//     Reads or two Commits at once (except for an Unordered source written
//     by several writers: see Pipeline.Writers).
//   - Close releases what the source holds (a connection, a consumer
//     group's membership, a client it was given). The pipeline owns its
//     source: Pipeline.Run calls Close once when the run ends, whether it
//     succeeded or failed (after the last Read and Commit returned; nothing
//     is called after it). Whoever built the pipeline does not close the
//     source itself. Close's error is logged; it does not fail a run whose
//     batches are committed.
type Source[T any] interface {
	Read(ctx context.Context) (Batch[T], error)
	Commit(ctx context.Context, cp Checkpoint) error
	Close() error
}

// Stage turns one record into another. It returns a *RejectError for a record
// that is bad (the record goes to quarantine and the run goes on), an error
// wrapping ErrStored for a record every sink holds already as it is (it is
// counted in Stats.Skipped and written nowhere); any other error fails the
// run without committing the batch. A pipeline whose
// records need no change has no stage (a nil Pipeline.Stage).
type Stage[In, Out any] func(ctx context.Context, in In) (Out, error)

// ErrStored is what a stage returns for a record that every sink already
// holds exactly as it is (a NAV published again unchanged): writing it
// would change nothing, so it goes to no sink.
var ErrStored = errors.New("stored already")

// Then chains two stages.
func Then[A, B, C any](first Stage[A, B], second Stage[B, C]) Stage[A, C] {
	return func(ctx context.Context, a A) (C, error) {
		b, err := first(ctx, a)
		if err != nil {
			var zero C
			return zero, err
		}
		return second(ctx, b)
	}
}

// Sink writes batches.
//
// Rules:
//   - Write returns only when the batch is durable (committed in Postgres,
//     acknowledged by ClickHouse or Kafka) or with an error; a Holder's
//     Write may keep the batch instead, and it is durable when its Flush
//     returns (the engine commits nothing before that: see Holder).
//   - Write must be idempotent: the same batch (same b.Through) may arrive
//     again after a crash or a retry, and the stored result must be as if it
//     had arrived once (natural keys with ON CONFLICT, ReplacingMergeTree,
//     deterministic event ids).
//   - An empty batch is a no-op that must succeed.
//   - An error marked Transient is retried by the engine with backoff; any
//     other error fails the run and the checkpoint is not committed, or,
//     when the source is a UnitFailer, fails only the batch's unit (its
//     file) and the run goes on with the next one; when it is a Nacker (an
//     Intake), the batch is handed back to its senders and the run goes on.
//   - A sink that holds a connection of its own (a Kafka writer) implements
//     io.Closer: Pipeline.Run closes it once when the run ends, after the
//     source, as it closes the source. A sink over a shared pool does not.
type Sink[T any] interface {
	Write(ctx context.Context, b Batch[T]) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc[T any] func(ctx context.Context, b Batch[T]) error

// Write calls f.
func (f SinkFunc[T]) Write(ctx context.Context, b Batch[T]) error { return f(ctx, b) }

// Position locates a record in its input, for quarantine and for errors a
// person can act on: a file and line, a Kafka topic/partition/offset, or an
// event id (a webhook's, an outbox row's). A zero field is one that does
// not apply. Its fields match fund.Origin, the lineage a stored record
// keeps, so a record converts one to the other (pipelines.Position(from)):
// that conversion stops compiling if the two drift apart. The engine defines
// its own so it needs nothing of the domain.
type Position struct {
	File   string // file name or URL; empty for streams
	SHA256 string // fingerprint of the file's bytes, hex
	Line   int    // 1-based line number in File
	Topic  string
	Part   int
	Offset int64
	Event  string // event id
}

// Located is implemented by records that know where they came from. The
// engine needs it to quarantine a record with its position and raw bytes.
// A record type that cannot implement it (a domain value of package fund,
// which imports nothing of ours) is located by a Locate function instead
// (Pipeline.Locate, Isolating.Locate).
type Located interface {
	Origin() (Position, []byte)
}

// locator returns how records of type T are located: locate when it is
// set, else the records' own Origin. It fails for a type that is neither.
func locator[T any](locate func(T) (Position, []byte)) (func(T) (Position, []byte), error) {
	if locate != nil {
		return locate, nil
	}
	var zero T
	if _, ok := any(zero).(Located); !ok {
		return nil, fmt.Errorf("records of type %T do not say where they came from: implement pipelines.Located or set Locate", zero)
	}
	return func(t T) (Position, []byte) { return any(t).(Located).Origin() }, nil
}

// Contextual is implemented by records whose raw bytes cannot be read again
// on their own (a NAV row needs its file's header and the category and AMC
// lines above it). The engine stores the context with a quarantined record,
// so the record can be replayed later without the file.
type Contextual interface {
	ReplayContext() []byte
}

// RejectError is what a stage returns for a record that must go to quarantine
// instead of on: a stable machine-readable Reason and a Detail a person can
// act on.
type RejectError struct {
	Reason string // stable code, e.g. "nav_not_available", "future_date"
	Detail string // e.g. `NAV "N.A." is not a number`
}

func (e *RejectError) Error() string { return e.Reason + ": " + e.Detail }

// Reject builds a *RejectError.
func Reject(reason, format string, args ...any) error {
	return &RejectError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Rejected is one quarantined record.
type Rejected struct {
	Pipeline string
	Pos      Position
	Raw      []byte
	Context  []byte // what Raw needs to be read again on its own (see Contextual); nil when Raw is enough
	Reason   string
	Detail   string
}

// Quarantine stores rejected records. Put must be idempotent on
// (pipeline, position): a replayed batch quarantines each record once. The
// engine calls Put while it writes the same batch to the sinks (and
// commits the batch's checkpoint only after both), so Put must not wait
// for a sink, nor a sink for Put.
type Quarantine interface {
	Put(ctx context.Context, rs []Rejected) error
}

// ErrBreakerOpen fails a run whose recent reject rate passed its limit: a
// broken feed halts instead of flooding quarantine.
var ErrBreakerOpen = errors.New("reject-rate breaker open")

// UnitError is a failure confined to one unit of a source's input (one
// file of a folder): the unit is recorded as failed and skipped, and the
// run goes on with the next. Source.Read returns it for a unit it could not
// read to its end (it has recorded the failure itself).
type UnitError struct {
	Stream string // the unit's checkpoint stream
	Unit   string // its name for people, e.g. the file name
	Err    error
}

func (e *UnitError) Error() string { return e.Unit + ": " + e.Err.Error() }
func (e *UnitError) Unwrap() error { return e.Err }

// ErrUnitFailed is wrapped by the error of a run that skipped a failed unit:
// the run did everything else, and says which units it could not load.
var ErrUnitFailed = errors.New("input skipped after a permanent failure")

// UnitFailer is implemented by sources whose input falls apart into units
// that can fail on their own (the files of a folder, each its own
// checkpoint stream). When a batch cannot be written for a reason a retry
// will not fix, the engine calls FailUnit instead of failing the run: the
// source records the unit as failed (with err, and an alert) and reads
// nothing more of it, and the engine drops the batches of that stream it
// already read. FailUnit is never called at the same time as Commit, and
// only after the Commits of the batches before the failed one returned.
type UnitFailer interface {
	FailUnit(ctx context.Context, cp Checkpoint, err error) error
}

// ErrRejectFile marks an error that rejects a whole input file (an HTML error
// page instead of a NAV file, an unknown header). The file is recorded as
// rejected, an alert is raised and the run moves on to the next file; it is
// never loaded as "0 rows".
var ErrRejectFile = errors.New("file rejected")
