// Package testkit is the one place tests find the real services started by
// scripts/services.sh: it gives each test its own Postgres database (cloned
// from a migrated template), its own ClickHouse database and its own SFTP
// folder, and removes them when the test ends. A service that is not running
// fails the test with the command that starts it; it is never replaced by a
// fake.
package testkit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
	fundsql "github.com/fundflow/fundflow/sql"
)

const startHint = "start the services with `scripts/services.sh up` (make test does it for you)"

// Root returns the repository root (the folder with go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testkit: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Fixture returns the path of a file under ../shared/fixtures (or
// $FUNDFLOW_FIXTURES), failing the test if it is missing.
func Fixture(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("FUNDFLOW_FIXTURES")
	if base == "" {
		base = filepath.Join(Root(t), "..", "shared", "fixtures")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testkit: fixture %s not found (%v); the shared fixtures live beside the repository in ../shared/fixtures", rel, err)
	}
	return p
}

var (
	envOnce sync.Once
	envFile map[string]string
)

// Missing reports a tool or service a test needs and does not find: the
// test is skipped on a developer's machine, and fails under CI (CI set to
// anything), where scripts/services.sh installs everything and a skip would
// hide the proof.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Env returns a service setting: the environment variable if set, else the
// value in .state/env that scripts/services.sh wrote.
func Env(t testing.TB, key string) string {
	t.Helper()
	if v := os.Getenv(key); v != "" {
		return v
	}
	envOnce.Do(func() { loadEnvFile(t) })
	v := envFile[key]
	if v == "" {
		t.Fatalf("testkit: %s is not set and .state/env has no value: %s", key, startHint)
	}
	return v
}

// loadEnvFile reads $FUNDFLOW_STATE/env (default <repo>/.state/env) into envFile.
func loadEnvFile(t testing.TB) {
	envFile = map[string]string{}
	state := os.Getenv("FUNDFLOW_STATE")
	if state == "" {
		state = filepath.Join(Root(t), ".state")
	}
	f, err := os.Open(filepath.Join(state, "env"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			envFile[k] = strings.Trim(v, `'"`)
		}
	}
}

// Ctx returns a context that ends with the test.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// Logger returns a logger that writes through t.Log.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// withDatabase returns url with its path (the database) replaced.
func withDatabase(t testing.TB, raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("testkit: bad url %q: %v", raw, err)
	}
	u.Path = "/" + db
	return u.String()
}

// AppRole is the application's database role: it owns nothing and has the
// grants migrate.GrantApp gives (scripts/services.sh creates it too).
const AppRole = "fundflow_app"

// ownerURL is the URL of the schema owner (a superuser here): it creates
// the test databases and runs the migrations. FUNDFLOW_PG_MIGRATE_URL when
// scripts/services.sh wrote one, else FUNDFLOW_PG_URL (a state folder from
// before the application had a role of its own).
func ownerURL(t testing.TB) string {
	t.Helper()
	for _, key := range []string{"FUNDFLOW_PG_MIGRATE_URL", "FUNDFLOW_PG_URL"} {
		if v := os.Getenv(key); v != "" {
			return v
		}
		envOnce.Do(func() { loadEnvFile(t) })
		if v := envFile[key]; v != "" {
			return v
		}
	}
	t.Fatalf("testkit: neither FUNDFLOW_PG_MIGRATE_URL nor FUNDFLOW_PG_URL is set: %s", startHint)
	return ""
}

// AppURL is dbURL (a database PG made) as the application's role, which can
// only do what migrate.GrantApp granted: give it to the binary under test
// so it runs as it does in production.
func AppURL(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("testkit: bad url %q: %v", dbURL, err)
	}
	u.User = url.User(AppRole)
	return u.String()
}

