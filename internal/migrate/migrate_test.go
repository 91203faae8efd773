package migrate_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
	fundsql "github.com/fundflow/fundflow/sql"
)

// target is one database the runner migrates, opened empty for one test.
type target struct {
	name string
	// table is a one-column table's DDL in this database's dialect.
	table func(name string) string
	open  func(t *testing.T) db
}

type db struct {
	apply  func(fsys fs.FS) ([]string, error) // the runner on the migrations in "mig"
	exec   func(q string) error
	exists func(table string) bool
}

var targets = []target{
	{
		name:  "postgres",
		table: func(n string) string { return "CREATE TABLE " + n + " (x integer);\n" },
		open: func(t *testing.T) db {
			pool, _ := testkit.EmptyPG(t)
			ctx := testkit.Ctx(t)
			return db{
				apply: func(fsys fs.FS) ([]string, error) {
					return migrate.PostgresFS(ctx, pool, fsys, "mig", testkit.Logger(t))
				},
				exec: func(q string) error {
					_, err := pool.Exec(ctx, q)
					return err
				},
				exists: func(table string) bool {
					var ok bool
					if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok); err != nil {
						t.Fatal(err)
					}
					return ok
				},
			}
		},
	},
	{
		name: "clickhouse",
		table: func(n string) string {
			return "CREATE TABLE IF NOT EXISTS " + n + " (x UInt32) ENGINE = MergeTree ORDER BY x\n;\n"
		},
		open: func(t *testing.T) db {
			conn, _ := testkit.EmptyCH(t)
			ctx := testkit.Ctx(t)
			return db{
				apply: func(fsys fs.FS) ([]string, error) {
					return migrate.ClickHouseFS(ctx, conn, fsys, "mig", testkit.Logger(t))
				},
				exec: func(q string) error { return conn.Exec(ctx, q) },
				exists: func(table string) bool {
					var n uint64
					if err := conn.QueryRow(ctx, `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = ?`, table).Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n == 1
				},
			}
		},
	},
}

// files is a migration set: file name → content.
type files map[string]string

func (f files) fs() fstest.MapFS {
	m := fstest.MapFS{"mig/README": {Data: []byte("not a migration")}}
	for name, body := range f {
		m["mig/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func (f files) with(name, body string) files {
	out := files{}
	for k, v := range f {
		out[k] = v
	}
	out[name] = body
	return out
}

func (f files) without(name string) files {
	out := files{}
	for k, v := range f {
		if k != name {
			out[k] = v
		}
	}
	return out
}

func sum(s string) string {
	b := sha256.Sum256([]byte(s))
	return hex.EncodeToString(b[:])
}

// TestDrift applies a set of migrations, then a changed set, to an empty
// database of each kind: any applied file that differs by a byte is refused
// by name and nothing of the new set is applied; an unchanged set is a no-op;
// a new file applies.
func TestDrift(t *testing.T) {
	for _, tg := range targets {
		first := "-- first table\n" + tg.table("a")
		base := files{"001_a.sql": first, "002_b.sql": tg.table("b")}
		cases := []struct {
			name    string
			next    files
			applied []string // names the second run applies
			// drift, when set, is the one refused file: its path, the
			// recorded and the current checksum.
			drift          *migrate.Drift
			absent, exists []string // tables after the second run
		}{
			{name: "unchanged set is a no-op", next: base, exists: []string{"a", "b"}},
			{name: "new file applies", next: base.with("003_c.sql", tg.table("c")), applied: []string{"003_c.sql"}, exists: []string{"c"}},
			{
				name:   "one byte of a comment changed",
				next:   base.with("001_a.sql", "-- First table\n"+tg.table("a")).with("003_c.sql", tg.table("c")),
				drift:  &migrate.Drift{Version: 1, Applied: "001_a.sql", Path: "mig/001_a.sql", Recorded: sum(first), Current: sum("-- First table\n" + tg.table("a"))},
				absent: []string{"c"},
			},
			{
				name:   "trailing newline added",
				next:   base.with("001_a.sql", first+"\n"),
				drift:  &migrate.Drift{Version: 1, Applied: "001_a.sql", Path: "mig/001_a.sql", Recorded: sum(first), Current: sum(first + "\n")},
				exists: []string{"a"},
			},
			{
				name:  "applied file renamed",
				next:  base.without("001_a.sql").with("001_a_tables.sql", first),
				drift: &migrate.Drift{Version: 1, Applied: "001_a.sql", Path: "mig/001_a_tables.sql", Recorded: sum(first), Current: sum(first)},
			},
			{
				name:  "applied file removed",
				next:  base.without("002_b.sql"),
				drift: &migrate.Drift{Version: 2, Applied: "002_b.sql", Recorded: sum(tg.table("b"))},
			},
		}
		for _, c := range cases {
			t.Run(tg.name+"/"+c.name, func(t *testing.T) {
				d := tg.open(t)
				got, err := d.apply(base.fs())
				if err != nil {
					t.Fatalf("first run: %v", err)
				}
				if strings.Join(got, ",") != "001_a.sql,002_b.sql" {
					t.Fatalf("first run applied %v, want 001_a.sql and 002_b.sql", got)
				}
				got, err = d.apply(c.next.fs())
				if c.drift == nil {
					if err != nil {
						t.Fatalf("second run: %v", err)
					}
					if strings.Join(got, ",") != strings.Join(c.applied, ",") {
						t.Fatalf("second run applied %v, want %v", got, c.applied)
					}
				} else {
					checkDrift(t, err, tg.name, *c.drift)
					if len(got) != 0 {
						t.Fatalf("refused run applied %v", got)
					}
				}
				for _, tb := range c.exists {
					if !d.exists(tb) {
						t.Errorf("table %s missing", tb)
					}
				}
				for _, tb := range c.absent {
					if d.exists(tb) {
						t.Errorf("table %s exists: a refused run applied a new migration", tb)
					}
				}
			})
		}
	}
}

func checkDrift(t *testing.T, err error, dbName string, want migrate.Drift) {
	t.Helper()
	var de *migrate.DriftError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *migrate.DriftError", err)
	}
	if de.DB != dbName || len(de.Drifts) != 1 || de.Drifts[0] != want {
		t.Fatalf("drift = %s %+v, want %s [%+v]", de.DB, de.Drifts, dbName, want)
	}
	msg := err.Error()
	for _, part := range []string{want.Applied, want.Path, want.Recorded, want.Current, migrate.ImmutableFix} {
		if !strings.Contains(msg, part) {
			t.Errorf("message does not say %q:\n%s", part, msg)
		}
	}
}

// TestChecksumRecordedOnFirstSight: a database migrated by a runner that kept
// no checksum (rows with an empty sha256) gets the file's checksum recorded
// on the next run, which then guards the file like any other.
func TestChecksumRecordedOnFirstSight(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			d := tg.open(t)
			// The runner on an empty set makes the version table; the old
			// runner's work is then done by hand.
			if got, err := d.apply(files{}.fs()); err != nil || len(got) != 0 {
				t.Fatalf("empty set: applied %v, %v", got, err)
			}
			first := "-- first table\n" + tg.table("a")
			for _, stmt := range migrate.SplitStatements(first) {
				if err := d.exec(stmt); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.exec(`INSERT INTO schema_migrations (version, name, sha256, applied_at) SELECT 1, '001_a.sql', '', now()`); err != nil {
				t.Fatal(err)
			}
			set := files{"001_a.sql": first}
			if got, err := d.apply(set.fs()); err != nil || len(got) != 0 {
				t.Fatalf("first sight: applied %v, %v; want nothing applied and no error", got, err)
			}
			changed := "-- First table\n" + tg.table("a")
			_, err := d.apply(set.with("001_a.sql", changed).fs())
			checkDrift(t, err, tg.name, migrate.Drift{Version: 1, Applied: "001_a.sql", Path: "mig/001_a.sql", Recorded: sum(first), Current: sum(changed)})
		})
	}
}

