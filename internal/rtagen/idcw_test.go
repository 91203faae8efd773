package rtagen_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
)

// TestLedgerWithIDCWReconcilesClean: a generated ledger with one IDCW paid
// out and one reinvested. The RTA's feeds (written by gen rta from the
// ledger) carry the reinvestments as the layouts' IDCW-reinvest code (CAMS
// DR, KFintech DIR) with their new units, and no row for a payout (money
// only); folio recon finds no break, and compares every ledger transaction
// that moves units.
func TestLedgerWithIDCWReconcilesClean(t *testing.T) {
	pool := ledger(t, folios(t, 600))
	ctx := testkit.Ctx(t)
	// the two schemes held by most folios, and a date ten days before the
	// as-of on which both have a NAV (the reinvestment's ex-NAV)
	rows, err := pool.Query(ctx, `SELECT scheme_code FROM holding_lots GROUP BY 1 ORDER BY count(DISTINCT folio_no) DESC, 1 LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	var schemes []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		schemes = append(schemes, s)
	}
	if err := rows.Err(); err != nil || len(schemes) != 2 {
		t.Fatalf("schemes %v %v", schemes, err)
	}
	var on time.Time
	if err := pool.QueryRow(ctx, `SELECT max(a.nav_date) FROM navs a JOIN navs b ON b.nav_date = a.nav_date AND b.scheme_code = $2
		WHERE a.scheme_code = $1 AND a.nav_date <= $3`, schemes[0], schemes[1], asOf.AddDays(-10).Time()).Scan(&on); err != nil {
		t.Fatal(err)
	}
	rec := fund.DateOf(on)
	svc := &tax.IDCW{Store: &taxpg.Store{Pool: pool}}
	credited := map[tax.Option]int{}
	for i, opt := range []tax.Option{tax.Payout, tax.Reinvest} {
		dd, _, err := svc.Declare(ctx, ftax.Declaration{Scheme: schemes[i], RecordDate: rec, ExDate: rec, PerUnit: decimal.RequireFromString("0.75")}, opt, "test", fund.HolidayCalendar(fund.NewDate(2026, 1, 26))) // a calendar that covers 2026; the record date has NAVs: a business day
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Run(ctx, dd.ID)
		if err != nil {
			t.Fatal(err)
		}
		credited[opt] = res.Credited
	}
	if credited[tax.Payout] == 0 || credited[tax.Reinvest] == 0 {
		t.Fatalf("credited %v", credited)
	}

	res, err := rtagen.Generate(ctx, pool, rtagen.Options{AsOf: asOf, Out: t.TempDir(), Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rowsStaged := load(t, pool, res.Files)
	r, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if got := found(t, pool); len(got) != 0 || r.Breaks != 0 {
		var s []string
		for _, e := range got {
			s = append(s, key(e))
		}
		t.Fatalf("%d breaks from clean feeds of a ledger with IDCW: %v", len(got), head(s))
	}
	// every reinvestment is at the RTA as an IDCW reinvestment, with the
	// units the ledger allotted; no payout is
	var reinvested, atRTA, payouts int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_transactions WHERE kind = 'idcw_reinvest'),
		(SELECT count(*) FROM rta_txn_rows r JOIN ledger_transactions l ON l.order_id = r.user_ref AND l.units = r.units
			WHERE r.kind = 'idcw_reinvest' AND l.kind = 'idcw_reinvest'),
		(SELECT count(*) FROM rta_txn_rows r JOIN ledger_transactions l ON l.order_id = r.user_ref WHERE l.kind = 'idcw_payout')`).Scan(&reinvested, &atRTA, &payouts); err != nil {
		t.Fatal(err)
	}
	if reinvested != credited[tax.Reinvest] || atRTA != reinvested || payouts != 0 {
		t.Errorf("reinvestments %d (credited %d), at the RTA %d; payouts at the RTA %d", reinvested, credited[tax.Reinvest], atRTA, payouts)
	}
	if int64(rowsStaged) != r.RTAHoldings+r.RTATransactions || r.RTATransactions != r.LedgerTransactions {
		t.Errorf("staged %d rows, compared %+v", rowsStaged, r)
	}
}
