package wallet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// exitEnv is TestExitCrystallisesOnceBeforeThePayout's set-up: W1's
// ₹20,000.00 invested on 20 Aug plus ₹1,000.00 of cash, fee terms from 20
// Aug (1 % AUM, 20 % performance); valued on 20 Aug unless noValuation.
// Exiting on 21 Aug bills 1.19 + 319.78 + GST 57.77 = 378.74 and pays
// 621.26 out (by hand in that test).
func exitEnv(t *testing.T, noValuation bool) (*env, *wallet.Fees, pgstore.Store) {
	return termsExitEnv(t, 100000, !noValuation)
}

// termsExitEnv is rebalanceEnv's W1 (₹20,000.00 invested on 20 Aug) with
// paise more cash deposited (0: none), fee terms from 20 Aug (1 % AUM, 20 %
// performance), valued on 20 Aug if value.
func termsExitEnv(t *testing.T, paise int64, value bool) (*env, *wallet.Fees, pgstore.Store) {
	t.Helper()
	e, rb, _ := rebalanceEnv(t)
	st := pgstore.Store{Pool: e.db.Read}
	if paise > 0 {
		e.pay("e2", "pay_2", "wallet:W1", "captured", paise)
		e.credit()
	}
	f := &wallet.Fees{Wallet: rb.Wallet, Store: st}
	if err := f.SetTerms(e.ctx, wallet.FeeTerms{WalletID: "W1", From: fund.NewDate(2026, 8, 20), AUMRatePct: pct("1"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	if value {
		if _, err := f.Value(e.ctx, fund.NewDate(2026, 8, 20)); err != nil {
			t.Fatal(err)
		}
	}
	return e, f, st
}

// refusedExitEnv is termsExitEnv with no cash and EXIT-1 on 21 Aug refused
// for want of it: 20–21 Aug billed 378.67 (by hand in
// TestExitRefusedUntilTheCashCoversTheFees) and left due, W1 open.
func refusedExitEnv(t *testing.T) (*env, *wallet.Fees, *wallet.Exits) {
	t.Helper()
	e, f, st := termsExitEnv(t, 0, true)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay); !errors.Is(err, wallet.ErrExitFeeUnpaid) {
		t.Fatalf("no cash: %v, want ErrExitFeeUnpaid", err)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || i.total || ' ' || i.status FROM wallets w JOIN fee_invoices i ON i.wallet_id = w.id`); got != "open 378.67 due" {
		t.Fatalf("after the refusal: %s", got)
	}
	return e, f, x
}

// wantReopened: the wallet open with the balance, no exit row, n
// exit_reopened audit rows.
func wantReopened(t *testing.T, e *env, balance string, n int) {
	t.Helper()
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "open "+balance {
		t.Errorf("wallet %s, want open %s", got, balance)
	}
	if k := e.db.Num(`SELECT count(*) FROM wallet_exits`); k != 0 {
		t.Errorf("%d exit rows left", k)
	}
	if k := e.db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'wallet' AND action = 'exit_reopened'`); k != n {
		t.Errorf("%d exit_reopened audit rows, want %d", k, n)
	}
}

// A billing error in the exit's second step reopens the wallet (review
// r34-2 H1): no valuation on or before 20 Aug, the terms' first day ("no
// AUM valuation": the 21 Aug one is the exit's own). The old code left
// W1 closing for ever: its deposits breaks, its withdrawals refused, and
// the daily valuation (open wallets only) could not backfill the day.
// Open again, 20 Aug is valued (20,999.00) and the same request
// finishes: 378.74 billed, 621.26 paid out.
func TestExitReopensWhenBillingFails(t *testing.T) {
	e, f, st := exitEnv(t, true)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	_, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if err == nil || !strings.Contains(err.Error(), "no AUM valuation") || !strings.Contains(err.Error(), "open again") {
		t.Fatalf("exit without a valuation to carry: %v", err)
	}
	wantReopened(t, e, "1000.00", 1)
	if n, err := f.Value(e.ctx, fund.NewDate(2026, 8, 20)); err != nil || n != 1 {
		t.Fatalf("backfill 20 Aug: %d %v", n, err)
	}
	if got := e.db.Str(`SELECT aum::text FROM fee_valuations WHERE wallet_id = 'W1' AND day = '2026-08-20'`); got != "20999.00" {
		t.Fatalf("20 Aug valuation %s", got)
	}
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if err != nil || len(out.Invoices) != 1 || out.Invoices[0].Total.String() != "378.74" || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "621.26" {
		t.Fatalf("exit after the backfill: %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "closed 0.00" {
		t.Errorf("wallet %s", got)
	}
}

// Something in flight at the exit's second check (an order of the folio
// waiting for its NAV, set between the steps) reopens the wallet (the old
// code left it closing); its invoice of 378.74 was billed and paid from
// the cash in the second step (1,000.00 − 378.74 = 621.26 left). Once the
// order lands, another request pays the 621.26 out, billing nothing new.
func TestExitReopensOnTheSecondInFlightCheck(t *testing.T) {
	e, f, st := exitEnv(t, false)
	h := &hookedExits{ExitStore: st, after: func(n int) {
		if n == 1 {
			e.db.Exec(`UPDATE orders SET status = 'pending_nav' WHERE id = (SELECT min(id) FROM orders WHERE folio_no = 'F1')`)
		}
	}}
	x := &wallet.Exits{Fees: f, Store: h, CrystalliseMonth: time.March}
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay); !errors.Is(err, wallet.ErrExitInFlight) {
		t.Fatalf("exit with an order in flight at the second check: %v, want ErrExitInFlight", err)
	}
	e.db.Exec(`UPDATE orders SET status = 'allotted' WHERE status = 'pending_nav'`)
	wantReopened(t, e, "621.26", 1)
	if got := e.db.Str(`SELECT total || ' ' || status FROM fee_invoices`); got != "378.74 charged" {
		t.Fatalf("invoice %s", got)
	}
	x.Store = st
	out, err := x.Exit(e.ctx, "W1", "EXIT-2", nextDay)
	if err != nil || len(out.Invoices) != 0 || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "621.26" {
		t.Fatalf("exit once it landed: %+v %v", out, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_invoices`); n != 1 {
		t.Errorf("%d invoices", n)
	}
}

// A payout that fails (here a trigger refusing the exit's withdrawal row)
// rolls the last step back and reopens the wallet with its ₹1,000.00;
// the old code left it closing. Without the trigger the same request
// pays the 1,000.00 out.
func TestExitReopensWhenThePayoutFails(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000)
	e.credit()
	e.db.Exec(`CREATE FUNCTION refuse_exit_payout() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'payout refused by the test'; END $$`)
	e.db.Exec(`CREATE TRIGGER refuse_exit_payout BEFORE INSERT ON wallet_withdrawals FOR EACH ROW EXECUTE FUNCTION refuse_exit_payout()`)
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", clock); err == nil || !strings.Contains(err.Error(), "payout refused by the test") {
		t.Fatalf("exit with the payout refused: %v", err)
	}
	wantReopened(t, e, "1000.00", 1)
	e.db.Exec(`DROP TRIGGER refuse_exit_payout ON wallet_withdrawals`)
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", clock)
	if err != nil || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "1000.00" {
		t.Fatalf("exit %+v %v", out, err)
	}
}

// An exit stopped between its steps (a crash: its context gone) is left
// closing; Resume finishes it once it is older than staleAfter, on its
// recorded day: 378.74 billed, 621.26 paid out, one invoice, one
// fee.charged. While it is closing the daily valuation still values W1
// (the old code valued open wallets only). Stopped after its start and
// then refused on resume (an order in flight), it is reopened instead,
// with the 621.26 left after the invoice its second step billed and paid.
func TestExitLeftClosingIsResumed(t *testing.T) {
	for _, c := range []struct {
		step     string
		inFlight bool
	}{{"started", false}, {"billed", false}, {"started", true}} {
		t.Run(c.step, func(t *testing.T) {
			e, f, st := exitEnv(t, false)
			x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
			ctx, cancel := context.WithCancel(e.ctx)
			x.SetCrash(func(step string) error {
				if step == c.step {
					cancel()
					return ctx.Err()
				}
				return nil
			})
			if _, err := x.Exit(ctx, "W1", "EXIT-1", nextDay); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed exit: %v", err)
			}
			if got := e.db.Str(`SELECT status FROM wallets WHERE id = 'W1'`); got != "closing" {
				t.Fatalf("after the crash: %s", got)
			}
			if n, err := f.Value(e.ctx, fund.NewDate(2026, 8, 24)); err != nil || n != 1 {
				t.Errorf("valued %d closing wallets on 24 Aug: %v", n, err)
			}
			x.SetCrash(nil)
			if c.inFlight {
				e.db.Exec(`UPDATE orders SET status = 'pending_nav' WHERE id = (SELECT min(id) FROM orders WHERE folio_no = 'F1')`)
			}
			if st, err := x.Resume(e.ctx, nextDay.Add(29*time.Minute), 30*time.Minute, 10); err != nil || st != (wallet.ResumeStats{}) {
				t.Fatalf("resume at 29 minutes: %+v %v", st, err)
			}
			rs, err := x.Resume(e.ctx, nextDay.Add(31*time.Minute), 30*time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			if c.inFlight {
				if rs != (wallet.ResumeStats{Reopened: 1}) {
					t.Fatalf("resume %+v", rs)
				}
				e.db.Exec(`UPDATE orders SET status = 'allotted' WHERE status = 'pending_nav'`)
				wantReopened(t, e, "621.26", 1)
				if got := e.db.Str(`SELECT total || ' ' || status FROM fee_invoices`); got != "378.74 charged" {
					t.Errorf("invoice %s", got)
				}
				return
			}
			if rs != (wallet.ResumeStats{Finished: 1}) {
				t.Fatalf("resume %+v", rs)
			}
			if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || x.day FROM wallets w JOIN wallet_exits x ON x.wallet_id = w.id`); got != "closed 0.00 2026-08-21" {
				t.Errorf("wallet %s", got)
			}
			if got := e.db.Str(`SELECT string_agg(kind || ' ' || ref || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind IN ('fee', 'withdrawal')`); got != "fee FEE-W1-2026-08-20-2026-08-21 378.74,withdrawal exit:EXIT-1 621.26" {
				t.Errorf("entries %s", got)
			}
			if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.charged'`); n != 1 {
				t.Errorf("%d fee.charged events", n)
			}
			if st, err := x.Resume(e.ctx, nextDay.Add(2*time.Hour), 30*time.Minute, 10); err != nil || st != (wallet.ResumeStats{}) {
				t.Errorf("resume again: %+v %v", st, err)
			}
		})
	}
}

