package ledgergen

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

func digest(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(testkit.Ctx(t), `SELECT md5(string_agg(concat_ws(',', order_id, kind, folio_no, scheme_code, nav_date, nav, units, amount, stamp_duty), ';' ORDER BY order_id))
		FROM ledger_transactions`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGenerateKeepsTheLedgerInvariants: a generated ledger passes every
// invariant (balanced postings, holdings = lots = folio accounts = the signed
// sum of allotments, consumptions, orders and payments, allotment arithmetic),
// has the shape asked for, and the same seed gives the same ledger.
func TestGenerateKeepsTheLedgerInvariants(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	opt := Options{Folios: 400, Seed: 7, End: fund.NewDate(2026, 8, 21), Days: 200, Log: testkit.Logger(t)}
	st, err := Generate(ctx, pool, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var folios, holdings, txns, maxDate, minDate int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM folios), (SELECT count(*) FROM holdings), (SELECT count(*) FROM ledger_transactions),
		(SELECT max(nav_date) - DATE '2026-08-21' FROM ledger_transactions), (SELECT DATE '2026-08-21' - min(nav_date) FROM ledger_transactions)`).
		Scan(&folios, &holdings, &txns, &maxDate, &minDate); err != nil {
		t.Fatal(err)
	}
	// 1..3 schemes a folio (avg 2), 1..9 transactions a holding (avg 5): wide bounds that still catch a wrong shape.
	if folios != 400 || st.Folios != 400 || holdings < 600 || holdings > 1000 || txns < 4*holdings || txns > 6*holdings ||
		st.Transactions != txns || st.Holdings != holdings || maxDate > 0 || minDate > 200 {
		t.Fatalf("shape: folios %d holdings %d transactions %d (stats %+v), dates %d..%d", folios, holdings, txns, st, minDate, maxDate)
	}
	// Each scheme's NAVs name its own file, the one nav_latest names.
	var schemes, navs, wrong int64
	if err := pool.QueryRow(ctx, `SELECT count(DISTINCT l.scheme_code), count(*), count(*) FILTER (WHERE n.source_file IS DISTINCT FROM l.source_file
		OR n.source_sha256 IS DISTINCT FROM l.source_sha256) FROM nav_lineage n JOIN nav_latest l USING (scheme_code)`).Scan(&schemes, &navs, &wrong); err != nil {
		t.Fatal(err)
	}
	if schemes != st.Schemes || navs != st.NAVs || wrong != 0 {
		t.Fatalf("%d NAVs of %d schemes name a file other than their scheme's (NAVs %d, schemes %d; generated %d, %d)",
			wrong, schemes, navs, schemes, st.NAVs, st.Schemes)
	}
	first := digest(t, pool)

	pool2, _ := testkit.PG(t)
	if _, err := Generate(ctx, pool2, opt); err != nil {
		t.Fatal(err)
	}
	if d := digest(t, pool2); d != first {
		t.Fatalf("same seed, different ledger: %s vs %s", d, first)
	}

	// The check is not vacuous: an unbalanced posting is caught.
	if _, err := pool2.Exec(ctx, `UPDATE ledger_postings SET amount = amount + 0.01 WHERE (tx_id, seq) = (SELECT min(tx_id), 0 FROM ledger_postings)`); err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, pool2); err == nil || !strings.Contains(err.Error(), "balances") {
		t.Fatalf("Check after breaking a posting: %v", err)
	}
	// Nor are the whole-table joins (run with nested loops off): a lot that
	// lost a thousandth of a unit is caught against its holding.
	if _, err := pool2.Exec(ctx, `UPDATE ledger_postings SET amount = amount - 0.01 WHERE (tx_id, seq) = (SELECT min(tx_id), 0 FROM ledger_postings)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool2.Exec(ctx, `UPDATE holding_lots SET units_remaining = units_remaining - 0.001 WHERE id = (SELECT min(id) FROM holding_lots WHERE units_remaining > 0.001)`); err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, pool2); err == nil || !strings.Contains(err.Error(), "holdings = the open lots") {
		t.Fatalf("Check after shrinking a lot: %v", err)
	}
}

// Generated scheme names read like AMFI's: the AMC's short name and the
// category's own words, whole. Issue 16: the category was cut at the length
// of "Equity Scheme - ", so debt schemes were named "Ekam rporate Bond Fund 36".
func TestSchemeNamesKeepTheCategoryWhole(t *testing.T) {
	want := map[string]string{ // category -> the words its schemes' names carry, written out by hand
		"Equity Scheme - Flexi Cap Fund":     "Flexi Cap Fund",
		"Equity Scheme - Large Cap Fund":     "Large Cap Fund",
		"Debt Scheme - Corporate Bond Fund":  "Corporate Bond Fund",
		"Hybrid Scheme - Balanced Advantage": "Balanced Advantage",
		"Other Scheme - Index Funds":         "Index Funds",
		"Equity Scheme - ELSS":               "ELSS",
	}
	seen := map[string]bool{}
	for _, s := range Schemes(Options{Schemes: 60, AMCs: 12, Seed: 7}) {
		words, ok := want[s.Category]
		if !ok {
			t.Fatalf("scheme %s: unexpected category %q", s.Code, s.Category)
		}
		short := strings.TrimSuffix(s.AMC, " Mutual Fund")
		if !strings.HasPrefix(s.Name, short+" "+words+" ") || !strings.HasSuffix(s.Name, " - Direct Plan - Growth") {
			t.Errorf("scheme %s (%s, %s): name %q", s.Code, s.AMC, s.Category, s.Name)
		}
		seen[s.Category] = true
	}
	if len(seen) != len(want) {
		t.Errorf("60 schemes covered %d of the %d categories", len(seen), len(want))
	}
}

// Every invariant run with nested loops off is one that exists: a renamed
// invariant would otherwise fall back to the quadratic plan unnoticed.
func TestHashJoinedNamesAreInvariants(t *testing.T) {
	names := map[string]bool{}
	for _, inv := range append(append([]struct{ name, sql string }{}, invariants...), serviceInvariants...) {
		names[inv.name] = true
	}
	for n := range hashJoined {
		if !names[n] {
			t.Errorf("hashJoined names %q, which is no invariant", n)
		}
	}
}

// LotsOnly (the capital-gains benchmark's setup) writes the same
// transactions, lots and consumptions as the full ledger from the same
// options, so gains computed on it are the full ledger's; it writes no
// order, payment, posting or holding row.
func TestLotsOnlyIsTheFullLedgersLots(t *testing.T) {
	ctx := testkit.Ctx(t)
	opt := Options{Folios: 150, Seed: 9, End: fund.NewDate(2026, 3, 31), Days: 400, Log: testkit.Logger(t)}
	lots := func(pool *pgxpool.Pool) string {
		var s string
		if err := pool.QueryRow(ctx, `SELECT md5((SELECT string_agg(concat_ws(',', id, folio_no, scheme_code, ledger_tx_id, nav_date, units, units_remaining, cost), ';' ORDER BY id) FROM holding_lots)
			|| (SELECT string_agg(concat_ws(',', ledger_tx_id, lot_id, units), ';' ORDER BY ledger_tx_id, lot_id) FROM lot_consumptions)
			|| (SELECT string_agg(concat_ws(',', id, payment_id), ';' ORDER BY id) FROM ledger_transactions))`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	full, _ := testkit.PG(t)
	if _, err := Generate(ctx, full, opt); err != nil {
		t.Fatal(err)
	}
	only, _ := testkit.PG(t)
	opt.LotsOnly = true
	st, err := Generate(ctx, only, opt)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := digest(t, full)+lots(full), digest(t, only)+lots(only); a != b {
		t.Errorf("LotsOnly wrote other transactions or lots: %s vs %s", b, a)
	}
	var other int64
	if err := only.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_requests) + (SELECT count(*) FROM payments)
		+ (SELECT count(*) FROM ledger_postings) + (SELECT count(*) FROM holdings)`).Scan(&other); err != nil {
		t.Fatal(err)
	}
	if other != 0 || st.Transactions == 0 || st.Lots == 0 || st.Consumptions == 0 || st.Postings != 0 {
		t.Errorf("LotsOnly: %d other rows, stats %+v", other, st)
	}
}
