package wallet_test

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// A fraud restriction that blocks redemptions holds withdrawals; one that
// blocks only purchases does not; lifted, the same request goes through.
func TestWithdrawalHeldByARestriction(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000) // ₹1,000.00
	e.credit()
	set := func(redemption bool) {
		t.Helper()
		if err := e.ledger.SetRestriction(e.ctx, ledger.Restriction{InvestorID: "INV-1", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview,
			BlocksPurchase: !redemption, BlocksRedemption: redemption, By: "fraud-rules"}); err != nil {
			t.Fatal(err)
		}
	}
	set(true)
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("400.00")); !errors.Is(err, wallet.ErrHeld) {
		t.Fatalf("under a fraud restriction: %v", err)
	}
	if got := e.balance("W1"); got != "1000.00" {
		t.Errorf("W1 %s after a held withdrawal, want 1000.00", got)
	}
	set(false) // purchases only: withdrawals go
	if _, err := e.ledger.LiftRestriction(e.ctx, "INV-1", ledger.HoldFraud, "ops"); err != nil {
		t.Fatal(err)
	}
	set(false)
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("400.00")); err != nil {
		t.Fatalf("purchases-only restriction: %v", err)
	}
	if got := e.balance("W1"); got != "600.00" {
		t.Errorf("W1 %s, want 1000.00 − 400.00 = 600.00", got)
	}
}
