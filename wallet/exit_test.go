package wallet_test

import (
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

// An exit crystallises the performance fee up to its day, once, before
// the payout. rebalanceEnv's W1 (₹20,000.00 invested on 20 Aug, A's NAV
// 10 → 12 on 21 Aug) plus ₹1,000.00 of cash; fee terms from 20 Aug: 1 %
// a year AUM, 20 % performance. By hand:
//   - 20 Aug valuation: 1,000.00 + 799.960 × 10 + 699.965 × 10 +
//     499.975 × 10 = 1,000.00 + 7,999.60 + 6,999.65 + 4,999.75 = 20,999.00.
//   - 21 Aug (the exit, written by it): A at 12: 1,000.00 + 9,599.52 +
//     6,999.65 + 4,999.75 = 22,598.92.
//   - AUM fee: (20,999.00 + 22,598.92) × 1 / 36,500 = 1.1944… → 1.19.
//   - Performance: flows 21,000.00 in, no mark yet: gain 22,598.92 −
//     21,000.00 = 1,598.92 × 20 % = 319.784 → 319.78.
//   - Fee 320.97, GST 18 % = 57.7746 → 57.77, total 378.74 from the cash;
//     1,000.00 − 378.74 = 621.26 paid out; the mark 1,598.92 (net of flows).
func TestExitCrystallisesOnceBeforeThePayout(t *testing.T) {
	e, f, st := exitEnv(t, false) // ₹1,000.00 of cash, not invested
	if got := e.db.Str(`SELECT aum::text FROM fee_valuations WHERE wallet_id = 'W1'`); got != "20999.00" {
		t.Fatalf("20 Aug valuation %s", got)
	}
	x := &wallet.Exits{Fees: f, Store: st, CrystalliseMonth: time.March}
	// An order of the folio waiting for its NAV: refused, nothing billed.
	e.db.Exec(`UPDATE orders SET status = 'pending_nav' WHERE id = (SELECT min(id) FROM orders WHERE folio_no = 'F1')`)
	if _, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay); !errors.Is(err, wallet.ErrExitInFlight) {
		t.Fatalf("with an order in flight: %v", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_invoices`); n != 0 || e.balance("W1") != "1000.00" {
		t.Fatalf("refused exit billed %d, balance %s", n, e.balance("W1"))
	}
	e.db.Exec(`UPDATE orders SET status = 'allotted' WHERE status = 'pending_nav'`)

	out, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "exited" || len(out.Invoices) != 1 || out.Withdrawn == nil || out.Withdrawn.Amount.String() != "621.26" || out.Withdrawn.Status != wallet.WithdrawalPaid {
		t.Fatalf("exit %+v", out)
	}
	inv := out.Invoices[0]
	if inv.ID != "FEE-W1-2026-08-20-2026-08-21" || inv.AUMFee.String() != "1.19" || inv.PerfFee.String() != "319.78" || inv.Fee.String() != "320.97" ||
		inv.GST.String() != "57.77" || inv.Total.String() != "378.74" || inv.Status != "charged" {
		t.Fatalf("invoice %+v", inv)
	}
	if got := e.db.Str(`SELECT hwm_gain::text FROM fee_hwm WHERE wallet_id = 'W1'`); got != "1598.92" {
		t.Errorf("high-water mark %s", got)
	}
	if got := e.db.Str(`SELECT w.status || ' ' || w.balance || ' ' || a.enabled FROM wallets w JOIN autoinvest_terms a ON a.wallet_id = w.id WHERE w.id = 'W1'`); got != "closed 0.00 false" {
		t.Errorf("wallet %s", got)
	}
	// The fee before the payout: the fee entry's id is below the withdrawal's.
	if got := e.db.Str(`SELECT string_agg(kind || ' ' || amount, ',' ORDER BY id) FROM wallet_transactions WHERE kind IN ('fee', 'withdrawal')`); got != "fee 378.74,withdrawal 621.26" {
		t.Errorf("entries %s", got)
	}

	// Once: the same exit again changes nothing; the quarter's billing and
	// the daily valuation leave the closed wallet out.
	again, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay.Add(24*time.Hour))
	if err != nil || again.Status != "already_exited" {
		t.Fatalf("again: %+v %v", again, err)
	}
	// On 2 Oct the quarter Jul–Sep is billed: not W1.
	qb := &wallet.QuarterBilling{Fees: f, Store: st, Calendar: e.ledger.Calendar, CrystalliseMonth: time.March}
	if r, err := qb.Run(e.ctx, nextDay.AddDate(0, 1, 11)); err != nil || r.From != fund.NewDate(2026, 7, 1) || r.Billed != 0 || len(r.Skipped) != 0 {
		t.Fatalf("2 Oct's billing: %+v %v", r, err)
	}
	if n, err := f.Value(e.ctx, fund.NewDate(2026, 8, 24)); err != nil || n != 0 {
		t.Fatalf("valued %d closed wallets: %v", n, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM fee_invoices`); n != 1 {
		t.Errorf("%d invoices", n)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.charged'`); n != 1 {
		t.Errorf("%d fee.charged events", n)
	}
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'withdrawal'`); n != 1 {
		t.Errorf("%d withdrawals", n)
	}
}

// Cash short of the exit's fees: refused, nothing paid out, the wallet
// open and its invoice due; after a deposit the same request finishes on
// that invoice. No cash this time, so by hand: 20 Aug 19,999.00, 21 Aug
// 21,598.92; AUM fee 41,597.92 / 36,500 = 1.1396… → 1.13; performance
// (21,598.92 − 20,000.00) × 20 % = 319.784 → 319.78; fee 320.91, GST
// 57.7638 → 57.76, total 378.67; after ₹1,000.00 in, 621.33 paid out.
func TestExitRefusedUntilTheCashCoversTheFees(t *testing.T) {
	e, _, x := refusedExitEnv(t)
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'withdrawal'`); n != 0 {
		t.Fatalf("%d withdrawals", n)
	}
	e.pay("e2", "pay_2", "wallet:W1", "captured", 100000)
	e.credit()
	out, err := x.Exit(e.ctx, "W1", "EXIT-1", nextDay)
	if err != nil || out.Status != "exited" || len(out.Invoices) != 1 || out.Invoices[0].Total.String() != "378.67" || out.Invoices[0].Status != "charged" ||
		out.Withdrawn == nil || out.Withdrawn.Amount.String() != "621.33" {
		t.Fatalf("after the deposit: %+v %v", out, err)
	}
	if got := e.db.Str(`SELECT aum_fee || ' ' || perf_fee || ' ' || gst FROM fee_invoices`); got != "1.13 319.78 57.76" {
		t.Errorf("invoice %s", got)
	}
	if got := e.db.Str(`SELECT status || ' ' || balance FROM wallets WHERE id = 'W1'`); got != "closed 0.00" {
		t.Errorf("wallet %s", got)
	}
}