// PGApp is PG plus a pool and URL on the same database as the
// application's role.
func PGApp(t testing.TB) (owner *pgxpool.Pool, ownerURL string, app *pgxpool.Pool, appURL string) {
	t.Helper()
	owner, ownerURL = PG(t)
	appURL = AppURL(t, ownerURL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, err := postgres.Connect(ctx, appURL)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(app.Close)
	return owner, ownerURL, app, appURL
}

// PG gives the test its own Postgres database with every migration applied
// (and the application role's grants) and returns a pool on it and its URL
// (for child processes), both as the schema owner.
func PG(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	return pgFrom(t, ensureTemplate)
}

// EmptyPG gives the test its own empty Postgres database (no migration
// applied), for tests of the migrations themselves.
func EmptyPG(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	return pgFrom(t, func(testing.TB, context.Context, *pgxpool.Pool) string { return "template0" })
}

// adminPool is a pool as the schema owner, for creating databases, and the
// context (2 minutes) it works within; done closes both.
func adminPool(t testing.TB) (context.Context, *pgxpool.Pool, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	admin, err := postgres.Connect(ctx, ownerURL(t))
	if err != nil {
		cancel()
		t.Fatalf("testkit: %v", err)
	}
	return ctx, admin, func() { admin.Close(); cancel() }
}

// KeptPG is a database named name with every migration applied, created
// from the template when it does not exist and NOT dropped when the test
// ends: a benchmark whose setup takes minutes generates its population once
// and its reruns measure only the run. The schema's fingerprint is appended
// to name, so a new migration makes a new database rather than reusing a
// stale one. fresh reports whether it was just created (empty). Drop it by
// hand (DROP DATABASE) when done; scripts/services.sh reset removes it too.
func KeptPG(t testing.TB, name string) (*pgxpool.Pool, string, bool) {
	t.Helper()
	ctx, admin, done := adminPool(t)
	defer done()
	tmpl := ensureTemplate(t, ctx, admin)
	name += "_" + strings.TrimPrefix(tmpl, "ff_tmpl_")
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, pgx.Identifier{name}.Sanitize(), tmpl)); err != nil {
			t.Fatalf("testkit: create database %s: %v", name, err)
		}
	}
	dbURL := withDatabase(t, ownerURL(t), name)
	pool, err := postgres.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool, dbURL, !exists
}

// pgFrom creates a database cloned from the template that template names and
// drops it when the test ends.
func pgFrom(t testing.TB, template func(testing.TB, context.Context, *pgxpool.Pool) string) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, admin, done := adminPool(t)
	defer done()
	tmpl := template(t, ctx, admin)
	name := randomName("t_")
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tmpl)); err != nil {
		t.Fatalf("testkit: create database: %v", err)
	}
	dbURL := withDatabase(t, ownerURL(t), name)
	pool, err := postgres.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // best effort: DROP DATABASE checkpoints, slow on a busy durable server
		defer cancel()
		admin, err := postgres.Connect(ctx, ownerURL(t))
		if err != nil {
			t.Logf("testkit: leaving %s behind (drop did not finish: %v); scripts/services.sh reset removes it", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("testkit: leaving %s behind (drop did not finish: %v); scripts/services.sh reset removes it", name, err)
		}
	})
	return pool, dbURL
}

