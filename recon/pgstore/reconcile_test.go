package pgstore_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// reconLedger is a small ledger whose unit balances are worked out by hand
// (stamp duty = gross × 5 / 100005 half up; units = (gross − duty) / NAV,
// down to 3 decimals):
//
//	F-1 100001 purchase   2024-01-10 NAV 10     10000.00 → duty 0.50, 999.950 units
//	F-1 100002 purchase   2024-02-01 NAV 50      2000.00 → duty 0.10,  39.998 units
//	F-1 100001 purchase   2024-03-11 NAV 12.5    5000.00 → duty 0.25, 399.980 units
//	F-1 100001 redemption 2024-06-10 NAV 11      500.000 units → 5500.00
//	G-1 100002 purchase   2024-12-31 NAV 55      1000.00 → duty 0.05,  18.180 units
//
// As of 2024-12-31: F-1 holds 899.930 of 100001 and 39.998 of 100002; G-1
// holds 18.180 of 100002. 100001 is a CAMS scheme (A1G), 100002 a KFintech
// one (B2GP).
func reconLedger(t *testing.T, pool *pgxpool.Pool) ledgerfix.Written {
	t.Helper()
	d := ledgerfix.D
	w, err := ledgerfix.Load(testkit.Ctx(t), pool, ledgerfix.Spec{
		Investors: []ledgerfix.Investor{{ID: "INV-1", Name: "A", Folios: []string{"F-1"}}, {ID: "INV-2", Name: "B", Folios: []string{"G-1"}}},
		Schemes: []ledgerfix.Scheme{
			{Code: "100001", Name: "Alpha Flexi Cap", AMC: "Alpha MF", Category: "Equity Scheme - Flexi Cap Fund",
				NAVs: map[fund.Date]string{d(1, 10): "10.0000", d(3, 11): "12.5000", d(6, 10): "11.0000"}},
			{Code: "100002", Name: "Beta Liquid", AMC: "Beta MF", Category: "Debt Scheme - Liquid Fund",
				NAVs: map[fund.Date]string{d(2, 1): "50.0000", d(12, 31): "55.0000"}},
		},
		Txs: []ledgerfix.Tx{
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: d(1, 10), Amount: "10000.00"},
			{Folio: "F-1", Scheme: "100002", Kind: "purchase", Date: d(2, 1), Amount: "2000.00"},
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: d(3, 11), Amount: "5000.00"},
			{Folio: "F-1", Scheme: "100001", Kind: "redemption", Date: d(6, 10), Units: "500.000"},
			{Folio: "G-1", Scheme: "100002", Kind: "purchase", Date: d(12, 31), Amount: "1000.00"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(testkit.Ctx(t), `INSERT INTO rta_schemes (rta, product_code, scheme_code) VALUES
		('CAMS', 'A1G', '100001'), ('KFINTECH', 'B2GP', '100002')`); err != nil {
		t.Fatal(err)
	}
	return w
}

// feed builds RTA lines as the parser would give them, one file per call.
type feed struct {
	file  fund.Origin
	lines []fund.RTALine
}

func newFeed(name string) *feed {
	return &feed{file: fund.Origin{File: name, SHA256: fmt.Sprintf("%x", []byte(name))}}
}

func (f *feed) pos() fund.Origin {
	p := f.file
	p.Line = len(f.lines) + 2 // after the header
	return p
}

func (f *feed) holding(rta, folio, product, units string, asOf fund.Date) *feed {
	u, err := fund.UnitsAsWritten(decimal.RequireFromString(units))
	if err != nil {
		panic(err)
	}
	f.lines = append(f.lines, fund.RTALine{Layout: "test-holdings", From: f.pos(),
		Holding: fund.RTAHolding{RTA: rta, Folio: folio, Product: product, AsOf: asOf, Units: u}})
	return f
}

func (f *feed) txn(rta, folio, product, txnNo, ref string, kind fund.TxKind, navDate fund.Date, units, amount, duty string, reported fund.Date) *feed {
	u, err := fund.UnitsAsWritten(decimal.RequireFromString(units))
	if err != nil {
		panic(err)
	}
	f.lines = append(f.lines, fund.RTALine{Layout: "test-transactions", IsTxn: true, From: f.pos(), Txn: fund.RTATransaction{
		RTA: rta, Folio: folio, Product: product, TxnNo: txnNo, UserRef: ref, TypeCode: "X", Kind: kind, TradeDate: navDate,
		NAVDate: navDate, Units: u, Amount: fund.MustAmount(amount), StampDuty: fund.MustAmount(duty), Reported: reported}})
	return f
}

func (f *feed) load(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	// Two batches, the first written twice (a replay after a crash): rows land once.
	s := postgres.RTASink{Pool: pool}
	half := len(f.lines) / 2
	for _, part := range [][]fund.RTALine{f.lines[:half], f.lines[:half], f.lines[half:]} {
		if err := s.Write(testkit.Ctx(t), pipelines.Batch[fund.RTALine]{Items: part}); err != nil {
			t.Fatal(err)
		}
	}
}

// brk is the part of a break a test states: scope/type/RTA/folio/scheme
// or order, the cause, the status and the unit difference.
type brk struct {
	scope, typ, rta, folio, subject, cause, status, diff string
}

func (b brk) String() string {
	return fmt.Sprintf("%s %s %s %s %s cause=%q status=%s diff=%s", b.scope, b.typ, b.rta, b.folio, b.subject, b.cause, b.status, b.diff)
}

// openBreaks reads the breaks that are not resolved, with the subject a
// test names them by: the scheme (or RTA code) for holdings, our order id
// (or the RTA's transaction number) for transactions.
func readBreaks(t *testing.T, pool *pgxpool.Pool, where string) []brk {
	t.Helper()
	rows, err := pool.Query(testkit.Ctx(t), `SELECT scope, type, rta, folio,
		CASE WHEN scope = 'holding' THEN coalesce(nullif(scheme_code, ''), product_code) ELSE coalesce(nullif(order_id, ''), rta_txn_no) END,
		cause, status, coalesce(units_diff::text, '') FROM recon_breaks WHERE `+where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []brk
	for rows.Next() {
		var b brk
		if err := rows.Scan(&b.scope, &b.typ, &b.rta, &b.folio, &b.subject, &b.cause, &b.status, &b.diff); err != nil {
			t.Fatal(err)
		}
		if b.diff != "" {
			b.diff = decimal.RequireFromString(b.diff).String()
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func sameBreaks(t *testing.T, got, want []brk) {
	t.Helper()
	sort.Slice(want, func(i, j int) bool { return want[i].String() < want[j].String() })
	g, w := make([]string, len(got)), make([]string, len(want))
	for i := range got {
		g[i] = got[i].String()
	}
	for i := range want {
		w[i] = want[i].String()
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Fatalf("breaks:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(w, "\n  "))
	}
}

func TestReconcileFindsEveryKindOfBreak(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	w := reconLedger(t, pool)
	d := ledgerfix.D
	dec31 := d(12, 31)
	ord := func(i int) string { return w.OrderIDs[i] }

	// An order of ours the RTA has already processed, still waiting for its NAV here.
	if _, err := pool.Exec(ctx, `INSERT INTO order_requests (id, kind, body, body_sha256, source, status) VALUES ('ORD-PENDING', 'purchase', '{}', 'x', 'http', 'accepted');
		INSERT INTO orders (id, request_id, kind, investor_id, folio_no, scheme_code, amount, placed_at, status, nav_date)
		VALUES ('ORD-PENDING', 'ORD-PENDING', 'purchase', 'INV-1', 'F-1', '100001', 120.00, '2024-12-31 09:00Z', 'pending_nav', '2024-12-31')`); err != nil {
		t.Fatal(err)
	}
	// The payment of the first purchase says 9999.00 (the RTA and our ledger 10000.00).
	if _, err := pool.Exec(ctx, `UPDATE payments SET amount = 9999.00 WHERE order_id = $1`, ord(0)); err != nil {
		t.Fatal(err)
	}

	newFeed("WBR22_20241231.csv").
		holding(fund.RTACAMS, "F-1", "A1G", "909.930", dec31).     // 899.930 + the 10.000 of the pending order
		holding(fund.RTACAMS, "X-9", "A1G", "5.000", dec31).       // a folio we do not have
		holding(fund.RTACAMS, "F-1", "ZZZ", "1.000", dec31).       // a code not in rta_schemes
		holding(fund.RTACAMS, "F-1", "A1G", "909.930", d(12, 30)). // another date: not compared
		load(t, pool)
	newFeed("MFSD203_20241231.txt").
		holding(fund.RTAKFintech, "F-1", "B2GP", "39.999", dec31). // one step of the third decimal off; G-1 missing
		load(t, pool)
	newFeed("WBR2_20241231.csv").
		txn(fund.RTACAMS, "F-1", "A1G", "C1", ord(0), fund.Purchase, d(1, 10), "999.950", "10000.00", "0.50", dec31).
		txn(fund.RTACAMS, "F-1", "A1G", "C1", ord(0), fund.Purchase, d(1, 10), "999.950", "10000.00", "0.50", dec31). // sent twice
		txn(fund.RTACAMS, "F-1", "A1G", "C3", ord(2), fund.Purchase, d(3, 11), "399.980", "5000.00", "0.26", dec31).  // duty off
		txn(fund.RTACAMS, "F-1", "A1G", "C4", ord(3), fund.Redemption, d(6, 11), "-500.000", "5500.00", "0", dec31).  // next NAV date
		txn(fund.RTACAMS, "F-1", "A1G", "C5", "ORD-PENDING", fund.Purchase, dec31, "10.000", "120.00", "0.01", dec31).
		load(t, pool)
	newFeed("MFSD201_20241231.txt").
		txn(fund.RTAKFintech, "F-1", "B2GP", "K2", "", fund.Purchase, d(2, 1), "39.998", "2000.00", "0.10", dec31). // no reference: matched by content
		load(t, pool)                                                                                               // G-1's purchase of 31 Dec is not there

	res, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: dec31})
	if err != nil {
		t.Fatal(err)
	}
	want := []brk{
		{"holding", "units_mismatch", "CAMS", "F-1", "100001", "pending_nav", "explained", "10"},
		{"holding", "missing_in_ledger", "CAMS", "X-9", "100001", "", "open", "5"},
		{"holding", "missing_in_ledger", "CAMS", "F-1", "ZZZ", "unknown_product", "open", "1"},
		{"holding", "units_mismatch", "KFINTECH", "F-1", "100002", "rounding_step", "open", "0.001"},
		{"holding", "missing_at_rta", "KFINTECH", "G-1", "100002", "after_cutoff", "explained", "-18.18"},
		{"transaction", "duplicate", "CAMS", "F-1", ord(0), "", "open", ""},
		{"transaction", "amount_mismatch", "CAMS", "F-1", ord(0), "", "open", "0"},
		{"transaction", "amount_mismatch", "CAMS", "F-1", ord(2), "stamp_duty", "open", "0"},
		{"transaction", "nav_date_mismatch", "CAMS", "F-1", ord(3), "after_cutoff", "explained", "0"},
		{"transaction", "missing_in_ledger", "CAMS", "F-1", "ORD-PENDING", "pending_nav", "explained", "10"},
		{"transaction", "missing_at_rta", "KFINTECH", "G-1", ord(4), "after_cutoff", "explained", "-18.18"},
	}
	sameBreaks(t, readBreaks(t, pool, `status <> 'resolved'`), want)
	if res.NewBreaks != int64(len(want)) || res.Breaks != int64(len(want)) || res.Resolved != 0 ||
		res.RTAHoldings != 4 || res.LedgerHoldings != 3 || res.RTATransactions != 6 || res.LedgerTransactions != 5 ||
		strings.Join(res.HoldingsRTAs, ",") != "CAMS,KFINTECH" || strings.Join(res.TransactionsRTAs, ",") != "CAMS,KFINTECH" {
		t.Fatalf("result %+v", res)
	}
	// Every break carries both sides' positions: the RTA's file and line, our ledger transaction.
	var missingPos int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM recon_breaks WHERE
		(type <> 'missing_at_rta' AND (rta_file = '' OR rta_line IS NULL)) OR
		(type IN ('missing_at_rta', 'units_mismatch', 'amount_mismatch', 'nav_date_mismatch') AND ledger_tx_id IS NULL)`).Scan(&missingPos); err != nil {
		t.Fatal(err)
	}
	if missingPos != 0 {
		t.Fatalf("%d breaks without their positions", missingPos)
	}
	var file string
	var line int
	if err := pool.QueryRow(ctx, `SELECT rta_file, rta_line FROM recon_breaks WHERE type = 'duplicate'`).Scan(&file, &line); err != nil || file != "WBR2_20241231.csv" || line != 2 {
		t.Fatalf("duplicate at %s:%d (%v), want the first copy at WBR2_20241231.csv:2", file, line, err)
	}
}

func TestReconcileCleanFeedsHaveNoBreaks(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	w := reconLedger(t, pool)
	d := ledgerfix.D
	dec31 := d(12, 31)
	newFeed("h-cams").holding(fund.RTACAMS, "F-1", "A1G", "899.930", dec31).load(t, pool)
	newFeed("h-kfin").holding(fund.RTAKFintech, "F-1", "B2GP", "39.998", dec31).holding(fund.RTAKFintech, "G-1", "B2GP", "18.18", dec31).load(t, pool)
	newFeed("t-cams").
		txn(fund.RTACAMS, "F-1", "A1G", "C1", w.OrderIDs[0], fund.Purchase, d(1, 10), "999.950", "10000.00", "0.50", dec31).
		txn(fund.RTACAMS, "F-1", "A1G", "C3", w.OrderIDs[2], fund.Purchase, d(3, 11), "399.980", "5000.00", "0.25", dec31).
		txn(fund.RTACAMS, "F-1", "A1G", "C4", w.OrderIDs[3], fund.Redemption, d(6, 10), "-500.000", "5500.00", "0", dec31).
		load(t, pool)
	newFeed("t-kfin").
		txn(fund.RTAKFintech, "F-1", "B2GP", "K2", w.OrderIDs[1], fund.SIP, d(2, 1), "39.998", "2000.00", "0.10", dec31).
		txn(fund.RTAKFintech, "G-1", "B2GP", "K5", w.OrderIDs[4], fund.Purchase, dec31, "18.180", "1000.00", "0.05", dec31).
		load(t, pool)
	res, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: dec31})
	if err != nil {
		t.Fatal(err)
	}
	if got := readBreaks(t, pool, "true"); len(got) != 0 || res.Breaks != 0 {
		t.Fatalf("clean feeds gave breaks: %v", got)
	}
	// Before the last allotment (window and as-of date move together): G-1 held nothing yet.
	if _, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: d(12, 30)}); !errors.Is(err, recon.ErrBehind) {
		t.Fatalf("reconciling an earlier date: %v, want ErrBehind", err)
	}
	if _, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: d(12, 31).AddDays(5)}); !errors.Is(err, recon.ErrNoFeeds) {
		t.Fatalf("a date without feeds: %v, want ErrNoFeeds", err)
	}
}

// TestBreakLifecycle: day 1 finds breaks; day 2 sees one again (it keeps its
// first_seen), one gone (resolved on day 2), one new; a KFintech break is
// left alone on a day KFintech sent nothing; day 3 brings back the
// resolved one (reopened, first seen again on day 3).
func TestBreakLifecycle(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	reconLedger(t, pool)
	day1, day2, day3 := ledgerfix.D(12, 31), fund.NewDate(2025, 1, 1), fund.NewDate(2025, 1, 2)

	newFeed("c1").holding(fund.RTACAMS, "F-1", "A1G", "899.931", day1). // rounding step
										holding(fund.RTACAMS, "X-9", "A1G", "5", day1).load(t, pool) // extra folio
	newFeed("k1").holding(fund.RTAKFintech, "F-1", "B2GP", "39.998", day1).load(t, pool) // G-1 missing
	run := func(day fund.Date) recon.Result {
		t.Helper()
		res, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: day})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	r1 := run(day1)
	if r1.NewBreaks != 3 || r1.Breaks != 3 {
		t.Fatalf("day 1: %+v", r1)
	}
	// Running the same day again changes nothing.
	if r := run(day1); r.NewBreaks != 3 || r.Resolved != 0 || r.Breaks != 3 {
		t.Fatalf("day 1 again: %+v", r)
	}

	// A person explains the rounding difference: it stays explained while seen again.
	var id int64
	if err := pool.QueryRow(ctx, `SELECT id FROM recon_breaks WHERE folio = 'F-1' AND scheme_code = '100001'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.New(pool).ExplainBreak(ctx, id, "ops@example.com", "RTA rounds half up; ticket 42"); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.New(pool).ExplainBreak(ctx, id+1000, "x", "y"); err == nil {
		t.Fatal("explaining a break that does not exist succeeded")
	}
	newFeed("c2").holding(fund.RTACAMS, "F-1", "A1G", "899.931", day2). // still off
										holding(fund.RTACAMS, "F-1", "ZZZ", "2", day2).load(t, pool) // new; X-9 gone; no KFintech file today
	r2 := run(day2)
	if r2.NewBreaks != 1 || r2.Resolved != 1 || r2.Breaks != 2 || strings.Join(r2.HoldingsRTAs, ",") != "CAMS" {
		t.Fatalf("day 2: %+v", r2)
	}
	type life struct {
		subject, status  string
		first, last, res string
	}
	lives := func() map[string]life {
		rows, err := pool.Query(ctx, `SELECT folio || '/' || coalesce(nullif(scheme_code, ''), product_code), status,
			first_seen::text, last_seen::text, coalesce(resolved_on::text, '') FROM recon_breaks`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]life{}
		for rows.Next() {
			var l life
			if err := rows.Scan(&l.subject, &l.status, &l.first, &l.last, &l.res); err != nil {
				t.Fatal(err)
			}
			m[l.subject] = l
		}
		return m
	}
	got := lives()
	want := map[string]life{
		"F-1/100001": {"F-1/100001", "explained", "2024-12-31", "2025-01-01", ""},
		"X-9/100001": {"X-9/100001", "resolved", "2024-12-31", "2024-12-31", "2025-01-01"},
		"G-1/100002": {"G-1/100002", "open", "2024-12-31", "2024-12-31", ""}, // KFintech not compared on day 2
		"F-1/ZZZ":    {"F-1/ZZZ", "open", "2025-01-01", "2025-01-01", ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("day 2 lifecycle:\n got %v\nwant %v", got, want)
	}
	var age int
	if err := pool.QueryRow(ctx, `SELECT $1::date - first_seen FROM recon_breaks WHERE folio = 'F-1' AND scheme_code = '100001'`, day2.Time()).Scan(&age); err != nil || age != 1 {
		t.Fatalf("age on day 2: %d %v", age, err)
	}

	newFeed("c3").holding(fund.RTACAMS, "F-1", "A1G", "899.930", day3). // fixed
										holding(fund.RTACAMS, "X-9", "A1G", "5", day3).load(t, pool) // back again
	newFeed("k3").holding(fund.RTAKFintech, "F-1", "B2GP", "39.998", day3).holding(fund.RTAKFintech, "G-1", "B2GP", "18.180", day3).load(t, pool)
	r3 := run(day3)
	if r3.NewBreaks != 1 || r3.Resolved != 3 || r3.Breaks != 1 {
		t.Fatalf("day 3: %+v", r3)
	}
	got = lives()
	want["F-1/100001"] = life{"F-1/100001", "resolved", "2024-12-31", "2025-01-01", "2025-01-02"}
	want["X-9/100001"] = life{"X-9/100001", "open", "2025-01-02", "2025-01-02", ""}
	want["G-1/100002"] = life{"G-1/100002", "resolved", "2024-12-31", "2024-12-31", "2025-01-02"}
	want["F-1/ZZZ"] = life{"F-1/ZZZ", "resolved", "2025-01-01", "2025-01-01", "2025-01-02"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("day 3 lifecycle:\n got %v\nwant %v", got, want)
	}
}
