// Package migrate applies the numbered migrations in sql/ to PostgreSQL and
// ClickHouse. Each migration runs once; re-running is a no-op. Both databases
// record every applied file's SHA-256 in schema_migrations, and the runner
// refuses to start (a *DriftError) when any byte of an applied file, a
// comment included, differs from what ran: migrations are immutable once
// applied, a change is a new numbered file.
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
	Path    string // where the file is, for messages (sql/postgres/003_orders_ledger.sql)
	SQL     string
	SHA256  string // of every byte of the file, comments included
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
		p := path.Join(dir, e.Name())
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{Version: v, Name: e.Name(), Path: p, SQL: string(b), SHA256: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations in %s: expected version %d, found %s", dir, i+1, m.Name)
		}
	}
	return ms, nil
}

// loadEmbedded loads the migrations compiled into the binary from sql/, with
// paths as they are in the repository.
func loadEmbedded(fsys fs.FS, dir string) ([]Migration, error) {
	ms, err := Load(fsys, dir)
	for i := range ms {
		ms[i].Path = path.Join("sql", ms[i].Path)
	}
	return ms, err
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

// ImmutableFix is what to do about drift; DriftError ends with it.
const ImmutableFix = "migrations are immutable once applied: restore the file and put the change in a new numbered migration"

// Drift is one applied migration whose file is no longer what ran.
type Drift struct {
	Version  int
	Applied  string // file name recorded when it ran
	Path     string // the file now at that version; "" when there is none
	Recorded string // sha256 recorded when it ran
	Current  string // sha256 of the file now; "" when there is none
}

// DriftError refuses a database whose applied migrations differ from the
// files: the schema the code expects is no longer the schema the database
// has, and re-running an edited file would not change the database anyway.
type DriftError struct {
	DB     string // "postgres" or "clickhouse"
	Drifts []Drift
}

func (e *DriftError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "migrate %s: refusing to start: %d applied migration(s) changed since they ran:", e.DB, len(e.Drifts))
	for _, d := range e.Drifts {
		switch {
		case d.Path == "":
			fmt.Fprintf(&b, "\n  %s (version %d, recorded sha256 %s): the file is gone, current sha256 none", d.Applied, d.Version, d.Recorded)
		case path.Base(d.Path) != d.Applied:
			fmt.Fprintf(&b, "\n  %s: version %d ran as %s; recorded sha256 %s, current sha256 %s", d.Path, d.Version, d.Applied, d.Recorded, d.Current)
		default:
			fmt.Fprintf(&b, "\n  %s: recorded sha256 %s, current sha256 %s", d.Path, d.Recorded, d.Current)
		}
	}
	b.WriteString("\n" + ImmutableFix)
	return b.String()
}

// applied is a schema_migrations row.
type applied struct {
	name, sha256 string
}

// plan compares the applied migrations with the files. It returns the files
// still to apply, and the applied ones recorded without a checksum (by a
// runner that kept none), whose checksum is recorded on first sight. Any
// applied file that changed by a byte, was renamed or is gone is drift, and
// nothing is applied.
func plan(db string, ms []Migration, done map[int]applied) (pending, unrecorded []Migration, err error) {
	files := make(map[int]Migration, len(ms))
	for _, m := range ms {
		files[m.Version] = m
		if _, ok := done[m.Version]; !ok {
			pending = append(pending, m)
		}
	}
	var drifts []Drift
	for v, a := range done {
		m, ok := files[v]
		switch {
		case !ok:
			drifts = append(drifts, Drift{Version: v, Applied: a.name, Recorded: a.sha256})
		case a.name != m.Name || (a.sha256 != "" && a.sha256 != m.SHA256):
			drifts = append(drifts, Drift{Version: v, Applied: a.name, Path: m.Path, Recorded: a.sha256, Current: m.SHA256})
		case a.sha256 == "":
			unrecorded = append(unrecorded, m)
		}
	}
	if len(drifts) > 0 {
		sort.Slice(drifts, func(i, j int) bool { return drifts[i].Version < drifts[j].Version })
		return nil, nil, &DriftError{DB: db, Drifts: drifts}
	}
	sort.Slice(unrecorded, func(i, j int) bool { return unrecorded[i].Version < unrecorded[j].Version })
	return pending, unrecorded, nil
}

// migrationLock is the advisory-lock key that serialises concurrent migrators.
const migrationLock = 0x66756e64 // "fund"

// Postgres applies the pending migrations in sql/postgres (see PostgresFS).
func Postgres(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) ([]string, error) {
	ms, err := loadEmbedded(fundsql.Postgres, "postgres")
	if err != nil {
		return nil, err
	}
	return applyPostgres(ctx, pool, ms, log)
}

// PostgresFS applies the pending Postgres migrations in dir of fsys, each in
// its own transaction together with its row in schema_migrations. An
// advisory lock makes concurrent migrators (several processes starting) take
// turns. It refuses (a *DriftError, nothing applied) when an applied file
// changed. It returns the names of the migrations it applied.
func PostgresFS(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, dir string, log *slog.Logger) ([]string, error) {
	ms, err := Load(fsys, dir)
	if err != nil {
		return nil, err
	}
	return applyPostgres(ctx, pool, ms, log)
}

