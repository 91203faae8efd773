package pipelines

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Fanout is a Sink that writes each batch to all of its sinks at the same
// time and returns when every one has written it: the batch costs the
// slowest sink's time instead of the sum. Use it for sinks that do not
// depend on one another (Postgres and ClickHouse); a sink that must only
// see what another has made durable (events published after Postgres
// committed) stays after the Fanout in the pipeline's list.
//
// The Sink rules hold: Write returns when all sinks are durable, or with an
// error, and the engine then commits nothing. The error is Transient only
// when every failing sink's error is, so a retry rewrites the batch to all
// sinks (each is idempotent) and a permanent failure is never retried.
type Fanout[T any] []Sink[T]

// Name labels the fanout's metrics with its sinks' names: "postgres+clickhouse".
func (f Fanout[T]) Name() string {
	names := make([]string, len(f))
	for i, s := range f {
		names[i] = sinkName(s, i)
	}
	return strings.Join(names, "+")
}

// Write writes b to every sink concurrently.
func (f Fanout[T]) Write(ctx context.Context, b Batch[T]) error {
	if len(f) == 1 {
		return f[0].Write(ctx, b)
	}
	errs := make([]error, len(f))
	var wg sync.WaitGroup
	for i, s := range f {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Write(ctx, b); err != nil {
				errs[i] = fmt.Errorf("%s: %w", sinkName(s, i), err)
			}
		}()
	}
	wg.Wait()
	return joinKeepTransient(errs) // nil when all wrote
}

// Close closes the sinks that are io.Closers (see Sink).
func (f Fanout[T]) Close() error { return closeSinks(f) }
