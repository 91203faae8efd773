package migrate_test

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
	fundsql "github.com/fundflow/fundflow/sql"
)

// Migration 069 moves each NAV's file into nav_sources: a database of 068
// holding NAVs reads back through nav_lineage exactly as it held them, one
// nav_sources row per (file, SHA-256), and navs keeps its key.
func TestNAVSourcesMigrationKeepsLineage(t *testing.T) {
	pool, _ := testkit.EmptyPG(t)
	ctx := testkit.Ctx(t)
	upTo := func(last int) fstest.MapFS {
		m := fstest.MapFS{}
		err := fs.WalkDir(fundsql.Postgres, "postgres", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
				return err
			}
			if n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(p, "postgres/"), "_", 2)[0]); err != nil || n > last {
				return err
			}
			b, err := fs.ReadFile(fundsql.Postgres, p)
			m["mig/"+strings.TrimPrefix(p, "postgres/")] = &fstest.MapFile{Data: b}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if _, err := migrate.PostgresFS(ctx, pool, upTo(68), "mig", testkit.Logger(t)); err != nil {
		t.Fatal(err)
	}
	// One name under two SHA-256s, one SHA-256 under two names, a file of
	// many lines; a NAV with repurchase and sale, one without.
	seeded := []string{
		"A|2026-08-17|10.12345678|10.10000000|10.20000000|NAVAll.txt|aa|2|2026-08-17 18:00:00+00",
		"A|2026-08-18|10.50000000|-|-|NAVAll.txt|bb|2|2026-08-18 18:00:00+00",
		"B|2026-08-17|20.00000000|-|-|other.txt|aa|7|2026-08-17 19:00:00+00",
	}
	for i := range 50 {
		seeded = append(seeded, fmt.Sprintf("C%02d|2026-08-19|%d.00000000|-|-|big.txt|cc|%d|2026-08-19 18:%02d:00+00", i, 30+i, i+2, 50-i))
	}
	for _, r := range seeded {
		f := strings.Split(r, "|")
		null := func(s string) any {
			if s == "-" {
				return nil
			}
			return s
		}
		if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, repurchase, sale, source_file, source_sha256, source_line, loaded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, f[0], f[1], f[2], null(f[3]), null(f[4]), f[5], f[6], f[7], f[8]); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := migrate.PostgresFS(ctx, pool, upTo(69), "mig", testkit.Logger(t))
	if err != nil || len(applied) != 1 || !strings.HasPrefix(applied[0], "069_") {
		t.Fatalf("069: applied %v, %v", applied, err)
	}
	rows, err := pool.Query(ctx, `SELECT concat_ws('|', scheme_code, nav_date, nav, coalesce(repurchase::text, '-'), coalesce(sale::text, '-'),
		source_file, source_sha256, source_line, loaded_at AT TIME ZONE 'UTC' || '+00') FROM nav_lineage`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(seeded)
	if !slices.Equal(got, seeded) {
		t.Fatalf("nav_lineage after 069:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(seeded, "\n"))
	}
	var sources, bigAt int
	var bigSince string
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM nav_sources), (SELECT count(*) FROM navs n JOIN nav_sources s ON s.id = n.source_id
		WHERE s.file = 'big.txt'), (SELECT created_at AT TIME ZONE 'UTC' || '' FROM nav_sources WHERE file = 'big.txt')`).Scan(&sources, &bigAt, &bigSince); err != nil {
		t.Fatal(err)
	}
	// big.txt's earliest NAV was loaded at 18:01 (its last line)
	if sources != 4 || bigAt != 50 || bigSince != "2026-08-19 18:01:00" {
		t.Fatalf("%d files, big.txt named by %d NAVs since %s; want 4, 50, 2026-08-19 18:01:00", sources, bigAt, bigSince)
	}
	// Rebuilt, not altered: no dropped column keeps its bytes in the rows;
	// the constraints keep 002's names.
	var dropped int
	var constraints string
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_attribute WHERE attrelid = 'navs'::regclass AND attisdropped),
		(SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'navs'::regclass)`).Scan(&dropped, &constraints); err != nil ||
		dropped != 0 || constraints != "navs_nav_check,navs_pkey" {
		t.Fatalf("navs has %d dropped columns, constraints %q (%v); want 0, \"navs_nav_check,navs_pkey\"", dropped, constraints, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ('A', '2026-08-17', 1, 1, 1)`); err == nil ||
		!strings.Contains(err.Error(), "navs_pkey") {
		t.Fatalf("a key stored twice after 069: %v, want navs_pkey's refusal", err)
	}
}
