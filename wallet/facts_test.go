package wallet_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// Wallet flows and fees reach ClickHouse once: a ₹1,00,000.00 deposit, a
// month's fee (126.07 = 106.84 + GST 19.23, as in
// TestFeeBillMidPeriodRateChange's arithmetic), a withdrawal of 400.00
// parked by a restriction and cancelled, one of 100.00 paid; a second pass
// copies nothing; the rows sum by kind.
func TestWalletFactsToClickHouse(t *testing.T) {
	e, f := feesEnv(t)
	for _, ft := range []wallet.FeeTerms{
		{WalletID: "W1", From: fund.NewDate(2026, 7, 1), AUMRatePct: pct("1")},
		{WalletID: "W1", From: fund.NewDate(2026, 8, 16), AUMRatePct: pct("1.5")},
	} {
		if err := f.SetTerms(e.ctx, ft); err != nil {
			t.Fatal(err)
		}
	}
	e.db.Exec(`INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum) VALUES ('W1', '2026-08-01', 100000, 0, 100000)`)
	if inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false); err != nil || inv.Total.String() != "126.07" {
		t.Fatalf("bill %+v %v", inv, err)
	}
	if err := e.ledger.SetRestriction(e.ctx, ledger.Restriction{InvestorID: "INV-1", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview,
		BlocksRedemption: true, By: "fraud-rules"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("400.00")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallet.CancelWithdrawal(e.ctx, "W1", "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.LiftRestriction(e.ctx, "INV-1", ledger.HoldFraud, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r2", fund.MustAmount("100.00")); err != nil {
		t.Fatal(err)
	}
	ch, _ := testkit.CH(t)
	st := pgstore.Store{Pool: e.db.Read}
	for i, want := range []int{5, 0} {
		if n, err := st.FactsPass(e.ctx, ch, 100); err != nil || n != want {
			t.Fatalf("pass %d: %d %v, want %d", i, n, err, want)
		}
	}
	rows, err := ch.Query(e.ctx, `SELECT kind, toString(sum(amount)), toString(sum(fee)), toString(sum(gst)), count() FROM wallet_facts FINAL GROUP BY kind ORDER BY kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var kind, amt, fee, gst string
		var n uint64
		if err := rows.Scan(&kind, &amt, &fee, &gst, &n); err != nil {
			t.Fatal(err)
		}
		got = append(got, kind+" "+amt+" "+fee+" "+gst)
	}
	// Balances along the way: 100000.00, −126.07 = 99873.93, −400.00
	// parked = 99473.93, +400.00 = 99873.93, −100.00 = 99773.93.
	want := []string{"cancelled 400.00 0.00 0.00", "deposited 100000.00 0.00 0.00", "fee 126.07 106.84 19.23", "parked 400.00 0.00 0.00", "withdrawn 100.00 0.00 0.00"}
	if len(got) != len(want) {
		t.Fatalf("facts %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("facts %v, want %v", got, want)
			break
		}
	}
	if got := e.balance("W1"); got != "99773.93" {
		t.Errorf("W1 %s, want 99773.93", got)
	}
}
