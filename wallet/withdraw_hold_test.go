package wallet_test

import (
	"errors"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// A restriction that blocks redemptions parks a withdrawal (its money out
// of the balance, held, status pending), it is released to the bank once
// the restriction lifts, or cancelled with the money back in the wallet;
// each once. One that blocks only purchases lets a withdrawal go at once.
func TestWithdrawalParkedByARestriction(t *testing.T) {
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
	held := func() string {
		return e.db.Str(`SELECT coalesce(-sum(amount), 0)::numeric(18,2)::text FROM wallet_postings WHERE account = 'withdrawal_held:wallet:W1'`)
	}
	set(true)
	out, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("400.00"))
	if err != nil || out.Status != wallet.WithdrawalPending || out.HeldBy != ledger.HoldFraud {
		t.Fatalf("under a fraud restriction: %+v %v", out, err)
	}
	// Parked: 1000.00 − 400.00 = 600.00 spendable, 400.00 held.
	if got := e.balance("W1"); got != "600.00" || held() != "400.00" {
		t.Errorf("W1 %s, held %s; want 600.00 and 400.00", got, held())
	}
	// A second parked request; the balance covers 300.00 of the 600.00.
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r2", fund.MustAmount("300.00")); err != nil {
		t.Fatal(err)
	}
	// Above what is left (300.00): refused, not parked.
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "r3", fund.MustAmount("300.01")); !errors.Is(err, wallet.ErrInsufficient) {
		t.Errorf("above the balance while parked: %v", err)
	}
	// Still restricted: nothing released.
	if n, err := e.wallet.ReleaseWithdrawals(e.ctx, 10); err != nil || n != 0 {
		t.Fatalf("released %d under the restriction: %v", n, err)
	}
	// Another wallet's request, or none: not found, nothing moves.
	for _, c := range [][2]string{{"W2", "r2"}, {"W1", "nope"}} {
		if _, err := e.wallet.CancelWithdrawal(e.ctx, c[0], c[1]); !errors.Is(err, wallet.ErrNoWithdrawal) {
			t.Errorf("cancel %s of %s: %v", c[1], c[0], err)
		}
	}
	// r2 cancelled: 300.00 back, 300.00 + 300.00 = 600.00; again, the same
	// answer and nothing moves.
	c, err := e.wallet.CancelWithdrawal(e.ctx, "W1", "r2")
	if err != nil || c.Status != wallet.WithdrawalCancelled || c.Balance.String() != "600.00" {
		t.Fatalf("cancel r2: %+v %v", c, err)
	}
	if c, err := e.wallet.CancelWithdrawal(e.ctx, "W1", "r2"); err != nil || c.Status != wallet.WithdrawalCancelled || e.balance("W1") != "600.00" {
		t.Errorf("cancel twice: %+v %v, W1 %s", c, err, e.balance("W1"))
	}
	// Lifted: r1 goes to the bank, once; the balance does not move again.
	if _, err := e.ledger.LiftRestriction(e.ctx, "INV-1", ledger.HoldFraud, "ops"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0} {
		if n, err := e.wallet.ReleaseWithdrawals(e.ctx, 10); err != nil || n != want {
			t.Fatalf("release %d: %d, %v; want %d", i, n, err, want)
		}
	}
	if got := e.balance("W1"); got != "600.00" || held() != "0.00" {
		t.Errorf("W1 %s, held %s after release; want 600.00 and 0.00", got, held())
	}
	if got := e.db.Str(`SELECT (-sum(amount))::numeric(18,2)::text FROM wallet_postings WHERE account = 'payout:wallet:W1'`); got != "400.00" {
		t.Errorf("paid to the bank %s, want 400.00", got)
	}
	// The same request again: its state now, nothing moves.
	again, err := e.wallet.Withdraw(e.ctx, "W1", "r1", fund.MustAmount("400.00"))
	if err != nil || again.Status != wallet.WithdrawalPaid || e.balance("W1") != "600.00" {
		t.Errorf("r1 again %+v %v", again, err)
	}
	if _, err := e.wallet.CancelWithdrawal(e.ctx, "W1", "r1"); !errors.Is(err, wallet.ErrNotPending) {
		t.Errorf("cancel a paid withdrawal: %v", err)
	}
	// Purchases only: a withdrawal goes at once. 600.00 − 100.00 = 500.00.
	set(false)
	if out, err := e.wallet.Withdraw(e.ctx, "W1", "r4", fund.MustAmount("100.00")); err != nil || out.Status != wallet.WithdrawalPaid {
		t.Fatalf("purchases-only restriction: %+v %v", out, err)
	}
	if got := e.balance("W1"); got != "500.00" {
		t.Errorf("W1 %s, want 500.00", got)
	}
	if got := e.db.Str(`SELECT string_agg(topic, ',' ORDER BY id) FROM outbox WHERE topic LIKE 'wallet.withdr%'`); got != "wallet.withdrawal.parked,wallet.withdrawal.parked,wallet.withdrawal.cancelled,wallet.withdrawn,wallet.withdrawn" {
		t.Errorf("events %s", got)
	}
	e.checkJournal(e.db.Read)
}
