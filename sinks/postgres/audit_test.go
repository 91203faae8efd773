package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// appendN writes n audit rows, one transaction each.
func appendN(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for i := 1; i <= n; i++ {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return postgres.AppendAudit(ctx, tx, "order", fmt.Sprintf("ORD-%d", i), "created",
				map[string]any{"n": i, "amount": "1000.50", "note": "ünïcode\nline"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// tamper runs SQL with the table's triggers off, as a superuser can: what
// an attacker with database access, not the application, would do.
func tamper(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// forgedHash is the SQL that recomputes row seq's hash the way the trigger
// does, for an attacker who rewrites a row and its hash.
const forgedHash = `encode(sha256(convert_to(prev_hash, 'UTF8') || audit_field(seq::text)
	|| audit_field(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
	|| audit_field(entity) || audit_field(entity_id) || audit_field(action) || audit_field(actor)
	|| audit_field(payload::text)), 'hex')`

func TestAuditVerifyFindsTampering(t *testing.T) {
	const rows = 10
	cases := []struct {
		name     string
		tamper   []string
		wantSeq  int64
		wantKind string
	}{
		{"intact", nil, 0, ""},
		{"payload altered", []string{`UPDATE audit_log SET payload = '{"n": 4, "amount": "9000.50"}' WHERE seq = 4`}, 4, postgres.AuditAltered},
		{"first row's entity altered", []string{`UPDATE audit_log SET entity_id = 'ORD-X' WHERE seq = 1`}, 1, postgres.AuditAltered},
		{"timestamp moved", []string{`UPDATE audit_log SET at = at - interval '1 day' WHERE seq = 7`}, 7, postgres.AuditAltered},
		{"row altered and rehashed", []string{
			`UPDATE audit_log SET action = 'cancelled' WHERE seq = 6`,
			`UPDATE audit_log SET hash = ` + forgedHash + ` WHERE seq = 6`,
		}, 6, postgres.AuditAltered},
		{"middle row deleted", []string{`DELETE FROM audit_log WHERE seq = 5`}, 5, postgres.AuditMissing},
		{"first row deleted", []string{`DELETE FROM audit_log WHERE seq = 1`}, 1, postgres.AuditMissing},
		{"last row deleted", []string{`DELETE FROM audit_log WHERE seq = 10`}, 10, postgres.AuditMissing},
		{"row deleted and the rest renumbered", []string{
			`DELETE FROM audit_log WHERE seq = 3`,
			`UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`,
		}, 3, postgres.AuditMissing},
		{"two rows swapped", []string{
			`UPDATE audit_log SET seq = -3 WHERE seq = 3`,
			`UPDATE audit_log SET seq = 3 WHERE seq = 4`,
			`UPDATE audit_log SET seq = 4 WHERE seq = -3`,
		}, 3, postgres.AuditReordered},
		{"row moved to the end", []string{
			`UPDATE audit_log SET seq = 11 WHERE seq = 2`,
			`UPDATE audit_log SET seq = seq - 1 WHERE seq > 2`,
		}, 2, postgres.AuditReordered},
		{"head rewound", []string{`UPDATE audit_head SET seq = 9`}, 10, postgres.AuditAltered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, _ := testkit.PG(t)
			appendN(t, pool, rows)
			tamper(t, pool, c.tamper...)
			rep, err := postgres.VerifyAudit(testkit.Ctx(t), pool, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantKind == "" {
				if rep.Problem != nil || rep.Rows != rows || rep.LastSeq != rows {
					t.Fatalf("intact chain: %+v, problem %v", rep, rep.Problem)
				}
				return
			}
			if rep.Problem == nil {
				t.Fatalf("tampering not found: %+v", rep)
			}
			if rep.Problem.Seq != c.wantSeq || rep.Problem.Kind != c.wantKind {
				t.Fatalf("got seq %d %s (%s), want seq %d %s", rep.Problem.Seq, rep.Problem.Kind, rep.Problem.Detail, c.wantSeq, c.wantKind)
			}
		})
	}
}

// The first row's hash, computed here by hand from the canonical form the
// migration documents, equals the trigger's.
func TestAuditHashIsTheDocumentedOne(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return postgres.AppendAuditBy(ctx, tx, "tester", "scheme", "119551", "version", map[string]string{"name": "Fund – Growth"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	var payload, prev, hash string
	if err := pool.QueryRow(ctx, `SELECT at, payload::text, prev_hash, hash FROM audit_log WHERE seq = 1`).Scan(&at, &payload, &prev, &hash); err != nil {
		t.Fatal(err)
	}
	if payload != `{"name": "Fund – Growth"}` { // jsonb's text form
		t.Fatalf("payload %q", payload)
	}
	ts := at.UTC().Format("2006-01-02T15:04:05.000000Z")
	canon := strings.Repeat("0", 64) + "1:1" + fmt.Sprintf("%d:%s", len(ts), ts) + "6:scheme" + "6:119551" + "7:version" + "6:tester" +
		fmt.Sprintf("%d:%s", len(payload), payload)
	sum := sha256.Sum256([]byte(canon))
	if want := hex.EncodeToString(sum[:]); hash != want || prev != strings.Repeat("0", 64) {
		t.Fatalf("trigger hash %s, by hand %s", hash, want)
	}
}

// The database's check (audit_verify) counts each field's UTF-8 bytes:
// rows with multi-byte text in every field, an empty actor and a payload
// jsonb escapes are accepted whether the writer hashed them
// (AppendAudits) or the row trigger did (a row inserted without a hash),
// and the chain verifies in Go. A check that counted characters would
// refuse them.
func TestAuditCheckCountsUTF8Bytes(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	payload := map[string]any{"note": "😀 \"quoted\" back\\slash \u0001 ₹1,000", "n": 1}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := postgres.AppendAuditBy(ctx, tx, "用户", "schème", "ORD–2", "créé", payload); err != nil {
			return err
		}
		return postgres.AppendAudits(ctx, tx, "", []postgres.AuditEntry{
			{Entity: "schème", ID: "ORD–3", Action: "créé", Payload: payload},
			{Entity: "order", ID: "ORD-4", Action: "created", Payload: map[string]string{}},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO audit_log (entity, entity_id, action, actor, payload)
		VALUES ('schème', 'ORD–5', 'créé', '', '{"note": "😀 ₹"}')`); err != nil {
		t.Fatalf("a row hashed by the trigger: %v", err)
	}
	rep, err := postgres.VerifyAudit(ctx, pool, nil)
	if err != nil || rep.Problem != nil || rep.Rows != 4 {
		t.Fatalf("verify: %+v %v %v", rep, rep.Problem, err)
	}
}

func TestAuditIsAppendOnlyAndGapless(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	appendN(t, pool, 3)
	for _, stmt := range []string{
		`UPDATE audit_log SET action = 'x' WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 3`,
		`TRUNCATE audit_log`,
		`UPDATE audit_head SET seq = 0`,
		`DELETE FROM audit_head`,
		// A row with its own seq, prev_hash and hash is checked, not renumbered.
		`INSERT INTO audit_log (seq, at, entity, entity_id, action, payload, prev_hash, hash) VALUES (2, now(), 'x', 'y', 'z', '{}', 'a', 'b')`,
		// A row with no hash is numbered and chained by the trigger.
		`INSERT INTO audit_log (entity, entity_id, action, payload) VALUES ('x', 'y', 'z', '{}')`,
	} {
		_, err := pool.Exec(ctx, stmt)
		if strings.HasPrefix(stmt, "INSERT INTO audit_log (entity") {
			if err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "append-only") && !strings.Contains(err.Error(), "audit_head moves only") &&
			!strings.Contains(err.Error(), "refused") && !strings.Contains(err.Error(), "duplicate key") {
			t.Fatalf("%s: want refusal, got %v", stmt, err)
		}
	}
	// A writer that rolls back leaves no hole.
	_ = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := postgres.AppendAudit(ctx, tx, "order", "ORD-R", "created", nil); err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("roll back")
	})
	// Concurrent writers are serialised.
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				errs <- pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if err := postgres.AppendAudit(ctx, tx, "payment", fmt.Sprintf("P-%d-%d", w, i), "captured", map[string]int{"i": i}); err != nil {
						return err
					}
					return postgres.AppendAudit(ctx, tx, "payment", fmt.Sprintf("P-%d-%d", w, i), "matched", nil)
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n, maxSeq, distinct int64
	if err := pool.QueryRow(ctx, `SELECT count(*), max(seq), count(DISTINCT seq) FROM audit_log`).Scan(&n, &maxSeq, &distinct); err != nil {
		t.Fatal(err)
	}
	if want := int64(3 + 1 + 80); n != want || maxSeq != want || distinct != want {
		t.Fatalf("rows %d, max seq %d, distinct %d; want %d gapless", n, maxSeq, distinct, want)
	}
	// Both rows of one transaction are adjacent: the head stays locked until commit.
	var split int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1
		WHERE a.entity = 'payment' AND a.action = 'captured' AND (b.entity_id <> a.entity_id OR b.action <> 'matched')`).Scan(&split); err != nil {
		t.Fatal(err)
	}
	if split != 0 {
		t.Fatalf("%d transactions' audit rows were interleaved", split)
	}
	rep, err := postgres.VerifyAudit(ctx, pool, nil)
	if err != nil || rep.Problem != nil || rep.Rows != 84 {
		t.Fatalf("verify: %+v %v %v", rep, rep.Problem, err)
	}
}

// TestAuditRefusesForgedRows writes rows as the application role with
// every column given: the one AppendAudits would write is accepted, and a
// wrong hash, a gap, a wrong link to the row before, a clock that is not
// the database's, and a second row breaking the chain inside one
// statement are each refused, leaving the chain and its head as they were.
// The expected hashes are computed here from the documented canonical form.
func TestAuditRefusesForgedRows(t *testing.T) {
	_, _, app, _ := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	appendN(t, app, 2)
	var headSeq int64
	var headHash string
	if err := app.QueryRow(ctx, `SELECT seq, hash FROM audit_head`).Scan(&headSeq, &headHash); err != nil {
		t.Fatal(err)
	}
	if headSeq != 2 {
		t.Fatalf("head seq %d, want 2", headSeq)
	}
	hashOf := func(prev string, seq int64, at time.Time, payload string) string {
		ts := at.UTC().Format("2006-01-02T15:04:05.000000Z")
		canon := prev + fmt.Sprintf("%d:%d", len(fmt.Sprint(seq)), seq) + fmt.Sprintf("%d:%s", len(ts), ts) +
			"5:order" + "5:ORD-F" + "7:created" + "6:forger" + fmt.Sprintf("%d:%s", len(payload), payload)
		sum := sha256.Sum256([]byte(canon))
		return hex.EncodeToString(sum[:])
	}
	type row struct {
		seq        int64
		prev, hash string
		at         time.Time // zero: the database's clock, read in the transaction
	}
	insert := func(rows func(dbNow time.Time) []row) error {
		return pgx.BeginFunc(ctx, app, func(tx pgx.Tx) error {
			var now time.Time
			if err := tx.QueryRow(ctx, `SELECT date_trunc('microseconds', clock_timestamp())`).Scan(&now); err != nil {
				return err
			}
			rs := rows(now)
			b := &pgx.Batch{}
			var sql strings.Builder
			sql.WriteString(`INSERT INTO audit_log (seq, at, entity, entity_id, action, actor, payload, prev_hash, hash) VALUES `)
			var args []any
			for i, r := range rs {
				if i > 0 {
					sql.WriteString(", ")
				}
				k := len(args)
				fmt.Fprintf(&sql, "($%d, $%d, 'order', 'ORD-F', 'created', 'forger', '{}', $%d, $%d)", k+1, k+2, k+3, k+4)
				at := r.at
				if at.IsZero() {
					at = now
				}
				args = append(args, r.seq, at, r.prev, r.hash)
			}
			b.Queue(sql.String(), args...)
			return tx.SendBatch(ctx, b).Close()
		})
	}
	good := func(prev string, seq int64, at time.Time) row { return row{seq, prev, hashOf(prev, seq, at, "{}"), at} }
	cases := []struct {
		name string
		rows func(now time.Time) []row
		why  string // "" accepted
	}{
		{"wrong hash", func(now time.Time) []row {
			r := good(headHash, 3, now)
			r.hash = hashOf(headHash, 3, now, `{"amount": 1}`)
			return []row{r}
		}, "hash is not the one"},
		{"gap", func(now time.Time) []row { return []row{good(headHash, 4, now)} }, "does not follow"},
		{"wrong prev", func(now time.Time) []row { return []row{good(strings.Repeat("0", 64), 3, now)} }, "prev_hash"},
		{"Go's clock, an hour back", func(now time.Time) []row { return []row{good(headHash, 3, now.Add(-time.Hour))} }, "clock"},
		{"second row not linked", func(now time.Time) []row {
			r1 := good(headHash, 3, now)
			return []row{r1, good(headHash, 4, now)}
		}, "prev_hash"},
		{"second row repeats a seq", func(now time.Time) []row {
			r1 := good(headHash, 3, now)
			return []row{r1, good(r1.hash, 3, now)}
		}, "duplicate key"},
		{"honest", func(now time.Time) []row {
			r1 := good(headHash, 3, now)
			return []row{r1, good(r1.hash, 4, now)}
		}, ""},
	}
	for _, c := range cases {
		err := insert(c.rows)
		if c.why == "" {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Fatalf("%s: want refusal (%s), got %v", c.name, c.why, err)
		}
	}
	var n, seq int64
	if err := app.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_log), seq FROM audit_head`).Scan(&n, &seq); err != nil {
		t.Fatal(err)
	}
	if n != 4 || seq != 4 {
		t.Fatalf("rows %d, head %d: want 4 and 4 (2 appended, 2 honest)", n, seq)
	}
	// The app role can neither move the head nor switch the check off.
	for _, stmt := range []string{
		`UPDATE audit_head SET seq = 9`,
		`ALTER TABLE audit_log DISABLE TRIGGER audit_log_verify`,
		`SELECT * FROM audit_verify()`,
	} {
		if _, err := app.Exec(ctx, stmt); err == nil {
			t.Fatalf("%s: accepted from the app role", stmt)
		}
	}
	rep, err := postgres.VerifyAudit(ctx, app, nil)
	if err != nil || rep.Problem != nil || rep.Rows != 4 {
		t.Fatalf("verify: %+v %v %v", rep, rep.Problem, err)
	}
}

// A step of more than 2 MB of payloads raises work_mem for the rest of its
// transaction to four times the step's size (each row counted as its JSON
// payload and 300 bytes of other columns), so its sorts stay in memory, and
// never lowers a larger setting.
func TestAppendAuditsWorkMem(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	const rows, pad = 3000, 1000
	entries := make([]postgres.AuditEntry, rows)
	for i := range entries {
		entries[i] = postgres.AuditEntry{Entity: "t", ID: fmt.Sprint(i), Action: "put", Payload: map[string]string{"pad": strings.Repeat("x", pad)}}
	}
	payload := len(`{"pad":"`) + pad + len(`"}`)
	raised := int64(4*rows*(payload+300)) / 1024
	for _, tc := range []struct {
		set    string
		wantKB int64
	}{
		{"", raised},         // the server's 4 MB: raised
		{"1GB", 1024 * 1024}, // larger: kept
	} {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if tc.set != "" {
				if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '`+tc.set+`'`); err != nil {
					return err
				}
			}
			if err := postgres.AppendAudits(ctx, tx, "test", entries); err != nil {
				return err
			}
			var kb int64
			if err := tx.QueryRow(ctx, `SELECT pg_size_bytes(current_setting('work_mem')) / 1024`).Scan(&kb); err != nil {
				return err
			}
			if kb != tc.wantKB {
				t.Errorf("work_mem set to %q, after the step: %d kB, want %d", tc.set, kb, tc.wantKB)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
