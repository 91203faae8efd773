package analytics_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
)

// A generated ledger (which writes no outbox: the facts relay never sees
// it, as with `gen ledger` on the demo) is found missing from the facts day
// by day; a resync fills them; a second resync changes nothing; then a
// deleted day, a fact with no ledger transaction and a fact whose amount
// drifted are each found and repaired by Check.
func TestFactsGapFoundAndRepaired(t *testing.T) {
	pool, _ := testkit.PG(t)
	conn, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	end := fund.NewDate(2026, 8, 21)
	if _, err := ledgergen.Generate(ctx, pool, ledgergen.Options{Folios: 25, Seed: 3, End: end, Days: 90, Log: testkit.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	from := end.AddDays(-120)
	l, f := pgstore.Store{Pool: pool}, chstore.Store{Conn: conn}
	var ledgerRows int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions`).Scan(&ledgerRows); err != nil {
		t.Fatal(err)
	}

	rep, err := analytics.Check(ctx, l, f, from, end, false)
	if err != nil {
		t.Fatal(err)
	}
	// The facts are empty: every (date, scheme, kind) of the ledger differs.
	if rep.Keys == 0 || len(rep.Diffs) != rep.Keys {
		t.Fatalf("empty facts: %d diffs for %d ledger keys", len(rep.Diffs), rep.Keys)
	}

	factRows := func() uint64 {
		var n uint64
		if err := conn.QueryRow(ctx, `SELECT count() FROM transactions FINAL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 2 { // idempotent: the second run leaves the same facts
		st, err := analytics.Resync(ctx, l, f, from, end)
		if err != nil {
			t.Fatal(err)
		}
		if int64(st.Written) != ledgerRows || st.Deleted != 0 {
			t.Fatalf("resync %+v, want %d written, 0 deleted", st, ledgerRows)
		}
		if n := factRows(); int64(n) != ledgerRows {
			t.Fatalf("%d fact rows, ledger %d", n, ledgerRows)
		}
		if rep, err := analytics.Check(ctx, l, f, from, end, false); err != nil || len(rep.Diffs) != 0 {
			t.Fatalf("after resync: %v %+v", err, rep.Diffs)
		}
	}

	// Break three days three ways.
	var days []time.Time
	rows, err := pool.Query(ctx, `SELECT DISTINCT nav_date FROM ledger_transactions ORDER BY 1 LIMIT 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d time.Time
		rows.Scan(&d)
		days = append(days, d)
	}
	rows.Close()
	lost, extra, drift := fund.DateOf(days[0]), fund.DateOf(days[1]), fund.DateOf(days[2])
	if err := f.DeleteFacts(ctx, mustKeys(t, f, lost)); err != nil { // the day's facts lost
		t.Fatal(err)
	}
	ghost, err := conn.PrepareBatch(ctx, `INSERT INTO transactions (tx_id, order_id, kind, direction, scheme_code, nav_date, nav, units, amount, loaded_at)`)
	if err != nil {
		t.Fatal(err)
	}
	if err := ghost.Append(uint64(987654321), "ghost", "purchase", int8(1), "GHOST", extra.Time(), mustDec("10"), mustDec("1"), mustDec("10"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := ghost.Send(); err != nil { // a fact with no ledger transaction
		t.Fatal(err)
	}
	k := mustKeys(t, f, drift)[0] // one fact's amount drifted: a later version of the row
	if err := conn.Exec(ctx, `INSERT INTO transactions (tx_id, order_id, kind, direction, folio_no, scheme_code, nav_date, nav, units, amount, loaded_at)
		SELECT tx_id, order_id, kind, direction, folio_no, scheme_code, nav_date, nav, units, amount + toDecimal64(1, 2), loaded_at + 3600
		FROM transactions FINAL WHERE tx_id = ? AND scheme_code = ? AND nav_date = toDate(?)`, uint64(k.TxID), k.Scheme, k.Date.String()); err != nil {
		t.Fatal(err)
	}

	rep, err = analytics.Check(ctx, l, f, from, end, true)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[fund.Date]bool{}
	for _, d := range rep.Diffs {
		seen[d.Date] = true
		switch d.Date {
		case lost:
			if d.Facts.Count != 0 || d.Ledger.Count == 0 {
				t.Errorf("lost day: %+v", d)
			}
		case extra:
			if d.Scheme != "GHOST" || d.Facts.Count != 1 || d.Ledger.Count != 0 {
				t.Errorf("extra fact: %+v", d)
			}
		case drift:
			// the same count, the facts one rupee over the ledger
			if d.Facts.Count != d.Ledger.Count || !d.Facts.Amount.Sub(d.Ledger.Amount).Equal(mustDec("1")) {
				t.Errorf("drift: %+v", d)
			}
		default:
			t.Errorf("a day nobody broke differs: %+v", d)
		}
	}
	if len(seen) != 3 || len(rep.Repaired) != 3 || len(rep.After) != 0 {
		t.Fatalf("found days %v, repaired %+v, left %+v", seen, rep.Repaired, rep.After)
	}
	if rep.Repaired[1].Deleted != 1 {
		t.Errorf("the ghost fact was not deleted: %+v", rep.Repaired)
	}
	if n := factRows(); int64(n) != ledgerRows {
		t.Fatalf("after repair %d fact rows, ledger %d", n, ledgerRows)
	}
}

func mustKeys(t *testing.T, f chstore.Store, d fund.Date) []analytics.FactKey {
	t.Helper()
	ks, err := f.FactKeys(testkit.Ctx(t), d, d)
	if err != nil || len(ks) == 0 {
		t.Fatalf("fact keys of %s: %v (%d)", d, err, len(ks))
	}
	return ks
}
