package pipelines

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// transientError marks an error as worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Transient marks err as a passing failure (network, a restarting database)
// that the engine retries with backoff.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err}
}

// IsTransient reports whether err is worth retrying: marked with Transient,
// a network error, a refused or reset connection, or an unexpected EOF.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var te *transientError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}

// Retry is a backoff policy for transient failures.
type Retry struct {
	Attempts int           // total tries, including the first; <= 1 means no retry
	Base     time.Duration // first wait; doubles each time
	Max      time.Duration // cap on one wait
}

// DefaultRetry gives a failing service about 30 s to come back.
var DefaultRetry = Retry{Attempts: 8, Base: 200 * time.Millisecond, Max: 8 * time.Second}

// ErrGaveUp is wrapped by the error of a Retry.Do that ran out of tries on a
// transient failure: the service may come back, so it is not the input's
// fault.
var ErrGaveUp = errors.New("gave up")

// Do runs op until it succeeds, fails with a non-transient error, the budget
// runs out, or ctx ends. The returned error says how many tries were made.
func (r Retry) Do(ctx context.Context, what string, op func(context.Context) error) error {
	wait := r.Base
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if !IsTransient(err) {
			return err
		}
		if attempt >= r.Attempts {
			return fmt.Errorf("%s: %w after %d tries: %w", what, ErrGaveUp, attempt, err)
		}
		// Full jitter keeps several processes from retrying in lockstep.
		d := time.Duration(rand.Int64N(int64(wait) + 1))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(d):
		}
		if wait *= 2; wait > r.Max {
			wait = r.Max
		}
	}
}
