package refresh_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/clickhouse"
)

// aumTable is aum_daily (FINAL) as text, one line per row.
func aumTable(t *testing.T, ch driver.Conn) []string {
	t.Helper()
	rows, err := ch.Query(testkit.Ctx(t), `SELECT scheme_code, date, amc, category, toString(units), toString(nav), nav_date, toString(aum)
		FROM aum_daily FINAL ORDER BY scheme_code, date`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var code, amc, cat, units, nav, aum string
		var d, nd time.Time
		if err := rows.Scan(&code, &d, &amc, &cat, &units, &nav, &nd, &aum); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s|%s units %s nav %s of %s aum %s", code, fund.DateOf(d), amc, cat, units, nav, fund.DateOf(nd), aum))
	}
	return out
}

func sameTable(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("%s: %d rows, the full rebuild %d", what, len(got), len(want))
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("first difference at row %d:\n incremental %s\n full        %s", i, g, w)
			return
		}
	}
}

func fact(id int64, kind, scheme string, d fund.Date, units string) fund.TransactionCompleted {
	return fund.TransactionCompleted{EventID: fmt.Sprintf("t:%d", id), TxID: id, OrderID: fmt.Sprintf("INC-%d", id), Kind: kind, Folio: "INC-F",
		InvestorID: "INC-I", SchemeCode: scheme, NAVDate: d.String(), NAV: "10", Units: units, Amount: "0", StampDuty: "0", ExitLoad: "0",
		NetAmount: "0", PlacedAt: "2026-01-01T00:00:00Z", PostedAt: "2026-01-01T00:00:00Z"}
}