// ensureTemplate makes (once per schema version, across concurrent test
// processes) a database with every migration applied, to clone from.
func ensureTemplate(t testing.TB, ctx context.Context, admin *pgxpool.Pool) string {
	t.Helper()
	ms, err := migrate.Load(fundsql.Postgres, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	// "r1": the template also holds the application role's grants; bump it
	// when what GrantApp grants changes, so no old template is cloned.
	tmpl := "ff_tmpl_" + migrate.Fingerprint(ms) + "r1"
	conn, err := admin.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	const lockKey = 0x746d706c // "tmpl"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmpl).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		return tmpl
	}
	// The role is the cluster's (shared by every database); created once.
	if _, err := conn.Exec(ctx, `DO $$ BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+AppRole+`') THEN
				CREATE ROLE `+AppRole+` LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
			END IF;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- another cluster user made it meanwhile
		END $$`); err != nil {
		t.Fatalf("testkit: create role %s: %v", AppRole, err)
	}
	building := tmpl + "_building"
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Connect(ctx, withDatabase(t, ownerURL(t), building))
	if err != nil {
		t.Fatal(err)
	}
	_, err = migrate.Postgres(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		err = migrate.GrantApp(ctx, pool, AppRole)
	}
	pool.Close()
	if err != nil {
		t.Fatalf("testkit: migrate template: %v", err)
	}
	// Renamed only when complete, so a crashed build is never cloned.
	if _, err := conn.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, tmpl)); err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// CH gives the test its own ClickHouse database with every migration applied
// and returns a connection to it and its URL.
func CH(t testing.TB) (driver.Conn, string) {
	t.Helper()
	conn, dbURL := EmptyCH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := migrate.ClickHouse(ctx, conn, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("testkit: migrate clickhouse: %v", err)
	}
	return conn, dbURL
}

// EmptyCH gives the test its own empty ClickHouse database (no migration
// applied), for tests of the migrations themselves.
func EmptyCH(t testing.TB) (driver.Conn, string) {
	t.Helper()
	name := randomName("t_")
	conn, dbURL, base := createCH(t, name, `CREATE DATABASE `+name)
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // best effort: DROP DATABASE checkpoints, slow on a busy durable server
		defer cancel()
		admin, err := clickhouse.Connect(ctx, base)
		if err != nil {
			t.Logf("testkit: leaving %s behind (drop did not finish: %v); scripts/services.sh reset removes it", name, err)
			return
		}
		defer admin.Close()
		if err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name); err != nil {
			t.Logf("testkit: leaving %s behind (drop did not finish: %v); scripts/services.sh reset removes it", name, err)
		}
	})
	return conn, dbURL
}

// KeptCH connects to the ClickHouse database name, created and migrated if
// missing, and never dropped: for a benchmark whose data takes minutes to
// load, so that a rerun measures without loading again. Drop it by hand
// (`DROP DATABASE name`) when done.
func KeptCH(t testing.TB, name string) (driver.Conn, string) {
	t.Helper()
	conn, dbURL, _ := createCH(t, name, `CREATE DATABASE IF NOT EXISTS `+name)
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := migrate.ClickHouse(ctx, conn, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("testkit: migrate clickhouse %s: %v", name, err)
	}
	return conn, dbURL
}

// createCH runs create (a CREATE DATABASE of name) on the server of
// FUNDFLOW_CH_URL and connects to name: the connection, its URL and the
// server's.
func createCH(t testing.TB, name, create string) (driver.Conn, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := Env(t, "FUNDFLOW_CH_URL")
	admin, err := clickhouse.Connect(ctx, base)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, create); err != nil {
		t.Fatalf("testkit: create clickhouse database %s: %v", name, err)
	}
	dbURL := withDatabase(t, base, name)
	conn, err := clickhouse.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return conn, dbURL, base
}

// SFTPServer is where the test's SFTP server is and how to log in.
type SFTPServer struct {
	Addr        string
	User        string
	KeyPath     string // private key of the authorised client
	HostKeyPath string // the server's public host key, to pin
	Dir         string // a folder of this test's own, as seen over SFTP (and locally: same machine)
}

// SFTP gives the test its own folder on the real sshd and how to reach it.
func SFTP(t testing.TB) SFTPServer {
	t.Helper()
	s := SFTPServer{
		Addr:        Env(t, "FUNDFLOW_SFTP_ADDR"),
		User:        Env(t, "FUNDFLOW_SFTP_USER"),
		KeyPath:     Env(t, "FUNDFLOW_SFTP_KEY"),
		HostKeyPath: Env(t, "FUNDFLOW_SFTP_HOST_KEY"),
	}
	root := Env(t, "FUNDFLOW_SFTP_ROOT")
	s.Dir = filepath.Join(root, randomName("t_"))
	if err := os.MkdirAll(s.Dir, 0o777); err != nil {
		t.Fatalf("testkit: sftp folder: %v", err)
	}
	// sshd runs as an unprivileged user: the folder must be writable by it.
	if err := os.Chmod(s.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(s.Dir) })
	return s
}
