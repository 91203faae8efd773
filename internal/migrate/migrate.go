// Package migrate applies the numbered migrations in sql/ to PostgreSQL and
// ClickHouse. Each migration runs once; re-running is a no-op.
package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	fundsql "github.com/fundflow/fundflow/sql"
)

// Migration is one numbered file.
type Migration struct {
	Version int
	Name    string
	SQL     string
	SHA256  string
}

// Load reads the migrations in dir of fsys, ordered by version. File names are
// NNN_name.sql; a gap or a duplicate number is an error.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s/%s: name must be NNN_description.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b), SHA256: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations in %s: expected version %d, found %s", dir, i+1, m.Name)
		}
	}
	return ms, nil
}

// Fingerprint identifies a set of migrations (tests use it to name template
// databases so a schema change makes a new template).
func Fingerprint(ms []Migration) string {
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.SHA256))
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// migrationLock is the advisory-lock key that serialises concurrent migrators.
const migrationLock = 0x66756e64 // "fund"

// Postgres applies the pending Postgres migrations, each in its own
// transaction together with its row in schema_migrations. An advisory lock
// makes concurrent migrators (several processes starting) take turns. It
// returns the names of the migrations it applied.
func Postgres(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) ([]string, error) {
	ms, err := Load(fundsql.Postgres, "postgres")
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("migrate postgres: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate postgres: version table: %w", err)
	}
	applied := map[int]string{}
	rows, err := conn.Query(ctx, `SELECT version, sha256 FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v int
		var s string
		if err := rows.Scan(&v, &s); err != nil {
			return nil, err
		}
		applied[v] = s
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var done []string
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.SHA256 {
				// An applied migration was edited: the database and the code disagree.
				log.Warn("applied migration changed since it ran; write a new migration instead", "migration", m.Name)
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)`, m.Version, m.Name, m.SHA256)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migrate postgres: %s: %w", m.Name, err)
		}
		log.Info("applied migration", "db", "postgres", "migration", m.Name)
		done = append(done, m.Name)
	}
	return done, nil
}

// ClickHouse applies the pending ClickHouse migrations statement by
// statement. Statements are idempotent, so a migration cut short by a crash
// runs again whole; its version row is written after its last statement.
func ClickHouse(ctx context.Context, conn driver.Conn, log *slog.Logger) ([]string, error) {
	ms, err := Load(fundsql.ClickHouse, "clickhouse")
	if err != nil {
		return nil, err
	}
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, sha256 String, applied_at DateTime
	) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate clickhouse: version table: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[int(v)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var done []string
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range SplitStatements(m.SQL) {
			if err := conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migrate clickhouse: %s statement %d: %w", m.Name, i+1, err)
			}
		}
		// INSERT … SELECT: over the native protocol, INSERT … VALUES with
		// bound values makes the server wait for a data block.
		if err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name, sha256, applied_at) SELECT toUInt32(?), ?, ?, now()`,
			uint32(m.Version), m.Name, m.SHA256); err != nil {
			return done, fmt.Errorf("migrate clickhouse: record %s: %w", m.Name, err)
		}
		log.Info("applied migration", "db", "clickhouse", "migration", m.Name)
		done = append(done, m.Name)
	}
	return done, nil
}

// SplitStatements splits a ClickHouse migration at lines that hold only ";"
// (ClickHouse's native protocol takes one statement per query).
func SplitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == ";" {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// appGrants are the tables the application may not write like the others:
// what it may do on each. Every other table in the schema gets SELECT,
// INSERT, UPDATE and DELETE; nothing gets TRUNCATE, REFERENCES or TRIGGER.
var appGrants = map[string]string{
	"audit_log":         "SELECT, INSERT", // append-only; its triggers chain and number the rows
	"audit_head":        "SELECT",         // moved only by audit_log's triggers (SECURITY DEFINER)
	"schema_migrations": "SELECT",
}

// GrantApp gives the application's role exactly what it needs on the schema
// the migrations built: it must already exist, log in, and be neither a
// superuser nor the owner of anything (an owner can ALTER TABLE ... DISABLE
// TRIGGER, which would let it rewrite the audit trail). Run after Postgres,
// by the owner, every time: a table a new migration made is granted here,
// and a grant given by hand beyond these is taken back.
func GrantApp(ctx context.Context, pool *pgxpool.Pool, role string) error {
	var super, owns bool
	err := pool.QueryRow(ctx, `SELECT r.rolsuper OR r.rolbypassrls,
			EXISTS (SELECT 1 FROM pg_class c WHERE pg_has_role(r.oid, c.relowner, 'MEMBER'))
		FROM pg_roles r WHERE r.rolname = $1`, role).Scan(&super, &owns)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("grant app role: role %q does not exist: create it (scripts/services.sh does: CREATE ROLE %s LOGIN)", role, role)
	}
	if err != nil {
		return fmt.Errorf("grant app role %s: %w", role, err)
	}
	if super || owns {
		return fmt.Errorf("grant app role: %q is a superuser or owns tables: the application must connect as a role that owns nothing, or it can disable the audit triggers", role)
	}
	r := pgx.Identifier{role}.Sanitize()
	stmts := []string{
		`GRANT USAGE ON SCHEMA public TO ` + r,
		`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ` + r,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ` + r,
		`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ` + r,
		`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ` + r,
	}
	tables := make([]string, 0, len(appGrants))
	for t := range appGrants {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		id := pgx.Identifier{t}.Sanitize()
		stmts = append(stmts, `REVOKE ALL ON `+id+` FROM `+r, `GRANT `+appGrants[t]+` ON `+id+` TO `+r)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("grant app role: %s: %w", s, err)
			}
		}
		return nil
	})
}
