package navingest_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// A file failed with its checkpoint at line 4 while both stores have its
// lines 3-6 (Postgres commits each batch; the checkpoint waited for
// ClickHouse's held flush): Undo deletes lines 5 and 6 from ClickHouse and
// names the two keys Postgres keeps in an error log. (Before: nothing
// said Postgres kept them.)
func TestUndoNamesTheNAVsPostgresKeepsPastTheCommit(t *testing.T) {
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	from := func(n int) fund.Origin { return fund.Origin{File: "f.txt", SHA256: "sha-f", Line: n} }
	var items []fund.NAVLine
	for i, code := range []string{"A", "B", "C", "D"} { // lines 3-6
		items = append(items, fund.NAVLine{NAVRecord: fund.NAVRecord{SchemeCode: code, SchemeName: "Scheme " + code,
			NAV: decimal.RequireFromString("10.5"), Date: fund.NewDate(2026, 12, 1)}, From: from(3 + i)})
	}
	b := pipelines.Batch[fund.NAVLine]{Items: items, Through: pipelines.Checkpoint{Stream: "f.txt", Pos: []byte("6")}}
	pg := &postgres.NAVSink{Pool: pool}
	if err := pg.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pg.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := (clickhouse.NAVHistory{Conn: ch}).Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	if err := navingest.Undo(ch, &postgres.Store{Pool: pool}, log)(ctx, fund.Origin{File: "f.txt", SHA256: "sha-f"}, 4); err != nil {
		t.Fatal(err)
	}
	var chRows uint64
	if err := ch.QueryRow(ctx, `SELECT count() FROM nav_history FINAL`).Scan(&chRows); err != nil {
		t.Fatal(err)
	}
	var pgRows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM navs`).Scan(&pgRows); err != nil {
		t.Fatal(err)
	}
	if chRows != 2 || pgRows != 4 {
		t.Errorf("ClickHouse %d rows, Postgres %d; want 2 (lines 3-4) and 4", chRows, pgRows)
	}
	out := logged.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "navs=2") || !strings.Contains(out, "keys=\"[C|2026-12-01 D|2026-12-01]\"") {
		t.Errorf("log %q: want an error naming C and D of 2026-12-01", out)
	}
}
