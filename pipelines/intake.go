package pipelines

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Call is one record a caller (an HTTP handler) handed to an Intake, with
// the place its sink writes what became of it. Out and Err are the sink's
// to set; the caller reads them only after Submit returned.
type Call[T, R any] struct {
	In  T
	Out R     // the record's own result (a receipt, an order's state)
	Err error // set when this record alone could not be written; its neighbours were

	done chan struct{}   // closed when the call's batch is committed or failed
	gone <-chan struct{} // closed when the caller stopped waiting
}

// Origin is the record's position when T knows it (Located), else zero.
func (c *Call[T, R]) Origin() (Position, []byte) {
	if l, ok := any(c.In).(Located); ok {
		return l.Origin()
	}
	return Position{}, nil
}

// ErrIntakeClosed is what Submit returns once the intake's pipeline has
// stopped: Transient, since the caller may send again to a process that runs.
var ErrIntakeClosed = errors.New("intake closed")

// Intake is a Source fed by callers that wait for their answer: an HTTP
// handler Submits one record and is answered only after the batch holding
// it is committed by the sinks (the record's Out, or its own Err), or with
// the error that failed the batch. It is how a request/response path (a
// webhook, an order posted over HTTP) runs on the engine: the batching
// that group commit did is Read's (up to Max records, waiting Linger after
// the first), and the sinks write each batch in one transaction.
//
// Batches are independent (each answers its own callers), so the
// pipeline may write several at once (Pipeline.Writers) and commit them in
// any order; a batch the sinks cannot write is Nacked to its callers and
// the run goes on (Nacker). A call whose caller left before it was read
// (its context ended: it was answered "send again") is dropped unread.
type Intake[T, R any] struct {
	name   string
	max    int
	linger time.Duration
	calls  chan *Call[T, R]
	quit   chan struct{}
	close  sync.Once

	mu      sync.Mutex
	seq     uint64
	pending map[uint64][]*Call[T, R] // read, not yet committed or failed
}

// NewIntake returns an intake whose batches hold at most max records
// (default 64), read from callers waiting at most linger (default 2 ms)
// after the first. name is its checkpoint stream.
func NewIntake[T, R any](name string, max int, linger time.Duration) *Intake[T, R] {
	if max <= 0 {
		max = 64
	}
	if linger <= 0 {
		linger = 2 * time.Millisecond
	}
	return &Intake[T, R]{name: name, max: max, linger: linger, calls: make(chan *Call[T, R], 1024),
		quit: make(chan struct{}), pending: map[uint64][]*Call[T, R]{}}
}

// Submit hands in one record and waits until its batch is committed (the
// call's Out and Err are then the sink's answer) or failed (the batch's
// error), or ctx ends or the intake closes (Transient: a retry may help;
// a record already read may still be written, so the caller's retry must
// be idempotent).
func (in *Intake[T, R]) Submit(ctx context.Context, rec T) (*Call[T, R], error) {
	c := &Call[T, R]{In: rec, done: make(chan struct{}), gone: ctx.Done()}
	select {
	case in.calls <- c:
	case <-in.quit:
		return nil, Transient(ErrIntakeClosed)
	case <-ctx.Done():
		return nil, Transient(ctx.Err())
	}
	select {
	case <-c.done:
		return c, nil
	case <-in.quit:
		return nil, Transient(ErrIntakeClosed)
	case <-ctx.Done():
		return nil, Transient(ctx.Err())
	}
}

// Read gathers the next batch: it waits for a first call, then takes what
// comes within linger, up to max.
func (in *Intake[T, R]) Read(ctx context.Context) (Batch[*Call[T, R]], error) {
	var items []*Call[T, R]
	add := func(c *Call[T, R]) {
		select {
		case <-c.gone: // answered "send again" already: nobody waits for it
		default:
			items = append(items, c)
		}
	}
	for len(items) == 0 {
		select {
		case c := <-in.calls:
			add(c)
		case <-in.quit:
			return Batch[*Call[T, R]]{}, ErrEndOfInput
		case <-ctx.Done():
			return Batch[*Call[T, R]]{}, ctx.Err()
		}
	}
	t := time.NewTimer(in.linger)
	defer t.Stop()
gather:
	for len(items) < in.max {
		select {
		case c := <-in.calls:
			add(c)
		case <-t.C:
			break gather
		case <-ctx.Done():
			break gather
		}
	}
	in.mu.Lock()
	in.seq++
	seq := in.seq
	in.pending[seq] = items
	in.mu.Unlock()
	return Batch[*Call[T, R]]{Items: items, Through: Checkpoint{Stream: in.name, Pos: binary.BigEndian.AppendUint64(nil, seq)}}, nil
}

