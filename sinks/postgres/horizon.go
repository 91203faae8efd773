package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"
)

// OutboxHorizon tells how far a reader may move an id cursor through the
// outbox without ever skipping a row. An id is taken (nextval) inside the
// inserting transaction, so a row can commit after a row with a higher id
// was read; a cursor past it would never see it. The relays avoid this
// with a marker column; a reader whose position is an id (the fraud
// evaluation without Kafka) asks the horizon instead.
//
// Why it holds: a transaction inserting into outbox takes RowExclusiveLock
// on the table before its nextval and keeps it until it ends. Read the
// sequence's last value S, then the transactions holding that lock, V:
// every id ≤ S that is not visible yet belongs to a transaction in V. Once
// all of V have ended, every id ≤ S is final (committed or never will be).
// Nothing waits and no writer is blocked: the horizon lags the newest row
// by about one writer's transaction. A transaction left open stops it
// there, which is a stall to see, never a lost row.
//
// Not safe for concurrent use: one reader owns one horizon.
type OutboxHorizon struct {
	marks []horizonMark // oldest first; S only grows
	final int64
}

// maxHorizonMarks bounds the marks kept while a writer stays open.
const maxHorizonMarks = 1024

type horizonMark struct {
	seq  int64    // the sequence's last value
	open []string // virtual transaction ids holding the lock after seq was read
}

// Final returns the highest outbox id at or below which every row is
// final, 0 when none is known yet.
func (h *OutboxHorizon) Final(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var seq int64
	var called bool
	if err := pool.QueryRow(ctx, `SELECT last_value, is_called FROM outbox_id_seq`).Scan(&seq, &called); err != nil {
		return h.final, fmt.Errorf("outbox horizon: sequence: %w", err)
	}
	if !called {
		seq-- // nothing handed out yet
	}
	// after the sequence: a transaction that took an id ≤ seq and is still
	// open holds the lock now
	rows, err := pool.Query(ctx, `SELECT DISTINCT virtualtransaction FROM pg_locks
		WHERE locktype = 'relation' AND relation = 'outbox'::regclass AND mode = 'RowExclusiveLock'
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND granted AND pid IS DISTINCT FROM pg_backend_pid()`)
	if err != nil {
		return h.final, fmt.Errorf("outbox horizon: writers: %w", err)
	}
	var open []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return h.final, fmt.Errorf("outbox horizon: writers: %w", err)
		}
		open = append(open, v)
	}
	if err := rows.Err(); err != nil {
		return h.final, fmt.Errorf("outbox horizon: writers: %w", err)
	}
	m := horizonMark{seq: seq, open: open}
	if len(h.marks) < maxHorizonMarks {
		h.marks = append(h.marks, m)
	} else {
		// a writer left open: any one mark is a valid claim on its own,
		// so dropping the newest but one only delays the horizon
		h.marks[len(h.marks)-1] = m
	}
	// a mark is passed once none of its writers is open any more; a later
	// mark holds every earlier writer still open, so they pass in order
	for len(h.marks) > 0 && !slices.ContainsFunc(h.marks[0].open, func(v string) bool { return slices.Contains(open, v) }) {
		h.final = max(h.final, h.marks[0].seq)
		h.marks = h.marks[1:]
	}
	return h.final, nil
}
