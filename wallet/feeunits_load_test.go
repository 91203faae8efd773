package wallet_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// feeLoadEnv: W1's ₹20,000.00 auto-invested on 20 Aug (A 799.960, B
// 699.965, C 499.975 units at 10.0000, one lot each of 20 Aug), ₹500.00
// of cash deposited after, scheme A with an exit load of 1 % under 365
// days (B and C none), terms 10 % a year from units, and August billed on
// an AUM of aum, on 21 Aug.
func feeLoadEnv(t *testing.T, aum string) (*env, *wallet.Fees, *wallet.Service) {
	return feeUnitsEnv(t, aum, `INSERT INTO scheme_loads (scheme_code, valid_from, days_below, rate_pct) VALUES ('A', '2020-01-01', 365, 1.0000)`)
}

// feeUnitsEnv is that set-up with setup run first in place of the exit
// load (none: no scheme has a load).
func feeUnitsEnv(t *testing.T, aum string, setup ...string) (*env, *wallet.Fees, *wallet.Service) {
	e, ai := autoEnv(t)
	for _, q := range setup {
		e.db.Exec(q)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 2000000)
	e.credit()
	if _, err := ai.Invest(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-21', 10, 't', 't', 1), ('B', '2026-08-21', 10, 't', 't', 1), ('C', '2026-08-21', 10, 't', 't', 1)`)
	e.pay("e2", "pay_2", "wallet:W1", "captured", 50000) // ₹500.00, not invested
	e.credit()
	now := func() time.Time { return nextDay }
	l := *e.ledger
	l.Now = now
	w := *e.wallet
	w.Now = now
	f := &wallet.Fees{Wallet: &w, Store: pgstore.Store{Pool: e.db.Read}, Ledger: &l, MaxSkew: time.Hour}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 8, 1), AUMRatePct: pct("10"), ChargeFrom: wallet.ChargeFromUnits}); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) VALUES ('W1', '2026-08-01', 0, $1::numeric, $1::numeric)`, aum)
	return e, f, &w
}

// settleFee runs the units path to its end, each step twice (the second
// does nothing): redeem, allot, sweep the payouts, charge.
func settleFee(t *testing.T, e *env, f *wallet.Fees) {
	t.Helper()
	for i, want := range []int{-1, 0} {
		if n, err := f.RedeemDue(e.ctx, 10); err != nil || (want == 0 && n != 0) || (want < 0 && n == 0) {
			t.Fatalf("redeem %d: %d %v", i, n, err)
		}
	}
	l := *f.Ledger
	if _, err := l.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := f.SweepFeeRedemptions(e.ctx, 10); err != nil {
			t.Fatalf("sweep %d: %v", i, err)
		}
	}
	for i, want := range []int{1, 0} {
		if n, err := f.ChargeDue(e.ctx, 10); err != nil || n != want {
			t.Fatalf("charge %d: %d %v, want %d", i, n, err, want)
		}
	}
}

// Part of a lot with an exit load. August on ₹20,000.00 is 169.86 + GST
// 30.57 = 200.43 (as in TestFeeChargedByRedeemingUnitsFIFO). A redemption
// of ₹200.43 of A pays out 200.43 and redeems the units that also cover
// the 1 % load on them, at 10.0000:
//
//	20.043 units: load 2.0043 → 2.00; (200.43 + 2.00)/10 → 20.243
//	20.243 units: load 2.0243 → 2.02; (200.43 + 2.02)/10 → 20.245
//	20.245 units: load 2.0245 → 2.02; 20.245 covers 202.45: done.
//
// So 20.245 units worth 202.45, load 2.02 to scheme A, 200.43 into the
// wallet (500.00 + 200.43 = 700.43), the invoice paid from it (500.00);
// A keeps 799.960 − 20.245 = 779.715.
func TestFeeByUnitsWithExitLoad(t *testing.T) {
	e, f, _ := feeLoadEnv(t, "20000")
	res, err := f.BillAll(e.ctx, fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false, 10)
	if err != nil || res.Billed != 1 || res.Total.String() != "200.43" {
		t.Fatalf("bill %+v %v", res, err)
	}
	settleFee(t, e, f)
	if got := e.db.Str(`SELECT units::numeric(24,3) || ' ' || amount || ' ' || exit_load || ' ' || net_amount FROM ledger_transactions WHERE kind = 'redemption'`); got != "20.245 202.45 2.02 200.43" {
		t.Errorf("redemption %s, want 20.245 units, 202.45, load 2.02, 200.43 paid", got)
	}
	if got := e.balance("W1"); got != "500.00" {
		t.Errorf("W1 %s, want 500.00", got)
	}
	if got := e.db.Str(`SELECT units::numeric(24,3)::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = 'A'`); got != "779.715" {
		t.Errorf("A %s units, want 779.715", got)
	}
	if got := e.db.Str(`SELECT status FROM fee_invoices`); got != "charged" {
		t.Errorf("invoice %s", got)
	}
	e.checkJournal(e.db.Read)
}

// A fee larger than the first scheme: all of A's lot is planned and the
// load on it cannot be covered by more of A. August on ₹1,000,000.00:
// 1000000 × 31 × 10 / 36500 = 8493.150… → 8493.15; GST 1528.767 →
// 1528.77; total 10,021.92. FIFO (one date: A, then B): all of A, worth
// 7,999.60, then 10021.92 − 7999.60 = 2,022.32 of B. A is redeemed whole:
// 799.960 units worth 7,999.60, load 1 % = 79.996 → 80.00, paid out
// 7,919.60; B (no load) 2,022.32 = 202.232 units. The wallet gets 7,919.60
// + 2,022.32 = 9,941.92, so 500.00 + 9,941.92 = 10,441.92, and pays the
// invoice: 10,441.92 − 10,021.92 = 420.00 (the load, 80.00, from cash).
func TestFeeByUnitsWithExitLoadWholeScheme(t *testing.T) {
	e, f, _ := feeLoadEnv(t, "1000000")
	res, err := f.BillAll(e.ctx, fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false, 10)
	if err != nil || res.Billed != 1 || res.Total.String() != "10021.92" {
		t.Fatalf("bill %+v %v", res, err)
	}
	settleFee(t, e, f)
	if got := e.db.Str(`SELECT string_agg(scheme_code || ' ' || units::numeric(24,3) || ' ' || amount || ' ' || exit_load || ' ' || net_amount, ',' ORDER BY scheme_code)
		FROM ledger_transactions WHERE kind = 'redemption'`); got != "A 799.960 7999.60 80.00 7919.60,B 202.232 2022.32 0.00 2022.32" {
		t.Errorf("redemptions %s", got)
	}
	if got := e.db.Str(`SELECT coalesce(string_agg(reason, ','), '') FROM orders WHERE status = 'rejected'`); got != "" {
		t.Errorf("rejected %s", got)
	}
	if got := e.balance("W1"); got != "420.00" {
		t.Errorf("W1 %s, want 420.00", got)
	}
	if got := e.db.Str(`SELECT status FROM fee_invoices`); got != "charged" {
		t.Errorf("invoice %s", got)
	}
	e.checkJournal(e.db.Read)
}
