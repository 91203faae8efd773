package clickhouse_test

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// A date a Date column cannot hold is refused, not wrapped into another
// date; the edges of the range are stored as they are.
func TestNAVHistoryRefusesDatesOutsideDate(t *testing.T) {
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	sink := clickhouse.NAVHistory{Conn: conn}
	line := func(code string, d fund.Date) fund.NAVLine {
		return fund.NAVLine{NAVRecord: fund.NAVRecord{SchemeCode: code, NAV: decimal.RequireFromString("10"), Date: d},
			From: fund.Origin{File: "f.txt", SHA256: "s", Line: 3}}
	}
	cases := []struct {
		name string
		date fund.Date
		ok   bool
	}{
		{"1899-12-01", fund.NewDate(1899, 12, 1), false},
		{"1969-12-31", fund.NewDate(1969, 12, 31), false},
		{"1970-01-01", fund.NewDate(1970, 1, 1), true},
		{"2105-12-31", fund.NewDate(2105, 12, 31), true},
		{"2106-01-01 (18.16 reads it back as 0000-00-00)", fund.NewDate(2106, 1, 1), false},
		{"2149-06-06", fund.NewDate(2149, 6, 6), false},
		{"2150-01-01", fund.NewDate(2150, 1, 1), false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code := string(rune('A' + i))
			// A good row first: the batch is refused whole.
			b := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line(code, fund.NewDate(2026, 12, 1)), line(code, tc.date)}}
			err := sink.Write(ctx, b)
			if tc.ok != (err == nil) || (err != nil && (!errors.Is(err, clickhouse.ErrDateOutOfRange) || pipelines.IsTransient(err))) {
				t.Fatalf("Write = %v, want ok=%v (a permanent ErrDateOutOfRange otherwise)", err, tc.ok)
			}
			var n uint64
			var got string
			if err := conn.QueryRow(ctx, `SELECT count(), toString(max(nav_date)) FROM nav_history WHERE scheme_code = ?`, code).Scan(&n, &got); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.ok && (n != 2 || (got != tc.date.String() && got != "2026-12-01")):
				t.Fatalf("stored %d rows, max date %s", n, got)
			case !tc.ok && n != 0:
				t.Fatalf("stored %d rows of a refused batch", n)
			}
		})
	}
}