// take removes and returns the calls of the batch that carried cp.
func (in *Intake[T, R]) take(cp Checkpoint) ([]*Call[T, R], error) {
	if len(cp.Pos) != 8 {
		return nil, fmt.Errorf("intake %s: checkpoint %x is not one of its batches", in.name, cp.Pos)
	}
	seq := binary.BigEndian.Uint64(cp.Pos)
	in.mu.Lock()
	defer in.mu.Unlock()
	calls, ok := in.pending[seq]
	if !ok {
		return nil, fmt.Errorf("intake %s: batch %d is not pending", in.name, seq)
	}
	delete(in.pending, seq)
	return calls, nil
}

// Commit answers the callers of the batch that carried cp: their records
// are written.
func (in *Intake[T, R]) Commit(ctx context.Context, cp Checkpoint) error {
	calls, err := in.take(cp)
	for _, c := range calls {
		close(c.done)
	}
	return err
}

// Nack answers the callers of the batch that carried cp with err: it was
// not written (see Nacker). A batch the run stopped before writing is
// answered Transient: the caller may send it again.
func (in *Intake[T, R]) Nack(ctx context.Context, cp Checkpoint, err error) error {
	if isCancel(err) {
		// Not wrapped: a cancellation is never "transient" (IsTransient).
		err = Transient(fmt.Errorf("%w before the batch was written (%v)", ErrIntakeClosed, err))
	}
	calls, terr := in.take(cp)
	for _, c := range calls {
		c.Err = err
		close(c.done)
	}
	return terr
}

// Unordered marks the intake's batches as independent (see Unordered).
func (in *Intake[T, R]) Unordered() {}

// Close stops the intake: waiting and later callers get ErrIntakeClosed.
func (in *Intake[T, R]) Close() error {
	in.close.Do(func() { close(in.quit) })
	return nil
}

// Nacker is implemented by sources whose every batch can be handed back
// to whoever sent it (an HTTP caller waiting for its answer, who sends
// again when told to). When a batch cannot be written (a permanent error,
// or a transient one after the retry budget), the engine calls Nack with
// the error instead of failing the run, and goes on with the next batch.
// Nack is called from a writer goroutine, like Commit.
type Nacker interface {
	Nack(ctx context.Context, cp Checkpoint, err error) error
}

// Unordered is implemented by sources whose batches do not depend on one
// another (each commits only itself: an Intake). Only such a source may be
// written by several writers at once (Pipeline.Writers); its Commit and
// Nack may then be called concurrently and out of source order.
type Unordered interface{ Unordered() }

// CallSink is the sink of an Intake pipeline whose store writes a batch in
// one transaction (group commit) and gives each record its own result. A
// batch is written with Many; when Many fails for a reason a retry will not
// fix, the records are written one at a time with One, so a record that
// cannot be written gets its own Err (its caller is answered for it alone)
// and its neighbours are written. A transient failure of Many is returned
// for the engine to retry (a deadlock, a restarting database).
//
// Many must return one result per record, in order; both must be
// idempotent, as any Sink (a record written before a failure is written
// again as a duplicate).
type CallSink[T, R any] struct {
	Label string // the metrics' sink label
	Many  func(ctx context.Context, recs []T) ([]R, error)
	One   func(ctx context.Context, rec T) (R, error)
}

// Name labels the sink's metrics.
func (s CallSink[T, R]) Name() string { return s.Label }

// Write writes b's records and sets each call's Out or Err.
func (s CallSink[T, R]) Write(ctx context.Context, b Batch[*Call[T, R]]) error {
	if len(b.Items) == 0 {
		return nil
	}
	recs := make([]T, len(b.Items))
	for i, c := range b.Items {
		recs[i] = c.In
	}
	outs, err := s.Many(ctx, recs)
	if err == nil {
		if len(outs) != len(recs) {
			return fmt.Errorf("%s: %d results for %d records", s.Label, len(outs), len(recs))
		}
		for i, c := range b.Items {
			c.Out, c.Err = outs[i], nil
		}
		return nil
	}
	if IsTransient(err) || ctx.Err() != nil || len(recs) == 1 {
		return err
	}
	for _, c := range b.Items {
		c.Out, c.Err = s.One(ctx, c.In)
		if c.Err != nil && ctx.Err() != nil {
			return c.Err // the run is stopping: the batch's callers are told so
		}
	}
	return nil
}
