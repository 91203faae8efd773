package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// runLockHolder is the backend pid holding run id's lock ("runs" =
// 0x72756e73 as the first key, the id as the second), 0 if none.
func runLockHolder(t *testing.T, pool *pgxpool.Pool, id int64) int {
	t.Helper()
	var pid int
	err := pool.QueryRow(testkit.Ctx(t), `SELECT coalesce(max(pid), 0) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = 1920298611 AND objid = $1::bigint::oid AND objsubid = 2
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, id).Scan(&pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func runStatus(t *testing.T, pool *pgxpool.Pool, id int64) (status, errText string) {
	t.Helper()
	var e *string
	if err := pool.QueryRow(testkit.Ctx(t), `SELECT status, error FROM job_runs WHERE id = $1`, id).Scan(&status, &e); err != nil {
		t.Fatal(err)
	}
	if e != nil {
		errText = *e
	}
	return status, errText
}

// A run holds its lock while it runs; when its session ends (the process
// was killed: here the server ends the session, as it does when the
// process's socket closes) the next Start marks it abandoned with the
// reason, and a row nobody ever held is abandoned too. A live run is left
// alone, and Finish lets its lock go.
func TestRunsAbandonedWhenTheirSessionEnds(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	store := postgres.Store{Pool: pool}

	var orphan int64 // as a run started before the lock existed, or by a process long dead
	if err := pool.QueryRow(ctx, `INSERT INTO job_runs (pipeline, host) VALUES ('folio-recon', 'old-host') RETURNING id`).Scan(&orphan); err != nil {
		t.Fatal(err)
	}
	killed, err := store.Start(ctx, "nav-ingest")
	if err != nil {
		t.Fatal(err)
	}
	if runLockHolder(t, pool, killed) == 0 {
		t.Fatal("a started run holds no lock")
	}
	// Start swept the orphan; the live run is not touched.
	if st, _ := runStatus(t, pool, orphan); st != "abandoned" {
		t.Fatalf("orphan is %s after the next Start", st)
	}
	if got, err := store.AbandonStaleRuns(ctx); err != nil || len(got) != 0 {
		t.Fatalf("abandoned %+v %v while the only running run is alive", got, err)
	}
	if st, _ := runStatus(t, pool, killed); st != "running" {
		t.Fatalf("live run is %s", st)
	}

	// The holder's session ends.
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT pg_terminate_backend($1, 60000)`, runLockHolder(t, pool, killed)).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminate holder: %v %v", ok, err)
	}
	next, err := store.Start(ctx, "nav-ingest")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id     int64
		status string
		errHas []string
	}{
		{orphan, "abandoned", []string{"abandoned: the process that ran it (host old-host, pid unknown) is gone"}},
		{killed, "abandoned", []string{"abandoned: the process that ran it", "no session holds the run's lock"}},
		{next, "running", nil},
	} {
		st, e := runStatus(t, pool, c.id)
		if st != c.status {
			t.Errorf("run %d: status %s, want %s (%s)", c.id, st, c.status, e)
		}
		for _, s := range c.errHas {
			if !strings.Contains(e, s) {
				t.Errorf("run %d: error %q lacks %q", c.id, e, s)
			}
		}
	}

	if err := store.Finish(ctx, next, pipelines.Stats{Batches: 2, In: 5, Out: 5}, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := runStatus(t, pool, next); st != "ok" {
		t.Fatalf("finished run is %s", st)
	}
	// Finish's notification makes the holder let go (no deadline: the test's own timeout bounds it).
	for runLockHolder(t, pool, next) != 0 {
		time.Sleep(10 * time.Millisecond)
	}
	// A finished run is never abandoned.
	if got, err := store.AbandonStaleRuns(ctx); err != nil || len(got) != 0 {
		t.Fatalf("abandoned %+v %v after every run finished", got, err)
	}
}

// Should Finish's notification never reach the lock holder (the row was
// finished some other way), the holder still lets go: it looks at the row
// each time it has waited RunRecheck.
func TestRunLockFreedWhenTheNotificationIsMissed(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	store := postgres.Store{Pool: pool, RunRecheck: 50 * time.Millisecond}
	id, err := store.Start(ctx, "nav-ingest")
	if err != nil {
		t.Fatal(err)
	}
	// Still running: the holder keeps the lock through several rechecks.
	time.Sleep(200 * time.Millisecond)
	if runLockHolder(t, pool, id) == 0 {
		t.Fatal("the lock went while the run was still running")
	}
	if _, err := pool.Exec(ctx, `UPDATE job_runs SET status = 'failed', finished_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for runLockHolder(t, pool, id) != 0 { // no deadline: the test's own timeout bounds it
		time.Sleep(10 * time.Millisecond)
	}
}

// A scheduled run records its tick; a second run of the same pipeline's
// tick (another process that fired a moment later) writes nothing and is
// refused with ErrTickTaken (a skip), even after the first finished.
// Another pipeline's run of the same tick, the next tick and manual runs
// (no tick) are not refused.
func TestStartRefusesATickTaken(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	store := postgres.Store{Pool: pool}
	tick := time.Date(2026, 8, 20, 10, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	start := func(ctx context.Context, pipeline string) (int64, error) {
		id, err := store.Start(ctx, pipeline)
		if err == nil {
			if err := store.Finish(ctx, id, pipelines.Stats{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return id, err
	}
	first, err := start(pipelines.WithTick(ctx, "nav-ingest", tick), "nav-ingest")
	if err != nil {
		t.Fatal(err)
	}
	_, err = start(pipelines.WithTick(ctx, "nav-ingest", tick), "nav-ingest")
	if !errors.Is(err, postgres.ErrTickTaken) {
		t.Fatalf("second run of the tick: %v, want ErrTickTaken", err)
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
		pipe string
	}{
		{"another pipeline, same tick", pipelines.WithTick(ctx, "folio-recon", tick), "folio-recon"},
		{"the next tick", pipelines.WithTick(ctx, "nav-ingest", tick.Add(time.Minute)), "nav-ingest"},
		{"a manual run", ctx, "nav-ingest"},
		{"another manual run", ctx, "nav-ingest"},
	} {
		if _, err := start(c.ctx, c.pipe); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	var n int
	var got time.Time
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pipeline = 'nav-ingest' AND tick = $1),
			max(tick) FILTER (WHERE id = $2) FROM job_runs`, tick, first).Scan(&n, &got); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !got.Equal(tick) {
		t.Fatalf("%d rows for the tick (want 1); the first run's tick %v", n, got)
	}
	rows, err := store.ListRuns(ctx, "nav-ingest", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0].Tick != nil || rows[1].Tick != nil || rows[3].Tick == nil || !rows[3].Tick.Equal(tick) {
		t.Fatalf("listed runs: %+v", rows)
	}
}
