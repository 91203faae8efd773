package wallet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// hookedExits is the real exit store with a hook run after each of the
// exit's transactions commits: what other jobs do between them.
type hookedExits struct {
	wallet.ExitStore
	n     int
	after func(n int)
}

func (h *hookedExits) InExitTx(ctx context.Context, fn func(wallet.ExitTx) error) error {
	err := h.ExitStore.InExitTx(ctx, fn)
	h.n++
	if err == nil && h.after != nil {
		h.after(h.n)
	}
	return err
}

// From the exit's first transaction the wallet is closing: a ₹5,000.00
// deposit arriving then is a wallet_closed break, the ₹1,000.00 already in
// the wallet is not auto-invested, a withdrawal is refused, and the exit
// pays out exactly the ₹1,000.00 under exit:<request> and closes (review
// r34 H1; on the old code the deposit was credited and invested and the
// close failed or left purchases in flight).
func TestExitClosingShutsTheWallet(t *testing.T) {
	e, ai := autoEnv(t)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000) // ₹1,000.00, not invested yet
	e.credit()
	st := pgstore.Store{Pool: e.db.Read}
	var withdrawErr error
	h := &hookedExits{ExitStore: st, after: func(n int) {
		if n != 1 {
			return
		}
		e.pay("e2", "pay_2", "wallet:W1", "captured", 500000)
		e.credit()
		if _, err := ai.Invest(e.ctx, 10); err != nil {
			t.Errorf("invest during the exit: %v", err)
		}
		_, withdrawErr = e.wallet.Withdraw(e.ctx, "W1", "WD-1", fund.MustAmount("100.00"))
	}}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: h, CrystalliseMonth: time.March}
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", clock)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(withdrawErr, wallet.ErrClosed) {
		t.Errorf("withdrawal while closing: %v, want ErrClosed", withdrawErr)
	}
	if out.Withdrawn == nil || out.Withdrawn.RequestID != "exit:EXIT-1" || out.Withdrawn.Amount.String() != "1000.00" || out.Withdrawn.Status != wallet.WithdrawalPaid {
		t.Fatalf("payout %+v", out.Withdrawn)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "closed 0.00" {
		t.Errorf("wallet %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(payment_id || ' ' || reason, ',') FROM payment_breaks`); got != "pay_2 wallet_closed" {
		t.Errorf("breaks %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM orders WHERE folio_no = 'F1'`); n != 0 {
		t.Errorf("%d orders placed for the exiting wallet", n)
	}
	if got := e.db.Str(`SELECT string_agg(kind || ' ' || ref || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind <> 'deposit'`); got != "withdrawal exit:EXIT-1 1000.00" {
		t.Errorf("entries %s", got)
	}
}

// The exit's payout parked by a fraud restriction can be released but
// never cancelled back into the closed wallet (H2): 1,000.00 held.
func TestExitPayoutParkedIsNeverCancelledBack(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000)
	e.credit()
	if err := e.ledger.SetRestriction(e.ctx, ledger.Restriction{InvestorID: "INV-1", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview,
		BlocksRedemption: true, By: "fraud-rules"}); err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", clock)
	if err != nil || out.Withdrawn == nil || out.Withdrawn.Status != wallet.WithdrawalPending {
		t.Fatalf("exit %+v %v", out, err)
	}
	if _, err := e.wallet.CancelWithdrawal(e.ctx, "W1", "exit:EXIT-1"); !errors.Is(err, wallet.ErrClosed) {
		t.Errorf("cancel the closed wallet's payout: %v, want ErrClosed", err)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || d.status || ' ' || d.amount FROM wallets w JOIN wallet_withdrawals d ON d.wallet_id = w.id`); got != "closed 0.00 pending 1000.00" {
		t.Errorf("wallet and payout %s", got)
	}
}

// Money still on its way back refuses the exit (an auto-invest purchase
// cancelled after payment, not swept: on the old code the exit closed
// and the sweep then paid ₹3,000.00 into the closed wallet). A wallet
// closed anyway (before this fix) that is swept into passes the money on
// to the bank: 10,000.01 = A 4,000.00 + B 3,000.00 + 3,000.01 left; B
// cancelled; the 3,000.01 withdrawn; the sweep's 3,000.00 paid out under
// closed:refund:AI-pay_1-B, the balance 0.00.
func TestExitWaitsForMoneyOnItsWayBack(t *testing.T) {
	e, ai := autoEnv(t)
	e.db.Exec(`DELETE FROM navs WHERE scheme_code = 'B'`)
	e.pay("e1", "pay_1", "wallet:W1", "captured", 1000001)
	e.credit()
	if _, err := ai.Invest(e.ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ledger.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	in, ok, err := fund.IntakeOf([]byte(`{"order_id":"X-B","type":"cancel","target_order_id":"AI-pay_1-B","placed_at":"`+
		clock.UTC().Format(time.RFC3339)+`"}`), fund.Receipt{Source: "test", At: clock, MaxSkew: time.Hour})
	if !ok {
		t.Fatal(err)
	}
	if p, err := e.ledger.PlaceOrders(e.ctx, []fund.OrderIntake{in}); err != nil || len(p) != 1 || p[0].Outcome != "accepted" {
		t.Fatalf("cancel: %+v %v", p, err)
	}
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", clock); !errors.Is(err, wallet.ErrExitInFlight) {
		t.Fatalf("exit with a purchase not swept: %v, want ErrExitInFlight", err)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "open 3000.01" {
		t.Fatalf("after the refusal %s", got)
	}
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "WD-1", fund.MustAmount("3000.01")); err != nil {
		t.Fatal(err)
	}
	e.db.Exec(`UPDATE wallets SET status = 'closed' WHERE id = 'W1'`)
	if n, err := ai.SweepEnded(e.ctx, 10); err != nil || n != 1 {
		t.Fatalf("swept %d %v", n, err)
	}
	if got := e.db.Str(`SELECT balance::text FROM wallets WHERE id = 'W1'`); got != "0.00" {
		t.Errorf("balance %s", got)
	}
	if got := e.db.Str(`SELECT request_id || ' ' || amount || ' ' || status FROM wallet_withdrawals WHERE request_id LIKE 'closed:%'`); got != "closed:refund:AI-pay_1-B 3000.00 paid" {
		t.Errorf("passed on %s", got)
	}
}