// A fee charged from units is not sold while the wallet is closing: its
// exit pays it from the cash (review r34-2 H1: the old RedeemDue placed
// the sale, and the exit then waited on it for ever). feeUnitsEnv's
// August invoice 200.43 due (by hand in TestFeeChargedByRedeemingUnitsFIFO);
// the exit on 31 Aug stopped after its start: RedeemDue places nothing;
// resumed, the exit pays 200.43 from the ₹500.00 and 299.57 out.
func TestFeeUnitsNotSoldUnderAnExit(t *testing.T) {
	e, f, _ := feeUnitsEnv(t, "20000")
	if _, err := f.BillAll(e.ctx, fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 31), false, 10); err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	ctx, cancel := context.WithCancel(e.ctx)
	x.SetCrash(func(string) error { cancel(); return ctx.Err() })
	aug31 := time.Date(2026, 8, 31, 18, 0, 0, 0, fund.IST())
	if _, err := x.Exit(ctx, "W1", "EXIT-1", aug31); !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed exit: %v", err)
	}
	if n, err := f.RedeemDue(e.ctx, 10); err != nil || n != 0 {
		t.Fatalf("redeemed %d under a closing wallet: %v", n, err)
	}
	x.SetCrash(nil)
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", aug31)
	if err != nil || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "299.57" {
		t.Fatalf("exit %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT string_agg(kind || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind IN ('fee', 'withdrawal')`); got != "fee 200.43,withdrawal 299.57" {
		t.Errorf("entries %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_redemptions`); n != 0 {
		t.Errorf("%d fee redemptions", n)
	}
}

// An operator cancels an exit left closing after its second step: the
// wallet open again with the 621.26 its bill left (378.74 charged); the
// same command again, or on a finished exit, is refused.
func TestExitCancelledByAnOperator(t *testing.T) {
	e, f, st := exitEnv(t, false)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	ctx, cancel := context.WithCancel(e.ctx)
	x.SetCrash(func(step string) error {
		if step == "billed" {
			cancel()
			return ctx.Err()
		}
		return nil
	})
	if _, err := x.Exit(ctx, "W1", "EXIT-1", nextDay); !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed exit: %v", err)
	}
	x.SetCrash(nil)
	later := nextDay.Add(31 * time.Minute)
	if err := x.Cancel(e.ctx, "W1", "EXIT-2", "ops", later); !errors.Is(err, wallet.ErrNoExit) {
		t.Fatalf("cancel another request: %v, want ErrNoExit", err)
	}
	if err := x.Cancel(e.ctx, "W1", "EXIT-1", "ops", nextDay.Add(29*time.Minute)); !errors.Is(err, wallet.ErrExitRunning) {
		t.Fatalf("cancel at 29 minutes: %v, want ErrExitRunning", err)
	}
	if err := x.Cancel(e.ctx, "W1", "EXIT-1", "ops", later); err != nil {
		t.Fatal(err)
	}
	wantReopened(t, e, "621.26", 1)
	if got := e.db.Str(`SELECT total || ' ' || status FROM fee_invoices`); got != "378.74 charged" {
		t.Errorf("invoice %s", got)
	}
	if err := x.Cancel(e.ctx, "W1", "EXIT-1", "ops", later); !errors.Is(err, wallet.ErrNoExit) {
		t.Errorf("cancel again: %v, want ErrNoExit", err)
	}
	if out, err := x.Exit(e.ctx, "W1", "EXIT-3", nextDay); err != nil || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "621.26" {
		t.Fatalf("exit %+v %v", out, err)
	}
	if err := x.Cancel(e.ctx, "W1", "EXIT-3", "ops", later.Add(time.Hour)); !errors.Is(err, wallet.ErrClosed) {
		t.Errorf("cancel a finished exit: %v, want ErrClosed", err)
	}
}