func applyPostgres(ctx context.Context, pool *pgxpool.Pool, ms []Migration, log *slog.Logger) ([]string, error) {
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
	done := map[int]applied{}
	rows, err := conn.Query(ctx, `SELECT version, name, sha256 FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("migrate postgres: read version table: %w", err)
	}
	for rows.Next() {
		var v int
		var a applied
		if err := rows.Scan(&v, &a.name, &a.sha256); err != nil {
			return nil, fmt.Errorf("migrate postgres: read version table: %w", err)
		}
		done[v] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate postgres: read version table: %w", err)
	}
	pending, unrecorded, err := plan("postgres", ms, done)
	if err != nil {
		return nil, err
	}
	for _, m := range unrecorded {
		if _, err := conn.Exec(ctx, `UPDATE schema_migrations SET sha256 = $2 WHERE version = $1 AND sha256 = ''`, m.Version, m.SHA256); err != nil {
			return nil, fmt.Errorf("migrate postgres: record checksum of %s: %w", m.Name, err)
		}
		log.Info("recorded the checksum of a migration applied without one", "db", "postgres", "migration", m.Name, "sha256", m.SHA256)
	}
	var names []string
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)`, m.Version, m.Name, m.SHA256)
			return err
		})
		if err != nil {
			return names, fmt.Errorf("migrate postgres: %s: %w", m.Name, err)
		}
		log.Info("applied migration", "db", "postgres", "migration", m.Name)
		names = append(names, m.Name)
	}
	return names, nil
}

// ClickHouse applies the pending migrations in sql/clickhouse (see
// ClickHouseFS).
func ClickHouse(ctx context.Context, conn driver.Conn, log *slog.Logger) ([]string, error) {
	ms, err := loadEmbedded(fundsql.ClickHouse, "clickhouse")
	if err != nil {
		return nil, err
	}
	return applyClickHouse(ctx, conn, ms, log)
}

// ClickHouseFS applies the pending ClickHouse migrations in dir of fsys,
// statement by statement. Statements are idempotent, so a migration cut
// short by a crash runs again whole; its row in schema_migrations (with the
// file's checksum) is written after its last statement. It refuses (a
// *DriftError, nothing applied) when an applied file changed.
func ClickHouseFS(ctx context.Context, conn driver.Conn, fsys fs.FS, dir string, log *slog.Logger) ([]string, error) {
	ms, err := Load(fsys, dir)
	if err != nil {
		return nil, err
	}
	return applyClickHouse(ctx, conn, ms, log)
}

func applyClickHouse(ctx context.Context, conn driver.Conn, ms []Migration, log *slog.Logger) ([]string, error) {
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, sha256 String, applied_at DateTime
	) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate clickhouse: version table: %w", err)
	}
	// A version can have several rows until a merge collapses them (a
	// checksum recorded on first sight is a second row): take the newest row
	// that has a checksum, else the newest.
	rows, err := conn.Query(ctx, `SELECT version, argMax(name, (sha256 != '', applied_at)), argMax(sha256, (sha256 != '', applied_at))
		FROM schema_migrations GROUP BY version`)
	if err != nil {
		return nil, fmt.Errorf("migrate clickhouse: read version table: %w", err)
	}
	done := map[int]applied{}
	for rows.Next() {
		var v uint32
		var a applied
		if err := rows.Scan(&v, &a.name, &a.sha256); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate clickhouse: read version table: %w", err)
		}
		done[int(v)] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate clickhouse: read version table: %w", err)
	}
	pending, unrecorded, err := plan("clickhouse", ms, done)
	if err != nil {
		return nil, err
	}
	for _, m := range unrecorded {
		if err := recordClickHouse(ctx, conn, m); err != nil {
			return nil, err
		}
		log.Info("recorded the checksum of a migration applied without one", "db", "clickhouse", "migration", m.Name, "sha256", m.SHA256)
	}
	var names []string
	for _, m := range pending {
		for i, stmt := range SplitStatements(m.SQL) {
			if err := conn.Exec(ctx, stmt); err != nil {
				return names, fmt.Errorf("migrate clickhouse: %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := recordClickHouse(ctx, conn, m); err != nil {
			return names, err
		}
		log.Info("applied migration", "db", "clickhouse", "migration", m.Name)
		names = append(names, m.Name)
	}
	return names, nil
}

// recordClickHouse writes m's row in schema_migrations. INSERT … SELECT:
// over the native protocol, INSERT … VALUES with bound values makes the
// server wait for a data block.
func recordClickHouse(ctx context.Context, conn driver.Conn, m Migration) error {
	if err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name, sha256, applied_at) SELECT toUInt32(?), ?, ?, now()`,
		uint32(m.Version), m.Name, m.SHA256); err != nil {
		return fmt.Errorf("migrate clickhouse: record %s: %w", m.Name, err)
	}
	return nil
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
	"audit_log":          "SELECT, INSERT", // append-only; its triggers chain and number the rows
	"audit_head":         "SELECT",         // moved only by audit_log's triggers (SECURITY DEFINER)
	"schema_migrations":  "SELECT",
	"kyc_status_history": "SELECT, INSERT", // append-only: the audit trail of the KYC status columns (issue 23)
	"nav_sources":        "SELECT, INSERT", // append-only: navs names its rows' files by id, without a foreign key (069)
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
