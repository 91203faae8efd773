package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// `fundflow audit verify`: exit 0 on a whole chain, exit 1 naming the row
// after a superuser edits one behind the triggers' back.
func TestAuditVerifyCommand(t *testing.T) {
	pool, url := testkit.PG(t)
	ctx := testkit.Ctx(t)
	for i := 1; i <= 5; i++ {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return postgres.AppendAudit(ctx, tx, "order", fmt.Sprint("ORD-", i), "created", map[string]int{"i": i})
		}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "fundflow.yaml")
	os.WriteFile(cfg, []byte("services:\n  postgres_url_env: AUDIT_TEST_PG_URL\n"), 0o644)
	t.Setenv("AUDIT_TEST_PG_URL", url)
	verify := func() (postgres.AuditReport, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"--config", cfg, "--log-level", "warn", "audit", "verify"}, &out, &errOut)
		var rep postgres.AuditReport
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			t.Fatalf("stdout %q: %v (err %v)", out.String(), jerr, err)
		}
		return rep, err
	}
	if rep, err := verify(); err != nil || rep.Rows != 5 || rep.Problem != nil {
		t.Fatalf("whole chain: %+v %v", rep, err)
	}
	if _, err := pool.Exec(ctx, `SET session_replication_role = replica; UPDATE audit_log SET payload = '{"i": 99}' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	rep, err := verify()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	if rep.Problem == nil || rep.Problem.Seq != 3 || rep.Problem.Kind != postgres.AuditAltered {
		t.Fatalf("problem %+v", rep.Problem)
	}
}

// auditRows appends audit rows from..to (one transaction each) as the app.
func auditRows(t *testing.T, pool *pgxpool.Pool, from, to int) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for i := from; i <= to; i++ {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return postgres.AppendAudit(ctx, tx, "order", fmt.Sprint("ORD-", i), "created", map[string]int{"i": i})
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// rewriteTail does what a superuser who wants to change history does: it
// switches the triggers off, changes row from's payload, recomputes the
// hash and link of every row from there to the end (with AuditHash, the
// documented formula) and moves audit_head to the new last row, so the
// chain holds together again.
func rewriteTail(t *testing.T, owner *pgxpool.Pool, from int64) {
	t.Helper()
	ctx := testkit.Ctx(t)
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_log SET payload = '{"i": 1000000}' WHERE seq = $1`, from); err != nil {
			return err
		}
		var prev string
		if err := tx.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = $1`, from-1).Scan(&prev); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT seq, at, entity, entity_id, action, actor, payload::text FROM audit_log WHERE seq >= $1 ORDER BY seq`, from)
		if err != nil {
			return err
		}
		var all []postgres.AuditRow
		for rows.Next() {
			var r postgres.AuditRow
			var payload string
			if err := rows.Scan(&r.Seq, &r.At, &r.Entity, &r.EntityID, &r.Action, &r.Actor, &payload); err != nil {
				return err
			}
			r.Payload = json.RawMessage(payload)
			all = append(all, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range all {
			h := postgres.AuditHash(prev, r)
			if _, err := tx.Exec(ctx, `UPDATE audit_log SET prev_hash = $2, hash = $3 WHERE seq = $1`, r.Seq, prev, h); err != nil {
				return err
			}
			prev = h
		}
		_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2`, all[len(all)-1].Seq, prev)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// `fundflow audit anchor` publishes the chain head to the outbox and the
// anchor file; `audit verify` then catches a tail rewritten with its hashes
// recomputed (which the chain alone cannot), naming the first anchor the
// rewrite reached, and a tail cut back behind an anchor. An untouched chain
// verifies, and anchor refuses to publish a head over a rewritten chain.
func TestAuditAnchorsCatchARewrittenTail(t *testing.T) {
	cases := []struct {
		name     string
		tamper   func(t *testing.T, owner *pgxpool.Pool)
		wantSeq  int64
		wantKind string
	}{
		{"untouched", nil, 0, ""},
		// Anchors were published at seq 6 and 8; the rewrite starts at 5.
		{"tail rewritten from seq 5", func(t *testing.T, owner *pgxpool.Pool) { rewriteTail(t, owner, 5) }, 6, postgres.AuditRewritten},
		{"last anchored row rewritten", func(t *testing.T, owner *pgxpool.Pool) { rewriteTail(t, owner, 8) }, 8, postgres.AuditRewritten},
		{"tail cut back to seq 6", func(t *testing.T, owner *pgxpool.Pool) {
			ctx := testkit.Ctx(t)
			if _, err := owner.Exec(ctx, `SET session_replication_role = replica;
				DELETE FROM audit_log WHERE seq > 6;
				UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit_log WHERE seq = 6);
				SET session_replication_role = origin`); err != nil {
				t.Fatal(err)
			}
		}, 7, postgres.AuditMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			owner, _, app, appURL := testkit.PGApp(t)
			ctx := testkit.Ctx(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "anchors.jsonl")
			cfg := filepath.Join(dir, "fundflow.yaml")
			if err := os.WriteFile(cfg, []byte("services:\n  postgres_url_env: AUDIT_TEST_PG_URL\naudit:\n  anchor_file: "+file+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("AUDIT_TEST_PG_URL", appURL)
			cmd := func(sub string) (string, error) {
				var out, errOut bytes.Buffer
				err := run(context.Background(), []string{"--config", cfg, "--log-level", "error", "audit", sub}, &out, &errOut)
				return out.String(), err
			}
			auditRows(t, app, 1, 6)
			if out, err := cmd("anchor"); err != nil || !strings.Contains(out, `"seq": 6`) || !strings.Contains(out, `"published": true`) {
				t.Fatalf("anchor at 6: %s %v", out, err)
			}
			auditRows(t, app, 7, 8)
			if out, err := cmd("anchor"); err != nil || !strings.Contains(out, `"seq": 8`) {
				t.Fatalf("anchor at 8: %s %v", out, err)
			}
			if out, err := cmd("anchor"); err != nil || !strings.Contains(out, `"published": false`) {
				t.Fatalf("anchor with nothing new: %s %v", out, err)
			}
			// Two lines in the file, two events in the outbox, for seq 6 and 8.
			b, err := os.ReadFile(file)
			if err != nil || strings.Count(string(b), "\n") != 2 {
				t.Fatalf("anchor file: %q %v", b, err)
			}
			var events []string
			rows, _ := owner.Query(ctx, `SELECT event_id || ' ' || topic || ' ' || (payload->>'seq') FROM outbox ORDER BY id`)
			events, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil || strings.Join(events, ",") != "audit-anchor-6 audit.anchors 6,audit-anchor-8 audit.anchors 8" {
				t.Fatalf("outbox: %q %v", events, err)
			}

			if c.tamper != nil {
				c.tamper(t, owner)
				// The chain alone no longer shows it.
				if rep, err := postgres.VerifyAudit(ctx, owner, nil); err != nil || rep.Problem != nil {
					t.Fatalf("the rewrite is not a clean one: %+v %v", rep.Problem, err)
				}
			}
			out, err := cmd("verify")
			var rep postgres.AuditReport
			if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
				t.Fatalf("verify stdout %q: %v (%v)", out, jerr, err)
			}
			if c.wantKind == "" {
				if err != nil || rep.Problem != nil || rep.Rows != 8 || rep.AnchorsChecked != 2 || rep.LastAnchor == nil || rep.LastAnchor.Seq != 8 {
					t.Fatalf("untouched chain: %+v %v", rep, err)
				}
				return
			}
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 1 || rep.Problem == nil || rep.Problem.Seq != c.wantSeq || rep.Problem.Kind != c.wantKind {
				t.Fatalf("verify: %v, problem %+v; want exit 1, seq %d %s", err, rep.Problem, c.wantSeq, c.wantKind)
			}
			// No new anchor goes out over a chain that no longer matches the last one.
			auditRows(t, app, 9, 9)
			if out, err := cmd("anchor"); !errors.As(err, &ee) || ee.code != 1 {
				t.Fatalf("anchor over a tampered chain: %s %v", out, err)
			}
		})
	}
}
