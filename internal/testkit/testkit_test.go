package testkit

import (
	"testing"
)

// The helpers must hand out working, migrated, isolated databases.
func TestServices(t *testing.T) {
	ctx := Ctx(t)
	pool, _ := PG(t)
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n < 2 {
		t.Fatalf("migrations in the test database: n=%d err=%v", n, err)
	}
	other, _ := PG(t)
	if _, err := pool.Exec(ctx, `INSERT INTO alerts (kind, subject, detail) VALUES ('k', 's', 'd')`); err != nil {
		t.Fatal(err)
	}
	if err := other.QueryRow(ctx, `SELECT count(*) FROM alerts`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("databases are not isolated: n=%d err=%v", n, err)
	}
	conn, _ := CH(t)
	var c uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'nav_history'`).Scan(&c); err != nil || c != 1 {
		t.Fatalf("clickhouse nav_history: %d %v", c, err)
	}
}
