package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

type chEvent struct {
	RunID                                     uint64
	Kind, File, SHA, Reason, Detail, Pipeline string
	Line                                      uint32
	Records                                   uint64
}

func chEvents(t *testing.T, conn clickhouse.Conn) []chEvent {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT run_id, kind, file, sha256, reason, detail, pipeline, line, records
		FROM ingest_events ORDER BY kind, line`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []chEvent
	for rows.Next() {
		var e chEvent
		if err := rows.Scan(&e.RunID, &e.Kind, &e.File, &e.SHA, &e.Reason, &e.Detail, &e.Pipeline, &e.Line, &e.Records); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func rejected(lines ...int) []pipelines.Rejected {
	var rs []pipelines.Rejected
	for _, l := range lines {
		rs = append(rs, pipelines.Rejected{Pipeline: "nav-ingest", Pos: pipelines.Position{File: "NAVAll.txt", SHA256: "feed", Line: l},
			Raw: []byte("x;N.A."), Reason: "nav_not_available", Detail: fmt.Sprintf("line %d: NAV \"N.A.\"", l)})
	}
	return rs
}

// A run with quarantined records: Postgres has them, and ClickHouse has one
// event per record with its position and the run's id, plus one run event.
func TestEventsMirrorRunsAndQuarantine(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	conn, _ := testkit.CH(t)
	pg := postgres.Store{Pool: pool}

	for _, tc := range []struct {
		name    string
		runErr  error
		lines   []int
		out     int64
		reason  string
		inError string
	}{
		{"ok run", nil, []int{3, 5, 8}, 120, "ok", ""},
		{"failed run", errors.New("nav-ingest: read: sftp: connection lost"), []int{9}, 40, "failed", "connection lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := conn.Exec(ctx, `TRUNCATE TABLE ingest_events`); err != nil {
				t.Fatal(err)
			}
			ev := &clickhouse.Events{Conn: conn, Runs: pg, Quarantine: pg}
			id, err := ev.Start(ctx, "nav-ingest")
			if err != nil {
				t.Fatal(err)
			}
			if err := ev.Put(ctx, rejected(tc.lines...)); err != nil {
				t.Fatal(err)
			}
			if err := ev.Finish(ctx, id, pipelines.Stats{Out: tc.out, Quarantined: int64(len(tc.lines))}, tc.runErr); err != nil {
				t.Fatal(err)
			}
			var status string
			if err := pool.QueryRow(ctx, `SELECT status FROM job_runs WHERE id = $1`, id).Scan(&status); err != nil || status != tc.reason {
				t.Fatalf("job_runs status %q (%v), want %q", status, err, tc.reason)
			}
			got := chEvents(t, conn)
			if len(got) != len(tc.lines)+1 {
				t.Fatalf("%d events, want %d: %+v", len(got), len(tc.lines)+1, got)
			}
			for i, l := range tc.lines {
				e := got[i]
				if e.Kind != clickhouse.EventQuarantine || e.File != "NAVAll.txt" || e.SHA != "feed" || int(e.Line) != l ||
					e.Reason != "nav_not_available" || e.RunID != uint64(id) || e.Records != 1 || e.Pipeline != "nav-ingest" {
					t.Errorf("quarantine event %d = %+v, want line %d of run %d", i, e, l, id)
				}
			}
			run := got[len(got)-1]
			if run.Kind != clickhouse.EventRun || run.RunID != uint64(id) || run.Reason != tc.reason || int64(run.Records) != tc.out ||
				!strings.Contains(run.Detail, tc.inError) {
				t.Errorf("run event = %+v, want run %d %s with %d records", run, id, tc.reason, tc.out)
			}
		})
	}
}

// ClickHouse is written only after Postgres: when the quarantine in Postgres
// fails, ClickHouse gets nothing and the error comes back.
func TestEventsWriteClickHouseOnlyAfterPostgres(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	conn, _ := testkit.CH(t)
	pg := postgres.Store{Pool: pool}
	ev := &clickhouse.Events{Conn: conn, Runs: pg, Quarantine: pg}
	id, err := ev.Start(ctx, "nav-ingest")
	if err != nil {
		t.Fatal(err)
	}
	pool.Close() // Postgres is gone for this store
	if err := ev.Put(ctx, rejected(1, 2)); err == nil {
		t.Fatal("Put succeeded with Postgres closed")
	}
	if err := ev.Finish(ctx, id, pipelines.Stats{}, nil); err == nil {
		t.Fatal("Finish succeeded with Postgres closed")
	}
	if got := chEvents(t, conn); len(got) != 0 {
		t.Fatalf("clickhouse has %d events that Postgres never stored: %+v", len(got), got)
	}
}

// A batch replayed after a crash quarantines each record once in Postgres
// and again in ClickHouse (at-least-once): distinct positions still count right.
func TestEventsReplayIsAtLeastOnce(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	conn, _ := testkit.CH(t)
	pg := postgres.Store{Pool: pool}
	ev := &clickhouse.Events{Conn: conn, Runs: pg, Quarantine: pg}
	if _, err := ev.Start(ctx, "nav-ingest"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := ev.Put(ctx, rejected(4, 6)); err != nil {
			t.Fatal(err)
		}
	}
	var pgRows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM quarantine`).Scan(&pgRows); err != nil {
		t.Fatal(err)
	}
	var total, distinct uint64
	if err := conn.QueryRow(ctx, `SELECT count(), uniqExact(sha256, line) FROM ingest_events WHERE kind = 'quarantine'`).Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	if pgRows != 2 || total != 4 || distinct != 2 {
		t.Fatalf("postgres %d rows, clickhouse %d events of %d positions; want 2, 4, 2", pgRows, total, distinct)
	}
}
