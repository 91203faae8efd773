package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

// crashAt stops x's exits after step (a crash: its context gone); the
// returned context is the one to run the exit with.
func crashAt(e *env, x *wallet.Exits, step string) context.Context {
	ctx, cancel := context.WithCancel(e.ctx)
	x.SetCrash(func(s string) error {
		if s == step {
			cancel()
			return ctx.Err()
		}
		return nil
	})
	return ctx
}

// A cancel of an exit still running is refused (review r35 M2): W1's exit
// on 21 Aug 10:00, cancelled one minute later (between its steps, on the
// exit's clock) → ErrExitRunning; the exit finishes as
// TestExitCrystallisesOnceBeforeThePayout computes by hand: 378.74 billed,
// 621.26 paid out. The old code reopened W1 under the running exit, which
// then billed and crystallised on the open wallet.
func TestExitCancelRefusedWhileTheExitRuns(t *testing.T) {
	e, f, st := exitEnv(t, false)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	var cerr error
	x.SetCrash(func(step string) error {
		if step == "started" {
			cerr = x.Cancel(e.ctx, "W1", "EXIT-1", "ops", nextDay.Add(time.Minute))
		}
		return nil
	})
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if !errors.Is(cerr, wallet.ErrExitRunning) {
		t.Errorf("cancel one minute into the exit: %v, want ErrExitRunning", cerr)
	}
	if err != nil || len(out.Invoices) != 1 || out.Invoices[0].Total.String() != "378.74" || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "621.26" {
		t.Fatalf("exit %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "closed 0.00" {
		t.Errorf("wallet %s", got)
	}
}

// The exit's second step bills only while the wallet is closing for it,
// checked under the lock (review r35 M2): a cancel that did get through
// between the steps (here the operator's clock 31 minutes ahead) leaves
// W1 open with its 1,000.00, no invoice and no high-water mark; the exit
// fails as cancelled. The old code billed 378.74 (the 319.78 performance
// fee crystallised on the exit-day valuation) on the open wallet.
func TestExitBillsNothingOnceCancelled(t *testing.T) {
	e, f, st := exitEnv(t, false)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	var cerr error
	x.SetCrash(func(step string) error {
		if step == "started" {
			cerr = x.Cancel(e.ctx, "W1", "EXIT-1", "ops", nextDay.Add(31*time.Minute))
		}
		return nil
	})
	_, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if cerr != nil {
		t.Fatalf("cancel: %v", cerr)
	}
	if err == nil || !strings.Contains(err.Error(), "not closing for exit EXIT-1") {
		t.Fatalf("exit after its cancel: %v", err)
	}
	wantReopened(t, e, "1000.00", 1)
	if n := e.db.Num(`SELECT count(*) FROM fee_invoices`) + e.db.Num(`SELECT count(*) FROM fee_hwm`); n != 0 {
		t.Errorf("%d invoices and high-water marks after the cancel", n)
	}
}

// A deposit that came while the wallet was closing is credited, once,
// when the exit is undone (review r35 M3): W1 (1,000.00 cash) closing
// after a crash, ₹5,000.00 arrives → a wallet_closed break, W1 still
// 1,000.00; the exit cancelled → the break resolved; the next credit run
// credits it: 1,000.00 + 5,000.00 = 6,000.00, one deposit entry, and
// another run changes nothing. The old code never credited it, even after
// a person resolved the break.
func TestExitUndoneCreditsTheDepositsItBroke(t *testing.T) {
	e, f, st := exitEnv(t, false)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	if _, err := x.Exit(crashAt(e, x, "started"), "W1", "EXIT-1", nextDay); !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed exit: %v", err)
	}
	x.SetCrash(nil)
	e.pay("e9", "pay_9", "wallet:W1", "captured", 500000)
	e.credit()
	if got := e.db.Str(`SELECT w.balance || ' ' || b.reason || ' ' || (b.resolved_at IS NULL)::text FROM wallets w, payment_breaks b WHERE w.id = 'W1' AND b.payment_id = 'pay_9'`); got != "1000.00 wallet_closed true" {
		t.Fatalf("deposit while closing: %s", got)
	}
	if err := x.Cancel(e.ctx, "W1", "EXIT-1", "ops", nextDay.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantReopened(t, e, "1000.00", 1)
	for range 2 {
		e.credit()
		if got := e.db.Str(`SELECT balance::text FROM wallets WHERE id = 'W1'`); got != "6000.00" {
			t.Errorf("W1 after the credit run: %s, want 6000.00", got)
		}
	}
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'deposit' AND ref = 'pay_9'`); n != 1 {
		t.Errorf("%d deposit entries of pay_9", n)
	}
	if got := e.db.Str(`SELECT p.match_status || ' ' || (b.resolved_at IS NOT NULL)::text FROM payments p JOIN payment_breaks b ON b.payment_id = p.id WHERE p.id = 'pay_9'`); got != "matched true" {
		t.Errorf("pay_9 %s", got)
	}
}

// A quarter run while a wallet is closing keeps it as skipped with the
// reason (review r35 M1): W1's exit on 21 Aug stopped after its start;
// the Q3 run on 1 Oct bills nothing, W1 skipped "exit in progress".
//   - cancelled: the 2 Oct run bills W1's 20 Aug–30 Sep by hand: 20 Aug
//     AUM 20,999.00, 21 Aug (the exit's valuation) 22,597.92 carried to 30
//     Sep, 41 days: (20,999.00 + 41 × 22,597.92) × 1 % / 365 = 25.96,
//     GST 4.67, 30.63 paid from the 1,000.00 (969.37 left).
//   - finished: the exit bills 20–21 Aug and closes; the 2 Oct run
//     resolves the skip and bills nothing more.
//
// The old code dropped W1 from the run and marked the quarter billed: the
// cancelled wallet's Q3 was never billed.
func TestQuarterRunKeepsAClosingWalletSkipped(t *testing.T) {
	for _, finish := range []bool{false, true} {
		name := map[bool]string{false: "cancelled", true: "finished"}[finish]
		t.Run(name, func(t *testing.T) {
			e, f, st := exitEnv(t, false)
			x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
			if _, err := x.Exit(crashAt(e, x, "started"), "W1", "EXIT-1", nextDay); !errors.Is(err, context.Canceled) {
				t.Fatalf("crashed exit: %v", err)
			}
			x.SetCrash(nil)
			qb := &wallet.QuarterBilling{Fees: f, Store: pgstore.Store{Pool: e.db.Read}, CrystalliseMonth: time.March}
			r, err := qb.Run(e.ctx, moneytest.IST("2026-10-01T10:00:00+05:30"))
			if err != nil || r.Status != "billed" || r.Billed != 0 || r.StillSkipped != 1 || len(r.Skipped) != 1 ||
				r.Skipped[0].WalletID != "W1" || !strings.Contains(r.Skipped[0].Reason, "exit in progress") {
				t.Fatalf("Q3 run with W1 closing: %+v %v", r, err)
			}
			if n := e.db.Num(`SELECT count(*) FROM fee_invoices`); n != 0 {
				t.Fatalf("%d invoices billed under the exit", n)
			}
			if finish {
				if _, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay); err != nil {
					t.Fatal(err)
				}
			} else if err := x.Cancel(e.ctx, "W1", "EXIT-1", "ops", nextDay.Add(31*time.Minute)); err != nil {
				t.Fatal(err)
			}
			r, err = qb.Run(e.ctx, moneytest.IST("2026-10-02T10:00:00+05:30"))
			if err != nil || r.Retried != 1 || r.StillSkipped != 0 {
				t.Fatalf("run after the exit %s: %+v %v", name, r, err)
			}
			want := "2026-08-20 2026-09-30 30.63 charged"
			if finish {
				want = "2026-08-20 2026-08-21 378.74 charged"
			}
			if got := e.db.Str(`SELECT string_agg(period_from || ' ' || period_to || ' ' || total || ' ' || status, ',') FROM fee_invoices`); got != want {
				t.Errorf("invoices %s, want %s", got, want)
			}
			if n := e.db.Num(`SELECT count(*) FROM fee_quarter_skips WHERE resolved_at IS NULL`); n != 0 {
				t.Errorf("%d skips open", n)
			}
		})
	}
}

// An exit cancelled between its billing and its payout, with a second
// exit started meanwhile, never pays out or closes the wallet under the
// second's record (review r35-wallet M1): W1 (1,000.00) exit EXIT-1 bills
// 378.74 (as TestExitCrystallisesOnceBeforeThePayout computes by hand),
// is cancelled at 31 minutes and EXIT-2 started (stopped after its first
// step); EXIT-1's last step is refused and leaves W1 closing for EXIT-2;
// EXIT-2 then finishes: 1,000.00 − 378.74 = 621.26 out as exit:EXIT-2, no
// withdrawal of EXIT-1. The old code paid 621.26 out as exit:EXIT-1 and
// closed W1 under EXIT-2's row, and EXIT-2 answered already exited.
func TestExitCancelledThenAnotherStartedNeverClosesForIt(t *testing.T) {
	e, f, st := exitEnv(t, false)
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	x2 := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	var herr error
	x.SetCrash(func(step string) error {
		if step != "billed" {
			return nil
		}
		if err := x.Cancel(e.ctx, "W1", "EXIT-1", "ops", nextDay.Add(31*time.Minute)); err != nil {
			herr = fmt.Errorf("cancel: %w", err)
			return nil
		}
		if _, err := x2.Exit(crashAt(e, x2, "started"), "W1", "EXIT-2", nextDay.Add(32*time.Minute)); !errors.Is(err, context.Canceled) {
			herr = fmt.Errorf("second exit stopped after its start: %v", err)
		}
		return nil
	})
	_, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if herr != nil {
		t.Fatal(herr)
	}
	if err == nil {
		t.Fatal("EXIT-1 finished after its cancel")
	}
	if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || x.request_id FROM wallets w JOIN wallet_exits x ON x.wallet_id = w.id WHERE w.id = 'W1'`); got != "closing 621.26 EXIT-2" {
		t.Fatalf("after EXIT-1's refused last step: %s, want closing 621.26 EXIT-2", got)
	}
	x2.SetCrash(nil)
	out, err := x2.Exit(e.ctx, "W1", "EXIT-2", nextDay.Add(33*time.Minute))
	if err != nil {
		t.Fatalf("EXIT-2: %v", err)
	}
	if out.Withdrawn == nil || out.Withdrawn.RequestID != "exit:EXIT-2" || out.Withdrawn.Amount.String() != "621.26" {
		t.Errorf("EXIT-2 paid out %+v, want exit:EXIT-2 621.26", out.Withdrawn)
	}
	if got := e.db.Str(`SELECT string_agg(ref || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind = 'withdrawal'`); got != "exit:EXIT-2 621.26" {
		t.Errorf("withdrawals %s, want exit:EXIT-2 621.26 only", got)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "closed 0.00" {
		t.Errorf("wallet %s, want closed 0.00", got)
	}
}