// TestEmbeddedDriftNamesRepoPath: the entry points fundflow migrate calls
// refuse a database whose record of a shipped file differs, naming the file
// by its path in the repository.
func TestEmbeddedDriftNamesRepoPath(t *testing.T) {
	const tampered = "0000000000000000000000000000000000000000000000000000000000000000"
	t.Run("postgres", func(t *testing.T) {
		pool, _ := testkit.PG(t)
		ctx := testkit.Ctx(t)
		if got, err := migrate.Postgres(ctx, pool, testkit.Logger(t)); err != nil || len(got) != 0 {
			t.Fatalf("re-run on a migrated database: applied %v, %v; want a no-op", got, err)
		}
		ms, err := migrate.Load(fundsql.Postgres, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `UPDATE schema_migrations SET sha256 = $1 WHERE version = 1`, tampered); err != nil {
			t.Fatal(err)
		}
		_, err = migrate.Postgres(ctx, pool, testkit.Logger(t))
		checkDrift(t, err, "postgres", migrate.Drift{Version: 1, Applied: ms[0].Name, Path: "sql/postgres/" + ms[0].Name, Recorded: tampered, Current: ms[0].SHA256})
	})
	t.Run("clickhouse", func(t *testing.T) {
		conn, _ := testkit.CH(t)
		ctx := testkit.Ctx(t)
		if got, err := migrate.ClickHouse(ctx, conn, testkit.Logger(t)); err != nil || len(got) != 0 {
			t.Fatalf("re-run on a migrated database: applied %v, %v; want a no-op", got, err)
		}
		ms, err := migrate.Load(fundsql.ClickHouse, "clickhouse")
		if err != nil {
			t.Fatal(err)
		}
		// A later row for the version wins, as a re-recorded checksum would.
		if err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name, sha256, applied_at) SELECT 1, ?, ?, now() + 1`, ms[0].Name, tampered); err != nil {
			t.Fatal(err)
		}
		_, err = migrate.ClickHouse(ctx, conn, testkit.Logger(t))
		checkDrift(t, err, "clickhouse", migrate.Drift{Version: 1, Applied: ms[0].Name, Path: "sql/clickhouse/" + ms[0].Name, Recorded: tampered, Current: ms[0].SHA256})
	})
}