// The exit's valuation includes the flows of its own day (H4): the daily
// run valued W1 on 21 Aug with its ₹1,000.00 cash (22,598.92, as in
// TestExitCrystallisesOnceBeforeThePayout); the investor then withdrew
// ₹500.00 and exits the same day. By hand: 21 Aug valued again
// 22,598.92 − 500.00 = 22,098.92; flows 21,000.00 − 500.00 = 20,500.00;
// gain 1,598.92 × 20 % = 319.784 → 319.78 (the old code kept 22,598.92:
// gain 2,098.92, fee 419.78 on the investor's own money); AUM
// (20,999.00 + 22,098.92) / 36,500 = 1.1807… → 1.18; fee 320.96, GST
// 57.7728 → 57.77, total 378.73; 500.00 − 378.73 = 121.27 paid out.
func TestExitValuesAfterTheDaysFlows(t *testing.T) {
	e, f, st := exitEnv(t, false)
	if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 21)); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT aum::text FROM fee_valuations WHERE wallet_id = 'W1' AND day = '2026-08-21'`); got != "22598.92" {
		t.Fatalf("21 Aug's daily valuation %s", got)
	}
	if _, err := e.wallet.Withdraw(e.ctx, "W1", "WD-1", fund.MustAmount("500.00")); err != nil {
		t.Fatal(err)
	}
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Invoices) != 1 || out.Invoices[0].AUMFee.String() != "1.18" || out.Invoices[0].PerfFee.String() != "319.78" ||
		out.Invoices[0].GST.String() != "57.77" || out.Invoices[0].Total.String() != "378.73" {
		t.Fatalf("invoices %+v", out.Invoices)
	}
	if out.Withdrawn == nil || out.Withdrawn.Amount.String() != "121.27" {
		t.Fatalf("payout %+v", out.Withdrawn)
	}
	if got := e.db.Str(`SELECT aum::text FROM fee_valuations WHERE wallet_id = 'W1' AND day = '2026-08-21'`); got != "22098.92" {
		t.Errorf("21 Aug's valuation %s", got)
	}
	if got := e.db.Str(`SELECT hwm_gain::text FROM fee_hwm WHERE wallet_id = 'W1'`); got != "1598.92" {
		t.Errorf("high-water mark %s", got)
	}
}

// An exit refused for want of cash and retried the next quarter finishes
// (H3, M2): 21 Aug refused, its invoice 20–21 Aug (378.67, by hand in
// TestExitRefusedUntilTheCashCoversTheFees) left due and the wallet open;
// ₹1,000.00 deposited; on 2 Oct the same request bills from the day after
// that invoice: 22 Aug–30 Sep and 1–2 Oct, and pays all three oldest first.
// By hand (AUM Σ rounded down, GST half up):
//   - 22 Aug–30 Sep: 40 days carried at 21,598.92: 863,956.80 / 36,500
//     = 23.6700… → 23.67, GST 4.2606 → 4.26, total 27.93; no
//     crystallisation (a September quarter end, crystallising in March).
//   - 2 Oct valued: 1,000.00 + 21,598.92 (the NAVs of 30 Aug) = 22,598.92;
//     1 Oct carried 21,598.92: 44,197.84 / 36,500 = 1.2108… → 1.21, GST
//     0.2178 → 0.22, total 1.43; gain 22,598.92 − 21,000.00 = 1,598.92,
//     not above the mark 1,598.92: no performance fee.
//   - paid 378.67 + 27.93 + 1.43 = 408.03; 1,000.00 − 408.03 = 591.97 out.
//
// The old code billed 20 Aug–30 Sep, found the 20–21 Aug invoice and
// failed on every retry.
func TestExitRetriedNextQuarterFinishes(t *testing.T) {
	e, _, x := refusedExitEnv(t)
	e.pay("e2", "pay_2", "wallet:W1", "captured", 100000)
	e.credit()
	oct2 := time.Date(2026, 10, 2, 12, 0, 0, 0, fund.IST())
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", oct2)
	if err != nil {
		t.Fatal(err)
	}
	if out.Day != fund.NewDate(2026, 10, 2) || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "591.97" {
		t.Fatalf("exit %+v", out)
	}
	if got := e.db.Str(`SELECT string_agg(period_from || '..' || period_to || ' ' || aum_fee || ' ' || perf_fee || ' ' || gst || ' ' || total || ' ' || status, ', ' ORDER BY period_from) FROM fee_invoices`); got !=
		"2026-08-20..2026-08-21 1.13 319.78 57.76 378.67 charged, 2026-08-22..2026-09-30 23.67 0.00 4.26 27.93 charged, 2026-10-01..2026-10-02 1.21 0.00 0.22 1.43 charged" {
		t.Errorf("invoices %s", got)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "closed 0.00" {
		t.Errorf("wallet %s", got)
	}
	// The same request again, later still: done.
	if again, err := x.Exit(e.ctx, "W1", "EXIT-1", oct2.AddDate(0, 0, 3)); err != nil || again.Status != "already_exited" || again.Day != out.Day {
		t.Errorf("again %+v %v", again, err)
	}
}

// A fee charged from units whose redemption the ledger allotted but whose
// payout is not in the wallet yet is in flight (M1): the exit waits, and
// after the sweep pays that invoice once, from the payout now in the
// cash. TestFeeChargedByRedeemingUnitsFIFO's August invoice of 200.43; the
// exit on 31 Aug (billed to that day already): 500.00 + 200.43 − 200.43 =
// 500.00 paid out, one fee entry. The old code paid the invoice from the
// 500.00 at once (299.57 out) and the payout then came to a closed wallet.
func TestExitWaitsForAFeeRedemptionsPayout(t *testing.T) {
	e, f, _ := feeUnitsEnv(t, "20000")
	if _, err := f.BillAll(e.ctx, fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := f.RedeemDue(e.ctx, 10); err != nil || n != 1 {
		t.Fatalf("redeem %d %v", n, err)
	}
	if _, err := f.Ledger.AllotPending(e.ctx, 100); err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	aug31 := time.Date(2026, 8, 31, 18, 0, 0, 0, fund.IST())
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", aug31); !errors.Is(err, wallet.ErrExitInFlight) {
		t.Fatalf("exit before the payout is swept: %v, want ErrExitInFlight", err)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || i.status FROM wallets w JOIN fee_invoices i ON i.wallet_id = w.id`); got != "open 500.00 due" {
		t.Fatalf("after the refusal %s", got)
	}
	if n, err := f.SweepFeeRedemptions(e.ctx, 10); err != nil || n != 1 {
		t.Fatalf("sweep %d %v", n, err)
	}
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", aug31)
	if err != nil || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "500.00" {
		t.Fatalf("exit %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT string_agg(kind || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind IN ('fee', 'withdrawal')`); got != "fee 200.43,withdrawal 500.00" {
		t.Errorf("entries %s", got)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || i.status FROM wallets w JOIN fee_invoices i ON i.wallet_id = w.id`); got != "closed 0.00 charged" {
		t.Errorf("after the exit %s", got)
	}
}

// The exit is refused while a SIP plan pays into the wallet or the wallet
// holds pool units (M5, H2): their money would keep arriving at a closed
// wallet. Each refusal leaves the wallet open and nothing billed or paid.
func TestExitRefusedWhilePlansOrPoolsPayIn(t *testing.T) {
	e, _, _ := rebalanceEnv(t)
	e.db.Exec(`INSERT INTO mandates (id, gateway, investor_id, status, max_amount) VALUES ('token_1', 'razorpay', 'INV-1', 'confirmed', 100000)`)
	e.db.Exec(`INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, mandate_id, frequency, start_date, status, wallet_id)
		VALUES ('SIP-1', 'SIP-1', 'x', 'sip', 'INV-1', 'F1', '', 'token_1', 'monthly', '2026-08-01', 'active', 'W1')`)
	e.db.Exec(`INSERT INTO pools (id, name, launch_nav, units) VALUES ('PL-1', 'pool', 10, 5)`)
	e.db.Exec(`INSERT INTO pool_members (pool_id, wallet_id, units) VALUES ('PL-1', 'W1', 5)`)
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	for _, step := range []string{`UPDATE plans SET status = 'cancelled' WHERE id = 'SIP-1'`, `UPDATE pool_members SET units = 0`} {
		if _, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay); !errors.Is(err, wallet.ErrExitBlocked) {
			t.Fatalf("before %q: %v, want ErrExitBlocked", step, err)
		}
		if got := e.db.Str(`SELECT status FROM wallets WHERE id = 'W1'`); got != "open" {
			t.Fatalf("wallet %s after a refusal", got)
		}
		e.db.Exec(step)
	}
	if out, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay); err != nil || out.Withdrawn != nil {
		t.Fatalf("exit %+v %v (no cash to pay out)", out, err)
	}
	if got := e.db.Str(`SELECT status FROM wallets WHERE id = 'W1'`); got != "closed" {
		t.Errorf("wallet %s", got)
	}
}
