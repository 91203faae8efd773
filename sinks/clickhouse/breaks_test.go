package clickhouse_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

func TestBreakHistory(t *testing.T) {
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	day := fund.NewDate(2026, 8, 21)
	units := decimal.NullDecimal{Decimal: decimal.RequireFromString("123456789012345.123456789"), Valid: true}
	breaks := []fund.Break{
		{Key: "h|units_mismatch|CAMS|F1|S", Scope: "holding", Type: fund.UnitsMismatch, RTA: "CAMS", Folio: "F1", SchemeCode: "S",
			RTAUnits: units, UnitsDiff: decimal.NullDecimal{Decimal: decimal.RequireFromString("-0.001"), Valid: true},
			Status: "open", FirstSeen: day.AddDays(-4), RTAFile: "f.csv", RTALine: 7},
		{Key: "t|duplicate|KFINTECH|n:9", Scope: "transaction", Type: fund.Duplicate, RTA: "KFINTECH", Folio: "G", RTATxnNo: "9",
			Status: "explained", Cause: "x", FirstSeen: day, LedgerTxID: 42},
	}
	// Written twice (a date reconciled again): one row per break after FINAL.
	for i := 0; i < 2; i++ {
		s := clickhouse.BreakHistory{Conn: conn, Now: func() time.Time { return time.Date(2026, 8, 22, 1, i, 0, 0, time.UTC) }}
		if err := s.Write(ctx, day, breaks); err != nil {
			t.Fatal(err)
		}
	}
	var n uint64
	var u, diff decimal.Decimal
	var age uint32
	var first time.Time
	if err := conn.QueryRow(ctx, `SELECT count(), sumIf(rta_units, scope = 'holding'), sumIf(units_diff, scope = 'holding'),
		maxIf(age_days, scope = 'holding'), minIf(first_seen, scope = 'holding')
		FROM recon_breaks_history FINAL WHERE recon_date = toDate('2026-08-21')`).Scan(&n, &u, &diff, &age, &first); err != nil {
		t.Fatal(err)
	}
	if n != 2 || !u.Equal(units.Decimal) || !diff.Equal(decimal.RequireFromString("-0.001")) || age != 4 || fund.DateOf(first) != day.AddDays(-4) {
		t.Fatalf("rows %d units %s diff %s age %d first %v", n, u, diff, age, first)
	}
}
