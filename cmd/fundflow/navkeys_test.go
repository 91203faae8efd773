package main

import (
	"context"
	"testing"
	"time"

	ch2 "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// mergeAll merges every part of a ReplacingMergeTree table, so that each
// key is stored once. A plain OPTIMIZE silently does nothing while a
// background merge holds the parts; with optimize_throw_if_noop it says so,
// and is tried again.
func mergeAll(t *testing.T, ctx context.Context, ch clickhouse.Conn, table string) {
	t.Helper()
	ctx = ch2.Context(ctx, ch2.WithSettings(ch2.Settings{"optimize_throw_if_noop": 1}))
	var err error
	for range 100 {
		if err = ch.Exec(ctx, `OPTIMIZE TABLE `+table+` FINAL`); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("OPTIMIZE TABLE %s FINAL: %v", table, err)
}

// storedNAVKeys returns the "code|YYYY-MM-DD" keys of the NAVs in Postgres
// (navs) and in ClickHouse (nav_history, merged first), and fails the test
// if ClickHouse holds any key more than once.
func storedNAVKeys(t *testing.T, ctx context.Context, pool *pgxpool.Pool, ch clickhouse.Conn) (pg, chKeys map[string]bool) {
	t.Helper()
	pg = map[string]bool{}
	rows, err := pool.Query(ctx, `SELECT scheme_code || '|' || to_char(nav_date, 'YYYY-MM-DD') FROM navs`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		pg[k] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	mergeAll(t, ctx, ch, "nav_history")
	chRows, err := ch.Query(ctx, `SELECT concat(scheme_code, '|', toString(nav_date)), count() FROM nav_history GROUP BY scheme_code, nav_date`)
	if err != nil {
		t.Fatal(err)
	}
	defer chRows.Close()
	chKeys = map[string]bool{}
	for chRows.Next() {
		var k string
		var n uint64
		if err := chRows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("clickhouse has %s %d times", k, n)
		}
		chKeys[k] = true
	}
	return pg, chKeys
}
