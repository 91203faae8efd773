package migrate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The application's role can write the trail only by appending to it: it
// cannot switch the audit triggers off, edit, delete or truncate audit rows,
// move the chain head, or change the schema. The refusals come from the
// privilege system (permission denied / must be owner), not from the
// triggers it could otherwise disable. What it needs still works.
func TestAppRoleCannotTouchTheAuditTrail(t *testing.T) {
	owner, _, app, _ := testkit.PGApp(t)
	ctx := testkit.Ctx(t)

	// What the application does: append audit rows, record runs, write state.
	for i := 0; i < 3; i++ {
		if err := pgx.BeginFunc(ctx, app, func(tx pgx.Tx) error {
			return postgres.AppendAudit(ctx, tx, "order", "ORD-1", "created", map[string]int{"i": i})
		}); err != nil {
			t.Fatalf("app appends an audit row: %v", err)
		}
	}
	store := postgres.Store{Pool: app}
	id, err := store.Start(ctx, "nav-ingest")
	if err != nil {
		t.Fatalf("app starts a run: %v", err)
	}
	if err := store.Finish(ctx, id, pipelines.Stats{}, nil); err != nil {
		t.Fatalf("app finishes a run: %v", err)
	}
	if rep, err := postgres.VerifyAudit(ctx, app, nil); err != nil || rep.Problem != nil || rep.Rows != 3 {
		t.Fatalf("app verifies the trail: %+v %v", rep, err)
	}
	// Statistics of a table it does not own, through app_analyze (a plain
	// ANALYZE would be skipped): reltuples goes from -1 (never analysed) to 0.
	var before, after float64
	if err := app.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'rta_holding_rows'::regclass`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, `SELECT app_analyze('rta_holding_rows')`); err != nil {
		t.Fatalf("app_analyze: %v", err)
	}
	if err := app.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'rta_holding_rows'::regclass`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != -1 || after != 0 {
		t.Fatalf("reltuples %v -> %v, want -1 -> 0", before, after)
	}

	for _, c := range []struct{ name, sql, want string }{
		{"disable every trigger", `ALTER TABLE audit_log DISABLE TRIGGER USER`, "must be owner"},
		{"disable the append-only trigger", `ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`, "must be owner"},
		{"replica mode skips triggers", `SET session_replication_role = replica`, "permission denied"},
		{"update a row", `UPDATE audit_log SET payload = '{"i": 99}' WHERE seq = 2`, "permission denied"},
		{"delete a row", `DELETE FROM audit_log WHERE seq = 3`, "permission denied"},
		{"truncate", `TRUNCATE audit_log`, "permission denied"},
		{"move the head", `UPDATE audit_head SET seq = 2`, "permission denied"},
		{"drop the trail", `DROP TABLE audit_log`, "must be owner"},
		{"replace a trigger function", `CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$`, "permission denied"},
		{"truncate another table", `TRUNCATE navs`, "permission denied"},
		{"create a table", `CREATE TABLE mine (a int)`, "permission denied"},
		{"rewrite migration history", `DELETE FROM schema_migrations`, "permission denied"},
		{"rename a NAV file", `UPDATE nav_sources SET file = 'other.txt'`, "permission denied"},
		{"drop a NAV file under its NAVs", `DELETE FROM nav_sources`, "permission denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := app.Exec(ctx, c.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, c.want) {
				t.Fatalf("%s: got %v, want SQLSTATE 42501 %q", c.sql, err, c.want)
			}
		})
	}
	// A NAV file it may add, once (what the NAV sink does).
	var id1, id2 int
	if err := app.QueryRow(ctx, `SELECT nav_source('NAVAll.txt', 'ab12'), nav_source('NAVAll.txt', 'ab12')`).Scan(&id1, &id2); err != nil || id1 != id2 {
		t.Fatalf("nav_source as the application: %d, %d, %v", id1, id2, err)
	}
	// The trail is as the application wrote it.
	if rep, err := postgres.VerifyAudit(ctx, owner, nil); err != nil || rep.Problem != nil || rep.Rows != 3 {
		t.Fatalf("after the attempts: %+v %v", rep, err)
	}
	// GrantApp refuses a role that could do all of the above.
	if err := migrate.GrantApp(ctx, owner, "postgres"); err == nil || !strings.Contains(err.Error(), "superuser") {
		t.Fatalf("GrantApp(postgres) = %v, want a refusal", err)
	}
}