// The fees due at an exit are paid all or none (review r34-2 M: the old
// code paid the older invoices the cash covered, then reopened the wallet
// in the same committed transaction without their fee.charged events and
// audit rows). W1 with no cash exits on 21 Aug: refused, 20–21 Aug
// 378.67 due (by hand in TestExitRefusedUntilTheCashCoversTheFees); 22
// Aug–30 Sep billed with no cash: 27.93 due (by hand in
// TestExitRetriedNextQuarterFinishes). ₹400.00 comes in and W1 exits on 30
// Sep (nothing left to bill): due 378.67 + 27.93 = 406.60 > 400.00,
// refused, nothing charged (the old code charged the 378.67, leaving
// 21.33, with no event). After ₹6.60 more the exit pays both, 0.00 left to
// pay out, with two fee.charged events and two fee_charged audit rows.
func TestExitPaysTheFeesAllOrNone(t *testing.T) {
	e, f, x := refusedExitEnv(t)
	if inv, _, err := f.Bill(e.ctx, "W1", fund.NewDate(2026, 8, 22), fund.NewDate(2026, 9, 30), false); err != nil || inv.Total.String() != "27.93" || inv.Status != "due" {
		t.Fatalf("22 Aug–30 Sep: %+v %v", inv, err)
	}
	e.pay("e2", "pay_2", "wallet:W1", "captured", 40000)
	e.credit()
	sep30 := time.Date(2026, 9, 30, 12, 0, 0, 0, fund.IST())
	_, err := x.Exit(e.ctx, "W1", "EXIT-2", sep30)
	if !errors.Is(err, wallet.ErrExitFeeUnpaid) || !strings.Contains(err.Error(), "406.60 due on 2 invoice(s), 400.00 in the wallet") {
		t.Fatalf("400.00 against 406.60 due: %v", err)
	}
	if got := e.db.Str(`SELECT string_agg(total || ' ' || status, ', ' ORDER BY period_from) FROM fee_invoices`); got != "378.67 due, 27.93 due" {
		t.Errorf("invoices %s", got)
	}
	wantReopened(t, e, "400.00", 2)
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'fee'`); n != 0 {
		t.Errorf("%d fee entries after the refusal", n)
	}
	e.pay("e3", "pay_3", "wallet:W1", "captured", 660)
	e.credit()
	out, err := x.Exit(e.ctx, "W1", "EXIT-2", sep30)
	if err != nil || len(out.Invoices) != 2 || out.Withdrawn != nil {
		t.Fatalf("exit with 406.60: %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || (SELECT string_agg(status, ',') FROM fee_invoices) FROM wallets w`); got != "closed 0.00 charged,charged" {
		t.Errorf("after the exit %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.charged'`); n != 2 {
		t.Errorf("%d fee.charged events, want 2", n)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'wallet' AND action = 'fee_charged'`); n != 2 {
		t.Errorf("%d fee_charged audit rows, want 2", n)
	}
}

// A deposit refunded while its auto-invest was broken does not hold the
// exit (review r34-2 M): W2's ₹20,000.00 deposit breaks (its model has no
// version for the day), the gateway refunds it (reversed: W2 0.00). The
// reversal resolves the autoinvest_failed break with the reason, and even
// a break left open (as before this fix) is not in flight: W2 exits,
// nothing to pay out. The old code refused the exit for ever
// ("auto-invest of pay_a broken") until a person resolved the break.
func TestExitNotHeldByARefundedDepositsBreak(t *testing.T) {
	e, ai := autoEnv(t)
	late := moderate()
	late.ID, late.Effective = "late", fund.NewDate(2026, 12, 1)
	if err := ai.PutModel(e.ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := e.wallet.Open(e.ctx, "W2", "INV-2"); err != nil {
		t.Fatal(err)
	}
	if err := ai.SetTerms(e.ctx, wallet.Terms{WalletID: "W2", ModelID: "late", Folio: "F-W2", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_a", "wallet:W2", "captured", 2000000)
	e.credit()
	if res, err := ai.Invest(e.ctx, 100); err != nil || res.Broken != 1 {
		t.Fatalf("invest: %+v %v", res, err)
	}
	e.pay("e2", "pay_a", "wallet:W2", "refunded", 2000000)
	if res, err := e.wallet.CreditDeposits(e.ctx, 100); err != nil || res.Reversed != 1 {
		t.Fatalf("refund: %+v %v", res, err)
	}
	if got := e.db.Str(`SELECT (resolved_at IS NOT NULL)::text || ' ' || (detail LIKE '%resolved: the gateway refunded the deposit%')::text FROM payment_breaks WHERE payment_id = 'pay_a' AND reason = 'autoinvest_failed'`); got != "true true" {
		t.Errorf("break resolved, with its reason: %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'payment' AND entity_id = 'pay_a' AND action = 'break_resolved'`); n != 1 {
		t.Errorf("%d break_resolved audit rows", n)
	}
	e.db.Exec(`UPDATE payment_breaks SET resolved_at = NULL WHERE payment_id = 'pay_a'`)
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	out, err := x.Exit(e.ctx, "W2", "EXIT-1", clock)
	if err != nil || out.Withdrawn != nil {
		t.Fatalf("exit %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W2'`); got != "closed 0.00" {
		t.Errorf("W2 %s", got)
	}
}

// A closed wallet's payout parked by a bank restriction (no valid
// account) raises an alert saying what releases it, since it can never be
// cancelled back (review r34-2 L: the old code raised nothing and the
// cancel was a bare "wallet is closed"). Once the restriction lifts (the
// investor's new account verified), the managed run's release pays the
// 1,000.00 to the bank and resolves the alert.
func TestExitParkedPayoutSaysWhatReleasesIt(t *testing.T) {
	e := newEnv(t)
	if err := e.wallet.Open(e.ctx, "W1", "INV-1"); err != nil {
		t.Fatal(err)
	}
	e.pay("e1", "pay_1", "wallet:W1", "captured", 100000)
	e.credit()
	if err := e.ledger.SetRestriction(e.ctx, ledger.Restriction{InvestorID: "INV-1", Source: ledger.HoldBank, Reason: "bank_verification_failed",
		BlocksRedemption: true, By: "bank-verify"}); err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: e.db.Read}
	x := &wallet.Exits{Fees: &wallet.Fees{Wallet: e.wallet, Store: st}, Store: st, CrystalliseMonth: time.March}
	if out, err := x.Exit(e.ctx, "W1", "EXIT-1", clock); err != nil || out.Withdrawn == nil || out.Withdrawn.Status != wallet.WithdrawalPending {
		t.Fatalf("exit %+v %v", out, err)
	}
	detail := e.db.Str(`SELECT detail FROM alerts WHERE kind = 'wallet_closed_payout_parked' AND subject = 'exit:EXIT-1' AND resolved_at IS NULL`)
	if !strings.Contains(detail, "payout exit:EXIT-1 of 1000.00 from wallet W1") || !strings.Contains(detail, "parked by a bank restriction") ||
		!strings.Contains(detail, "once the investor's new default account is verified") {
		t.Fatalf("alert %q", detail)
	}
	if _, err := e.wallet.CancelWithdrawal(e.ctx, "W1", "exit:EXIT-1"); !errors.Is(err, wallet.ErrClosed) {
		t.Fatalf("cancel: %v, want ErrClosed", err)
	}
	if n, err := e.wallet.ReleaseWithdrawals(e.ctx, 10); err != nil || n != 0 {
		t.Fatalf("released %d under the restriction: %v", n, err)
	}
	if _, err := e.ledger.LiftRestriction(e.ctx, "INV-1", ledger.HoldBank, "bank-verify"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.wallet.ReleaseWithdrawals(e.ctx, 10); err != nil || n != 1 {
		t.Fatalf("released %d: %v", n, err)
	}
	if got := e.db.Str(`SELECT d.status || ' ' || d.amount || ' ' || (SELECT count(*) FROM alerts WHERE kind = 'wallet_closed_payout_parked' AND resolved_at IS NULL) FROM wallet_withdrawals d`); got != "paid 1000.00 0" {
		t.Errorf("payout and open alerts %s", got)
	}
}
