package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fundflow/fundflow/pipelines"
)

// A running run holds the advisory lock (runLockClass, runLockKey(id)) on a
// connection of its own. The server releases a session's locks when the
// session ends, so a run whose process was killed loses its lock at once
// and AbandonStaleRuns can tell it from a run that is still going.
const (
	runLockClass    = 0x72756e73 // "runs"
	runFinishedChan = "fundflow_run_finished"
)

// runLockKey folds a run id into the lock's int4 second key (ids wrap after
// 2^31 runs; two live runs 2^31 apart cannot happen).
func runLockKey(id int64) int32 { return int32(id & 0x7fffffff) }

// ErrTickTaken is Start's error when ctx is a scheduled run whose tick
// another run of the pipeline already recorded (another process ran it): a
// skip, not a failure (supervise.Single reports it as scheduler.ErrSkipped).
var ErrTickTaken = errors.New("tick taken (another process ran it)")

// Start records a run as running and holds its lock until Finish (or until
// the process dies). Before that it marks runs whose process is gone as
// abandoned, so a killed run is noticed by the next one. A scheduled run
// records its tick (pipelines.ClaimTick); when the pipeline's tick is
// already recorded nothing is written and the error wraps ErrTickTaken.
func (s Store) Start(ctx context.Context, pipeline string) (int64, error) {
	if _, err := s.AbandonStaleRuns(ctx); err != nil {
		return 0, err
	}
	var tick *time.Time
	if at, ok := pipelines.ClaimTick(ctx, pipeline); ok {
		tick = &at
	}
	host, _ := os.Hostname()
	pc, err := s.Pool.Acquire(ctx)
	if err != nil {
		return 0, classify(err)
	}
	conn := pc.Hijack() // the pool no longer owns it: it lives as long as the run
	var id int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO job_runs (pipeline, host, pid, tick) VALUES ($1, $2, $3, $4)
			ON CONFLICT (pipeline, tick) WHERE tick IS NOT NULL DO NOTHING RETURNING id`,
			pipeline, host, os.Getpid(), tick).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s at %s: %w", pipeline, tick.Format(time.RFC3339), ErrTickTaken)
		}
		if err != nil {
			return err
		}
		// Taken before the row commits: nobody can see the row without the lock.
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(runLockClass), runLockKey(id)).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("run %d: its lock is held by another session", id)
		}
		_, err = tx.Exec(ctx, `LISTEN `+runFinishedChan)
		return err
	})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		if errors.Is(err, ErrTickTaken) {
			return 0, err
		}
		return 0, fmt.Errorf("record run start: %w", classify(err))
	}
	recheck := s.RunRecheck
	if recheck <= 0 {
		recheck = 30 * time.Second
	}
	go holdRun(conn, id, recheck)
	return id, nil
}

// holdRun keeps run id's lock until Finish announces the run (or, should
// that notification be missed, until a check every recheck finds the row no
// longer running), then closes the connection, which releases the lock.
func holdRun(conn *pgx.Conn, id int64, recheck time.Duration) {
	defer conn.Close(context.Background())
	want := strconv.FormatInt(id, 10)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), recheck)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		switch {
		case err == nil:
			if n.Payload == want {
				return
			}
			continue
		case !pgconn.Timeout(err) || conn.IsClosed():
			return // the connection is gone, and the lock with it
		}
		// No notification for a while: make sure the run is still going.
		var status string
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		err = conn.QueryRow(ctx, `SELECT status FROM job_runs WHERE id = $1`, id).Scan(&status)
		cancel()
		if err != nil || status != "running" {
			return
		}
	}
}

// Finish records a run's outcome and counts, and lets its lock go. It
// overwrites 'abandoned': a run that lost its connection but lived on says
// how it really ended.
func (s Store) Finish(ctx context.Context, id int64, st pipelines.Stats, runErr error) error {
	status, msg := runOutcome(runErr)
	reasons, err := json.Marshal(st.Reasons)
	if err != nil {
		return err
	}
	_, err = s.Pool.Exec(ctx, `WITH u AS (
			UPDATE job_runs SET finished_at = now(), status = $2, batches = $3, records_in = $4,
				records_out = $5, quarantined = $6, reasons = $7, error = $8 WHERE id = $1 RETURNING id)
		SELECT pg_notify('`+runFinishedChan+`', id::text) FROM u`,
		id, status, st.Batches, st.In, st.Out, st.Quarantined, reasons, msg)
	return classify(err)
}

// Store records the periodic jobs' passes after the fact, too.
var _ pipelines.RunRecord = Store{}

// Record writes a run that already ended (started then, finishing now) as
// one row: the periodic passes that record only the passes that did
// something (pipelines.Recorder.RunIfWork) know that only at the end. No
// lock is taken: the row is never 'running'.
func (s Store) Record(ctx context.Context, pipeline string, started time.Time, st pipelines.Stats, runErr error) error {
	status, msg := runOutcome(runErr)
	reasons, err := json.Marshal(st.Reasons)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	_, err = s.Pool.Exec(ctx, `INSERT INTO job_runs (pipeline, host, pid, started_at, finished_at, status, batches,
			records_in, records_out, quarantined, reasons, error)
		VALUES ($1, $2, $3, $4, now(), $5, $6, $7, $8, $9, $10, $11)`,
		pipeline, host, os.Getpid(), started, status, st.Batches, st.In, st.Out, st.Quarantined, reasons, msg)
	if err != nil {
		return fmt.Errorf("record run of %s: %w", pipeline, classify(err))
	}
	return nil
}

// runOutcome is a finished run's status and error text.
func runOutcome(runErr error) (string, *string) {
	if runErr == nil {
		return "ok", nil
	}
	m := runErr.Error()
	return "failed", &m
}

// AbandonedRun is a run AbandonStaleRuns marked.
type AbandonedRun struct {
	ID       int64
	Pipeline string
}

// AbandonStaleRuns marks every 'running' run whose lock no session holds
// (its process was killed, crashed or lost its connection) as 'abandoned',
// with the reason in error, and returns them.
func (s Store) AbandonStaleRuns(ctx context.Context) ([]AbandonedRun, error) {
	me, _ := os.Hostname()
	rows, err := s.Pool.Query(ctx, `UPDATE job_runs r SET status = 'abandoned', finished_at = now(),
			error = format('abandoned: the process that ran it (host %s, pid %s) is gone: no session holds the run''s lock (killed, crashed or cut off from the database); noticed by host %s pid %s',
				coalesce(nullif(r.host, ''), 'unknown'), coalesce(r.pid::text, 'unknown'), $3::text, $4::int)
		WHERE r.status = 'running' AND NOT EXISTS (
			SELECT 1 FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
				AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND l.classid = $1::bigint::oid AND l.objid = (r.id & $2)::oid)
		RETURNING r.id, r.pipeline`, int64(runLockClass), int64(0x7fffffff), me, os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("mark abandoned runs: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AbandonedRun])
	if err != nil {
		return nil, fmt.Errorf("mark abandoned runs: %w", classify(err))
	}
	for _, r := range out {
		slog.Default().Warn("run abandoned: its process is gone", "run_id", r.ID, "pipeline", r.Pipeline)
	}
	return out, nil
}

// RunRow is one job_runs row, for `fundflow runs`.
type RunRow struct {
	ID          int64            `json:"id"`
	Pipeline    string           `json:"pipeline"`
	Status      string           `json:"status"` // running, ok, failed, abandoned
	StartedAt   time.Time        `json:"started_at"`
	FinishedAt  *time.Time       `json:"finished_at,omitempty"`
	Batches     int64            `json:"batches"`
	In          int64            `json:"records_in"`
	Out         int64            `json:"records_out"`
	Quarantined int64            `json:"quarantined"`
	Reasons     map[string]int64 `json:"reasons,omitempty"`
	Error       *string          `json:"error,omitempty"`
	Host        string           `json:"host"`
	PID         *int32           `json:"pid,omitempty"`
	Tick        *time.Time       `json:"tick,omitempty"` // a scheduled run's tick (the time its schedule named)
}

// ListRuns returns the latest runs, newest first (pipeline "" = every one),
// after marking the abandoned ones, so no dead run is shown as running.
func (s Store) ListRuns(ctx context.Context, pipeline string, limit int) ([]RunRow, error) {
	if _, err := s.AbandonStaleRuns(ctx); err != nil {
		return nil, err
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, pipeline, status, started_at, finished_at, batches, records_in, records_out,
			quarantined, reasons, error, host, pid, tick
		FROM job_runs WHERE $1 = '' OR pipeline = $1 ORDER BY id DESC LIMIT $2`, pipeline, limit)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[RunRow])
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", classify(err))
	}
	return out, nil
}
