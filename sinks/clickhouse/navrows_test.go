package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// storedRow is a nav_history row as ClickHouse shows it (toString of
// each column): what a query reads, not what the driver decodes. Dates as
// toYYYYMMDD: 18.16 prints day 0, 1970-01-01, as 0000-00-00.
type storedRow struct {
	code, date, nav, amc, category, sha, line, loaded string
}

func storedRows(t *testing.T, ctx context.Context, conn driver.Conn) []storedRow {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT scheme_code, toString(toYYYYMMDD(nav_date)), toString(nav), amc, category, source_sha256,
		toString(source_line), toString(loaded_at, 'UTC') FROM nav_history ORDER BY scheme_code`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedRow
	for rows.Next() {
		var r storedRow
		if err := rows.Scan(&r.code, &r.date, &r.nav, &r.amc, &r.category, &r.sha, &r.line, &r.loaded); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every column reaches ClickHouse exactly: NAVs at 8 places and at the
// edges of Decimal(18, 8), the edges of Date, strings empty, non-ASCII and
// longer than a one-byte length, the largest line number; through
// NAVHistory and through HeldNAVHistory over two flushes (a string table
// kept between them). Expected values are written out as ClickHouse
// prints them.
func TestNAVHistoryStoresEveryColumnExactly(t *testing.T) {
	long := strings.Repeat("Long Category Name ", 10) // 190 bytes: a two-byte length
	type in struct {
		code, nav string
		date      fund.Date
		amc, cat  string
		sha       string
		line      int
	}
	ins := []in{
		{"A1", "1", fund.NewDate(2026, 12, 1), "Aditya Birla Sun Life Mutual Fund", "Debt Scheme - Banking and PSU Fund", "aa", 3},
		{"A2", "0.00000001", fund.NewDate(1970, 1, 1), "Aditya Birla Sun Life Mutual Fund", "", "aa", 4},
		{"A3", "9999999999.99999999", fund.NewDate(2105, 12, 31), "Édelweiss ₹ Fund", long, "aa", 1<<32 - 1},
		{"A4", "-9999999999.99999999", fund.NewDate(2000, 2, 29), "", long, "bb", 1},
		{"A5", "1234567890.1234567800", fund.NewDate(2026, 1, 31), "X", "Y", "bb", 2},
		{"A6", "1.000000010", fund.NewDate(2026, 3, 1), "X", "Y", "bb", 300},
		{"A7", "123.4567", fund.NewDate(2026, 3, 2), "X", "Y", "bb", 128},
	}
	want := []storedRow{
		{"A1", "20261201", "1.00000000", "Aditya Birla Sun Life Mutual Fund", "Debt Scheme - Banking and PSU Fund", "aa", "3", "2026-12-06 09:30:15"},
		{"A2", "19700101", "0.00000001", "Aditya Birla Sun Life Mutual Fund", "", "aa", "4", "2026-12-06 09:30:15"},
		{"A3", "21051231", "9999999999.99999999", "Édelweiss ₹ Fund", long, "aa", "4294967295", "2026-12-06 09:30:15"},
		{"A4", "20000229", "-9999999999.99999999", "", long, "bb", "1", "2026-12-06 09:30:15"},
		{"A5", "20260131", "1234567890.12345678", "X", "Y", "bb", "2", "2026-12-06 09:30:15"},
		{"A6", "20260301", "1.00000001", "X", "Y", "bb", "300", "2026-12-06 09:30:15"},
		{"A7", "20260302", "123.45670000", "X", "Y", "bb", "128", "2026-12-06 09:30:15"},
	}
	lines := func(ins []in) []fund.NAVLine {
		var out []fund.NAVLine
		for _, n := range ins {
			out = append(out, fund.NAVLine{
				NAVRecord: fund.NAVRecord{SchemeCode: n.code, NAV: decimal.RequireFromString(n.nav), Date: n.date, AMC: n.amc, Category: n.cat, SchemeName: "ignored"},
				From:      fund.Origin{File: "f.txt", SHA256: n.sha, Line: n.line}})
		}
		return out
	}
	now := func() time.Time { return time.Date(2026, 12, 6, 9, 30, 15, 999, time.UTC) }
	check := func(t *testing.T, ctx context.Context, conn driver.Conn) {
		t.Helper()
		got := storedRows(t, ctx, conn)
		if len(got) != len(want) {
			t.Fatalf("%d rows stored, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
	}
	t.Run("NAVHistory", func(t *testing.T) {
		conn, _ := testkit.CH(t)
		ctx := testkit.Ctx(t)
		if err := (clickhouse.NAVHistory{Conn: conn, Now: now}).Write(ctx, pipelines.Batch[fund.NAVLine]{Items: lines(ins)}); err != nil {
			t.Fatal(err)
		}
		check(t, ctx, conn)
	})
	t.Run("HeldNAVHistory", func(t *testing.T) {
		conn, _ := testkit.CH(t)
		ctx := testkit.Ctx(t)
		h := &clickhouse.HeldNAVHistory{NAVHistory: clickhouse.NAVHistory{Conn: conn, Now: now}}
		for i, part := range [][]in{ins[:2], ins[2:3], ins[3:]} { // flushed after the first two batches, then the rest
			b := pipelines.Batch[fund.NAVLine]{Items: lines(part), Through: pipelines.Checkpoint{Stream: "f", Pos: []byte(fmt.Sprint(i))}}
			if err := h.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			if i == 1 || i == 2 {
				h.Cut()
				if err := h.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		check(t, ctx, conn)
	})
}

// A NAV that Decimal(18, 8) cannot hold exactly (more than 8 decimals;
// 10^10 or more, which the driver sent and 18.16 stored past the type's
// precision) is refused with its batch, before anything is sent or held:
// never rounded, never truncated. The refusal is permanent (the rows', not
// the server's).
func TestNAVHistoryRefusesNAVsDecimal18x8CannotHold(t *testing.T) {
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	h := &clickhouse.HeldNAVHistory{NAVHistory: clickhouse.NAVHistory{Conn: conn}}
	good := line("G", 1)
	if err := h.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{good}, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	for i, nav := range []string{"1.000000019", "0.000000001", "10000000000", "-10000000000", "92233720368.54775807"} {
		bad := line(fmt.Sprint("B", i), 2)
		bad.NAV = decimal.RequireFromString(nav)
		b := pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line(fmt.Sprint("OK", i), 1), bad}, Through: pipelines.Checkpoint{Stream: "g", Pos: []byte(nav)}}
		for name, write := range map[string]func() error{
			"NAVHistory":     func() error { return h.NAVHistory.Write(ctx, b) },
			"HeldNAVHistory": func() error { return h.Write(ctx, b) },
		} {
			err := write()
			if !errors.Is(err, clickhouse.ErrNAVNotStorable) || pipelines.IsTransient(err) || !strings.Contains(err.Error(), nav) {
				t.Errorf("%s of NAV %s: %v; want a permanent ErrNAVNotStorable naming the NAV", name, nav, err)
			}
		}
	}
	if h.Held() != 1 {
		t.Fatalf("%d rows held, want 1 (the good batch only)", h.Held())
	}
	h.Cut()
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedRows(t, ctx, conn); len(got) != 1 || got[0].code != "G" {
		t.Fatalf("nav_history: %+v, want G's row only", got)
	}
}

// A nav_history whose columns are not the ones this sink encodes (a
// migration half done) is refused before anything is sent, as the
// server's state (transient): the rows stay held.
func TestHeldNAVHistoryRefusesATableOfAnotherShape(t *testing.T) {
	conn, ctx, _, h := newHeld(t)
	if err := conn.Exec(ctx, `DROP TABLE nav_history`); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, `CREATE TABLE nav_history (scheme_code String, nav_date Date, nav Decimal(20, 8), amc String,
		category String, source_sha256 String, source_line UInt32, loaded_at DateTime) ENGINE = MergeTree ORDER BY scheme_code`); err != nil {
		t.Fatal(err)
	}
	if err := h.Write(ctx, pipelines.Batch[fund.NAVLine]{Items: []fund.NAVLine{line("A", 1)}, Through: pipelines.Checkpoint{Stream: "f", Pos: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	h.Cut()
	err := h.Flush(ctx)
	if err == nil || !pipelines.IsTransient(err) || !strings.Contains(err.Error(), "nav") || h.Held() != 1 {
		t.Fatalf("Flush into nav Decimal(20, 8): %v (transient %v), %d held; want a transient error naming nav, 1 held", err, pipelines.IsTransient(err), h.Held())
	}
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM nav_history`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("nav_history holds %d rows (%v), want 0", n, err)
	}
}
