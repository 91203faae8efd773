package wallet_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// A fee charged from units: W1's ₹20,000.00 auto-invested on 20 Aug (A
// 799.960, B 699.965, C 499.975 units at 10.0000, one lot each, all of 20
// Aug), ₹500.00 of cash deposited after; terms 10 % a year from units.
// August on ₹20,000.00: 20000 × 31 × 10 / 36500 = 169.863… → 169.86; GST
// 30.5748 → 30.57; total 200.43. The cash is not touched: FIFO over the
// lots (one date: A first) redeems ₹200.43 of A through the ledger on 21
// Aug at 10.0000 = 20.043 units (no exit load in these schemes), whose
// payout comes into the wallet (500.00 + 200.43 = 700.43) and pays the
// invoice (700.43 − 200.43 = 500.00); A keeps 799.960 − 20.043 = 779.917.
func TestFeeChargedByRedeemingUnitsFIFO(t *testing.T) {
	e, f, _ := feeUnitsEnv(t, "20000")
	l := f.Ledger
	res, err := f.BillAll(e.ctx, fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false, 10)
	if err != nil || res.Billed != 1 || res.Due != 1 || res.Total.String() != "200.43" {
		t.Fatalf("bill %+v %v", res, err)
	}
	// Not from the cash, before or after the redemption is placed.
	if n, err := f.ChargeDue(e.ctx, 10); err != nil || n != 0 || e.balance("W1") != "500.00" {
		t.Fatalf("charged %d from cash (%v), W1 %s", n, err, e.balance("W1"))
	}
	for i, want := range []int{1, 0} {
		if n, err := f.RedeemDue(e.ctx, 10); err != nil || n != want {
			t.Fatalf("redeem %d: %d %v, want %d", i, n, err, want)
		}
	}
	if got := e.db.Str(`SELECT string_agg(scheme_code || ' ' || amount || ' ' || status, ',') FROM fee_redemptions`); got != "A 200.43 placed" {
		t.Errorf("fee redemptions %s, want A 200.43 placed", got)
	}
	if n, err := f.ChargeDue(e.ctx, 10); err != nil || n != 0 {
		t.Fatalf("charged %d before the payout (%v)", n, err)
	}
	if _, err := l.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT units::numeric(24,3) || ' ' || amount || ' ' || exit_load || ' ' || net_amount FROM ledger_transactions WHERE kind = 'redemption'`); got != "20.043 200.43 0.00 200.43" {
		t.Errorf("redemption %s, want 20.043 units, 200.43, no load, 200.43 paid", got)
	}
	for i, want := range []int{1, 0} {
		if n, err := f.SweepFeeRedemptions(e.ctx, 10); err != nil || n != want {
			t.Fatalf("sweep %d: %d %v, want %d", i, n, err, want)
		}
	}
	if got := e.balance("W1"); got != "700.43" {
		t.Errorf("W1 %s after the payout, want 700.43", got)
	}
	for i, want := range []int{1, 0} {
		if n, err := f.ChargeDue(e.ctx, 10); err != nil || n != want {
			t.Fatalf("charge %d: %d %v, want %d", i, n, err, want)
		}
	}
	if got := e.balance("W1"); got != "500.00" {
		t.Errorf("W1 %s, want 500.00", got)
	}
	if got := e.db.Str(`SELECT units::numeric(24,3)::text FROM holdings WHERE folio_no = 'F1' AND scheme_code = 'A'`); got != "779.917" {
		t.Errorf("A %s units, want 779.917", got)
	}
	if got := e.db.Str(`SELECT status FROM fee_invoices`); got != "charged" {
		t.Errorf("invoice %s", got)
	}
	e.checkJournal(e.db.Read)
}
