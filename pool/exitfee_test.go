package pool_test

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/wallet"
)

// The performance fee on exit, by hand. Pool PE: 20 % of the gain above
// the mark, no AUM fee. W1 and W2 put 1,000.00 each in at the launch NAV
// 10.0000 on 20 Aug: 200 units, cash 2,000.00; the folio then holds 10
// units of S1.
//   - 30 Sep, S1 40.0000: NAV (400.00 + 2,000.00) / 200 = 12.0000. W1
//     takes 50 units out: 50 × 12.0000 = 600.00. Their gain above the
//     launch mark: 600.00 − 50 × 10.0000 = 100.00; 20 % = 20.00, GST 3.60,
//     total 23.60; W1 gets 576.40; the pool's cash 2,000.00 − 600.00 =
//     1,400.00. The mark stays 10.0000 (no row written).
//   - The year's crystallisation at 30 Sep's NAV over the 150 units left:
//     (12.0000 − 10.0000) × 150 = 300.00, 20 % = 60.00, GST 10.80, total
//     70.80; cash 1,329.20; mark 12.0000. The fees together, 80.00, are 20
//     % of the 2.0000 gained by each of the 200 units: no unit paid twice.
//   - Thu 1 Oct, S1 40.0000: NAV (400.00 + 1,329.20) / 150 = 11.5280,
//     below the mark: W2's 10 units leave with 115.28, no fee.
func TestPoolPerformanceFeeOnExit(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"}, [2]string{"W2", "INV-2"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PE', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PE", Name: "exit", Launch: fund.MustNAV("10.0000"), Folio: "F-PE"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PE", From: day("2026-08-20"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PE", "W1", "c-W1", "1000.00")
	e.contribute("PE", "W2", "c-W2", "1000.00")
	e.nav("PE", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PE', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-09-30", "40.0000")
	e.db.NAV("S1", "2026-10-01", "40.0000")

	e.clock = moneytest.IST("2026-09-30T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PE", "W1", "w-W1", fund.MustUnits("50.000", 3)); err != nil {
		t.Fatal(err)
	}
	if r := e.nav("PE", "2026-09-30"); r.NAV.String() != "12.0000" || r.Withdrawals != 1 {
		t.Fatalf("30 Sep: NAV %s, %d withdrawals", r.NAV, r.Withdrawals)
	}
	for q, want := range map[string]string{
		`SELECT invoice_id || ' ' || gross || ' ' || hwm_nav || ' ' || perf_fee || ' ' || gst || ' ' || total FROM pool_exit_fees`: "PFEE-PE-EXIT-w-W1 600.00 10.0000 20.00 3.60 23.60",
		`SELECT amount || ' ' || status FROM pool_requests WHERE id = 'w-W1'`:                                                      "600.00 priced",
		`SELECT cash || ' ' || units FROM pools WHERE id = 'PE'`:                                                                   "1400.00 150.000",
		`SELECT count(*)::text FROM pool_fee_hwm`:                                                                                  "0",
		`SELECT (-sum(amount))::numeric(18,2) || ' ' || (SELECT (-sum(amount))::numeric(18,2) FROM wallet_postings WHERE account = 'tax:gst')
			FROM wallet_postings WHERE account = 'fee_income:managed'`: "20.00 3.60",
		`SELECT count(*) || ' ' || min(payload->>'total') FROM outbox WHERE topic = 'fee.charged'`: "1 23.60",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	if got := e.balance("W1"); got != "576.40" {
		t.Errorf("W1's wallet %s, want 576.40", got)
	}
	if r := e.nav("PE", "2026-09-30"); r.Fresh { // the same NAV again: nothing charged again
		t.Error("30 Sep computed twice")
	}
	// The exit fee is in the pool view's fees charged (23.60) and on an
	// invoice of its own, CSV and PDF by the invoice writer: the member's
	// withdrawal, the performance fee 20.00, GST 3.60, total 23.60, no
	// management fee line.
	e.checkFeesCharged("W2", "23.60")
	inv, found, err := e.pools.Invoice(e.ctx, "PFEE-PE-EXIT-w-W1")
	if err != nil || !found {
		t.Fatalf("exit fee invoice: found %v, %v", found, err)
	}
	var csv strings.Builder
	if err := wallet.WriteInvoiceCSV(&csv, inv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"invoice_id,pool_id,wallet_id,period_from,period_to,status\nPFEE-PE-EXIT-w-W1,PE,W1,2026-09-30,2026-09-30,charged\n",
		"Performance fee on exit: withdrawal w-W1 of 50.000 units at NAV 12.0000 (600.00), high-water mark 10.0000",
		"\nFee,20.00\n", "GST at 18%,3.60\n", "Total,23.60\n"} {
		if !strings.Contains(csv.String(), want) {
			t.Errorf("exit fee invoice CSV has no %q:\n%s", want, csv.String())
		}
	}
	if strings.Contains(csv.String(), "Management fee") {
		t.Errorf("exit fee invoice CSV has a management fee line:\n%s", csv.String())
	}

	inv, _, err = e.pools.BillFees(e.ctx, "PE", day("2026-08-20"), day("2026-09-30"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.PerfFee.String() + " " + inv.GST.String() + " " + inv.Total.String(); got != "60.00 10.80 70.80" {
		t.Errorf("the year's crystallisation %s, want 60.00 10.80 70.80", got)
	}
	if got := e.db.Str(`SELECT p.cash || ' ' || h.hwm_nav FROM pools p JOIN pool_fee_hwm h ON h.pool_id = p.id`); got != "1329.20 12.0000" {
		t.Errorf("after the year's bill %s, want 1329.20 12.0000", got)
	}
	e.checkFeesCharged("W2", "94.40") // 23.60 on exit + the year's 70.80

	e.clock = moneytest.IST("2026-10-01T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PE", "W2", "w-W2", fund.MustUnits("10.000", 3)); err != nil {
		t.Fatal(err)
	}
	if r := e.nav("PE", "2026-10-01"); r.NAV.String() != "11.5280" {
		t.Fatalf("1 Oct: NAV %s, want 11.5280", r.NAV)
	}
	if got := e.db.Str(`SELECT count(*) || ' ' || (SELECT amount FROM pool_requests WHERE id = 'w-W2') FROM pool_exit_fees`); got != "1 115.28" {
		t.Errorf("below the mark: exit fees and W2's payout %s, want 1 115.28", got)
	}
	if got := e.balance("W2"); got != "115.28" {
		t.Errorf("W2's wallet %s, want 115.28", got)
	}
}

// The exit fee's mark is the year's mark (review r35 H1), by hand. Pool
// PM launches at 10.0000 with no fee terms; W1 and W2 put 1,000.00 each
// in on Thu 20 Aug: 200 units, cash 2,000.00; the folio then holds 10
// units of S1.
//   - Fri 21 Aug, S1 50.0000: NAV (500.00 + 2,000.00) / 200 = 12.5000.
//   - Terms from Mon 24 Aug: 20 % performance, no AUM fee. The mark
//     starts at the last NAV before them, 12.5000 (21 Aug), not the
//     launch's 10.0000.
//   - Mon 31 Aug, S1 55.0000: NAV (550.00 + 2,000.00) / 200 = 12.7500.
//     W1 takes 50 units out: gross 50 × 12.7500 = 637.50; gain above the
//     mark (12.7500 − 12.5000) × 50 = 12.50, 20 % = 2.50, GST 0.45, total
//     2.95; W1 gets 634.55. (The old exit fee counted from the launch:
//     137.50 → 27.50 + 4.95 = 32.45.)
//   - The bill 20..31 Aug crystallising over the 150 units left: (12.7500
//     − 12.5000) × 150 = 37.50 → 7.50 + GST 1.35 = 8.85. Together 10.00 =
//     20 % of 0.25 × 200: the exit and the year use one mark.
func TestPoolExitFeeUsesTheYearsMark(t *testing.T) {
	e := newEnv(t)
	e.fund(100000, [2]string{"W1", "INV-1"}, [2]string{"W2", "INV-2"})
	e.db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-PM', 'INV-P')`)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PM", Name: "mark", Launch: fund.MustNAV("10.0000"), Folio: "F-PM"}); err != nil {
		t.Fatal(err)
	}
	e.contribute("PM", "W1", "c-W1", "1000.00")
	e.contribute("PM", "W2", "c-W2", "1000.00")
	e.nav("PM", "2026-08-20")
	e.db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-PM', 'S1', 10.000)`)
	e.db.NAV("S1", "2026-08-21", "50.0000")
	e.db.NAV("S1", "2026-08-31", "55.0000")
	if r := e.nav("PM", "2026-08-21"); r.NAV.String() != "12.5000" {
		t.Fatalf("21 Aug: NAV %s, want 12.5000", r.NAV)
	}
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PM", From: day("2026-08-24"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.clock = moneytest.IST("2026-08-31T10:00:00+05:30")
	if _, err := e.pools.Withdraw(e.ctx, "PM", "W1", "w-W1", fund.MustUnits("50.000", 3)); err != nil {
		t.Fatal(err)
	}
	if r := e.nav("PM", "2026-08-31"); r.NAV.String() != "12.7500" || r.Withdrawals != 1 {
		t.Fatalf("31 Aug: NAV %s, %d withdrawals", r.NAV, r.Withdrawals)
	}
	if got := e.db.Str(`SELECT gross || ' ' || hwm_nav || ' ' || perf_fee || ' ' || gst || ' ' || total FROM pool_exit_fees`); got != "637.50 12.5000 2.50 0.45 2.95" {
		t.Errorf("W1's exit fee %s, want 637.50 12.5000 2.50 0.45 2.95", got)
	}
	if got := e.balance("W1"); got != "634.55" {
		t.Errorf("W1's wallet %s, want 634.55", got)
	}
	inv, _, err := e.pools.BillFees(e.ctx, "PM", day("2026-08-24"), day("2026-08-31"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.PerfFee.String() + " " + inv.GST.String() + " " + inv.Total.String(); got != "7.50 1.35 8.85" {
		t.Errorf("the year's crystallisation %s, want 7.50 1.35 8.85", got)
	}
}

// checkFeesCharged: the wallet's pool view shows the pool's fees charged.
func (e *env) checkFeesCharged(walletID, want string) {
	e.t.Helper()
	vs, err := e.pools.Members(e.ctx, walletID)
	if err != nil || len(vs) != 1 || vs[0].FeesCharged == nil {
		e.t.Fatalf("%s's pools %+v, %v", walletID, vs, err)
	}
	if got := vs[0].FeesCharged.String(); got != want {
		e.t.Errorf("pool view fees charged %s, want %s", got, want)
	}
}
