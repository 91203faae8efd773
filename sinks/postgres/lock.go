package postgres

import (
	"context"
	"errors"
	"fmt"
)

// ErrLocked says another process holds a single-runner lock.
var ErrLocked = errors.New("already running in another process")

// TryLock takes a session-level advisory lock named key on a connection of
// its own, so that a scheduled job runs on one process only. It returns
// ErrLocked at once if another session holds it. The lock lives as long as
// the connection: a crashed holder releases it automatically.
func (s Store) TryLock(ctx context.Context, key string) (unlock func(), err error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return nil, classify(err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		conn.Release()
		return nil, classify(err)
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("%s: %w (advisory lock held)", key, ErrLocked)
	}
	return func() {
		_, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		if err != nil {
			// Closing the connection releases the lock for sure.
			conn.Conn().Close(context.Background())
		}
		conn.Release()
	}, nil
}