// The incremental refresh of aum_daily gives the table a full rebuild from
// nothing gives, while writing only the days touched since the last
// refresh: after new facts (a late, backdated purchase; a redemption that
// leaves a scheme without units for some days, whose old rows must go; a
// purchase after the last as_of), a NAV loaded late for a weekend, and the
// as_of moving on. A fact deleted by a repair makes it a full refresh, again
// equal to the rebuild.
func TestIncrementalAUMEqualsFullRebuild(t *testing.T) {
	pool, _ := testkit.PG(t)
	inc, _ := testkit.CH(t)  // refreshed incrementally
	full, _ := testkit.CH(t) // rebuilt from nothing
	ctx := testkit.Ctx(t)
	end := fund.NewDate(2026, 8, 21)
	if _, err := ledgergen.Generate(ctx, pool, ledgergen.Options{Folios: 40, Seed: 5, End: end, Days: 150, Log: testkit.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	// What was loaded before the first refresh was loaded two hours ago (out
	// of the incremental refresh's overlap).
	earlier := time.Now().Add(-2 * time.Hour)
	if _, err := pool.Exec(ctx, `UPDATE navs SET loaded_at = $1`, earlier); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []driver.Conn{inc, full} {
		if _, err := analytics.Resync(ctx, pgstore.Store{Pool: pool}, chstore.Store{Conn: ch, Now: func() time.Time { return earlier }}, end.AddDays(-200), end); err != nil {
			t.Fatal(err)
		}
	}
	e1 := end.AddDays(-40)
	// The incremental side's refreshes run an hour apart (a clock of the
	// test's: each past the last one's overlap).
	base := time.Now()
	at := func(hours int) refresh.Refresher {
		return refresh.Refresher{PG: pool, CH: inc, Now: func() time.Time { return base.Add(time.Duration(hours) * time.Hour) }}
	}
	ri := at(0)
	if _, err := ri.Schemes(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := ri.AUMIncremental(ctx, e1)
	if err != nil || st.Mode != "full" || st.Reason != "no earlier refresh" || st.Rows == 0 {
		t.Fatalf("first refresh %+v: %v", st, err)
	}
	fullRows := st.Rows

	// Z: a scheme holding units on D = e1 − 10 with no fact in (D, e1]; all of them redeemed on D.
	d := e1.AddDays(-10)
	var z, zUnits string
	if err := inc.QueryRow(ctx, `SELECT scheme_code, toString(sumIf(units, direction = 1) - sumIf(units, direction = -1)) AS u FROM transactions FINAL
		WHERE nav_date <= toDate(?) GROUP BY scheme_code
		HAVING u != '0' AND scheme_code NOT IN (SELECT scheme_code FROM transactions WHERE nav_date > toDate(?) AND nav_date <= toDate(?))
		ORDER BY scheme_code LIMIT 1`, d.String(), d.String(), e1.String()).Scan(&z, &zUnits); err != nil {
		t.Fatalf("no scheme to empty: %v", err)
	}
	// Y: another scheme with units: a late purchase 30 days back, and a NAV for a Saturday before e1 it had none for.
	var y string
	if err := inc.QueryRow(ctx, `SELECT scheme_code FROM transactions FINAL WHERE nav_date <= toDate(?) AND scheme_code != ? GROUP BY scheme_code
		ORDER BY scheme_code LIMIT 1`, e1.AddDays(-60).String(), z).Scan(&y); err != nil {
		t.Fatal(err)
	}
	sat := e1.AddDays(-20)
	for sat.Weekday() != time.Saturday {
		sat = sat.AddDays(-1)
	}
	if tag, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ($1, $2, 12.34567, nav_source('late', 'late'), 1)
		ON CONFLICT DO NOTHING`, y, sat.Time()); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("a late NAV for %s on %s: %v", y, sat, err)
	}
	// W: a scheme with no fact yet buys after e1 (a new scheme in aum_daily)
	var w string
	if err := pool.QueryRow(ctx, `SELECT code FROM schemes WHERE code NOT IN (SELECT DISTINCT scheme_code FROM ledger_transactions) ORDER BY code LIMIT 1`).Scan(&w); err != nil {
		t.Fatalf("no scheme without facts: %v", err)
	}
	news := []fund.TransactionCompleted{
		fact(9_000_001, "redemption", z, d, zUnits),
		fact(9_000_002, "purchase", y, e1.AddDays(-30), "12.345"),
		fact(9_000_003, "purchase", w, e1.AddDays(5), "100"),
	}
	for _, ch := range []driver.Conn{inc, full} {
		if err := (clickhouse.TransactionFacts{Conn: ch}).WriteTransactions(ctx, news); err != nil {
			t.Fatal(err)
		}
	}

	e2 := e1.AddDays(20)
	st, err = at(1).AUMIncremental(ctx, e2)
	if err != nil || st.Mode != "incremental" {
		t.Fatalf("second refresh %+v: %v", st, err)
	}
	rf := refresh.Refresher{PG: pool, CH: full}
	if _, err := rf.Schemes(ctx); err != nil {
		t.Fatal(err)
	}
	fst, err := rf.AUMFull(ctx, e2, "test")
	if err != nil {
		t.Fatal(err)
	}
	sameTable(t, "after new facts, a late NAV and 20 more days", aumTable(t, inc), aumTable(t, full))
	// Only touched days were written: Y's from the late purchase, Z's from D, W's from its purchase, the
	// rest from e1 + 1; far fewer than the rebuild's. Z's days without units are deleted.
	if st.FirstDay != e1.AddDays(-30) || st.Rows >= fst.Rows/2 || st.Stale == 0 {
		t.Errorf("incremental %+v (the rebuild wrote %d rows, the first refresh %d): want first day %s, under half the rows, stale rows deleted",
			st, fst.Rows, fullRows, e1.AddDays(-30))
	}
	t.Logf("incremental: %+v; the rebuild: %+v", st, fst)
	var zRows uint64
	inc.QueryRow(ctx, `SELECT count() FROM aum_daily FINAL WHERE scheme_code = ? AND date >= toDate(?) AND date <= toDate(?)`, z, d.String(), e1.String()).Scan(&zRows)
	if zRows != 0 {
		t.Errorf("%s has %d rows after its units were redeemed on %s", z, zRows, d)
	}

	// The same as_of an hour later (past the overlap) with nothing new: nothing written.
	again, err := at(2).AUMIncremental(ctx, e2)
	if err != nil || again.Mode != "incremental" || again.Rows != 0 {
		t.Errorf("a refresh with nothing new: %+v %v", again, err)
	}

	// A repair deletes a fact: the next refresh is a full one, still the rebuild's table.
	key := []analytics.FactKey{{TxID: 9_000_002, Scheme: y, Date: e1.AddDays(-30)}}
	for _, ch := range []driver.Conn{inc, full} {
		if err := (chstore.Store{Conn: ch}).DeleteFacts(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	st, err = at(3).AUMIncremental(ctx, e2)
	if err != nil || st.Mode != "full" || !strings.Contains(st.Reason, "deleted") {
		t.Fatalf("after a delete %+v: %v", st, err)
	}
	if _, err := rf.AUMFull(ctx, e2, "test"); err != nil {
		t.Fatal(err)
	}
	sameTable(t, "after a fact was deleted", aumTable(t, inc), aumTable(t, full))
	var sum string
	inc.QueryRow(ctx, `SELECT toString(sum(aum)) FROM aum_daily FINAL WHERE date = toDate(?)`, e2.String()).Scan(&sum)
	if decimal.RequireFromString(sum).Sign() <= 0 {
		t.Errorf("no AUM on %s", e2)
	}
}
