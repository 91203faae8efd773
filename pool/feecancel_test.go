package pool_test

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/internal/moneytest"
)

// liveSaleMarkedFailed is what a cancel interrupted after its first
// transaction left on the old code (review H1): R1 (A 1.22, placed at the
// bill of 24 Aug 21:00, after the cut-off: pending for 25 Aug's NAV) live
// in the ledger and marked failed "invoice_cancelled: not placed".
func liveSaleMarkedFailed(t *testing.T) (*env, string) {
	e, id := dueSaleEnv(t, nil)
	e.db.Exec(`UPDATE pool_fee_sales SET status = 'failed', reason = 'invoice_cancelled: not placed'`)
	if got := e.poolOrders(); !strings.Contains(got, saleR1+" 1.22 pending_nav") {
		t.Fatalf("orders %s, want R1 pending", got)
	}
	return e, id
}

// A pass over an invoice whose sale is live in the ledger and marked
// failed plans nothing again, and once R1 is allotted sweeps its payout
// and pays the invoice (review H1, case A). By hand: the pass on 25 Aug
// 10:00 finds R1 pending: no R2 (the old code planned R2 on B 1.22 and
// sold 2.44 for a 1.22 fee). R1 allotted at A's NAV of 25 Aug 11.0000
// pays 1.22 (an amount redemption, no exit load) into ledger_payout:F-P;
// the next pass brings it into the cash (one pool_fee_sale entry, ref R1,
// 1.22): cash 1.22 covers the 1.22 invoice, which is charged: cash 0.00,
// nothing owed. On the old code: R2 placed and no pool_fee_sale entry.
func TestPoolFeeInterruptedCancelThenPass(t *testing.T) {
	e, id := liveSaleMarkedFailed(t)
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T10:00:00+05:30")
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || inv.Status != "due" || inv.ID != id {
		t.Fatalf("pass 1: %s %s, %v; want %s due", inv.ID, inv.Status, err, id)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_fee_sales`); n != 1 {
		t.Errorf("%d sales after pass 1, want 1 (no plan while R1 is live)", n)
	}
	if got := e.poolOrders(); strings.Contains(got, saleR2) {
		t.Errorf("orders %s: R2 placed while R1 is live", got)
	}
	e.allot()
	inv, _, err = e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || inv.Status != "charged" {
		t.Fatalf("pass 2: %s %s, %v; want charged", inv.ID, inv.Status, err)
	}
	if got := e.poolOrders(); !strings.Contains(got, saleR1+" 1.22 allotted") || strings.Contains(got, saleR2) {
		t.Errorf("orders %s, want R1 allotted and no R2", got)
	}
	if got := e.db.Str(`SELECT coalesce(string_agg(ref || ' ' || amount, ','), '') FROM wallet_transactions WHERE kind = 'pool_fee_sale'`); got != saleR1+" 1.22" {
		t.Errorf("swept %q, want R1 1.22", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 0.00" {
		t.Errorf("pool %s, want 0.00 0.00", got)
	}
}

// Retrying a cancel interrupted after its first transaction cancels the
// live sale in the ledger and then cancels the invoice (review H1, case
// B). By hand: the retry sends R1-X, the ledger cancels R1 (pending, no
// NAV yet); nothing was sold, so sold_into_cash 0.00, the 1.03 fee + 0.19
// GST released (1.22), the pool's cash 0.00 and fee_accrued 1.22 (still
// owed, billed again later). A second call returns the cancelled invoice.
// On the old code the retry sent no cancel (R1 counted as failed) and
// reported the invoice cancelled while R1 stayed live; allotted later, its
// 1.22 was never swept.
func TestPoolFeeCancelRetry(t *testing.T) {
	e, id := liveSaleMarkedFailed(t)
	ev, err := e.pools.CancelFeeInvoice(e.ctx, id, "retry")
	if err != nil || ev.Released.String() != "1.22" || ev.SoldIntoCash.String() != "0.00" {
		t.Fatalf("cancel retry: %+v, %v; want released 1.22, sold 0.00", ev, err)
	}
	if got := e.poolOrders(); !strings.Contains(got, saleR1+" 1.22 cancelled") {
		t.Errorf("orders %s, want R1 cancelled", got)
	}
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T22:00:00+05:30")
	e.allot()
	if got := e.poolOrders(); !strings.Contains(got, saleR1+" 1.22 cancelled") {
		t.Errorf("orders after the NAV %s, want R1 cancelled", got)
	}
	ev, err = e.pools.CancelFeeInvoice(e.ctx, id, "retry")
	if err != nil || ev.At != "" {
		t.Errorf("cancel again: %+v, %v; want the cancelled invoice", ev, err)
	}
	if got := e.db.Str(`SELECT string_agg(id || ' ' || status, ',') FROM pool_fee_invoices`); got != id+" cancelled" {
		t.Errorf("invoices %s", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 1.22" {
		t.Errorf("pool %s, want 0.00 1.22", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'pool_fee_sale'`); n != 0 {
		t.Errorf("%d pool_fee_sale entries, want none (nothing sold)", n)
	}
}

// A cancel whose id reached the ledger before its sale (the race of
// review H1: refused unknown_target, the id used) cancels with the next
// id. By hand: R1-X is used (a cancel of an order not there), so the
// cancel sends R1-X2, the ledger cancels R1 (pending), and the invoice is
// cancelled with nothing sold. On the old code R1-X was sent again and
// refused as a request id used differently.
func TestPoolFeeCancelTakesANewID(t *testing.T) {
	e, id := dueSaleEnv(t, nil)
	e.cancelOrder(saleR1+"-X", "PFEE-P3-no-such-order")
	ev, err := e.pools.CancelFeeInvoice(e.ctx, id, "billed wrong")
	if err != nil || ev.SoldIntoCash.String() != "0.00" || ev.Released.String() != "1.22" {
		t.Fatalf("cancel: %+v, %v", ev, err)
	}
	if got := e.db.Str(`SELECT status FROM order_requests WHERE id = $1`, saleR1+"-X2"); got == "" || got == "rejected" {
		t.Errorf("R1-X2 %q, want accepted", got)
	}
	if got := e.poolOrders(); !strings.Contains(got, saleR1+" 1.22 cancelled") {
		t.Errorf("orders %s, want R1 cancelled", got)
	}
	if got := e.db.Str(`SELECT status || ' ' || reason FROM pool_fee_sales`); !strings.HasPrefix(got, "failed cancelled") {
		t.Errorf("sale %q, want failed with the ledger's reason", got)
	}
}

// A pass over an invoice with a cancel under way (its first transaction
// done) sweeps a payout but neither places, pays nor plans, and the
// cancel then keeps the proceeds in the cash (review H1). By hand: a crash
// left R1 (A 1.22) proposed though the ledger has it; the cancel's first
// transaction marks the invoice cancelling. R1 allotted at A's 25 Aug NAV
// 11.0000 pays 1.22; the pass brings it into the cash (cash 1.22) and
// leaves the invoice due, R1 still proposed. The cancel then sends no
// cancel (R1 allotted), sold_into_cash 1.22, the invoice cancelled, the
// fee (1.22) still owed: cash 1.22, fee_accrued 1.22. On the old code the
// pass paid the invoice (cash 0.00, charged).
func TestPoolFeePassDuringCancelOnlySweeps(t *testing.T) {
	e, id := dueSaleEnv(t, nil)
	e.db.Exec(`UPDATE pool_fee_sales SET status = 'proposed'`)
	e.db.Exec(`UPDATE pool_fee_invoices SET cancel_reason = 'billed wrong'`) // the cancel's first tx
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T22:00:00+05:30")
	e.allot()
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || inv.Status != "due" {
		t.Fatalf("pass: %s %s, %v; want due", inv.ID, inv.Status, err)
	}
	if got := e.db.Str(`SELECT string_agg(order_id || ' ' || status, ',') FROM pool_fee_sales`); got != saleR1+" proposed" {
		t.Errorf("sales %s, want R1 proposed only", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "1.22 1.22" {
		t.Errorf("pool after the pass %s, want 1.22 1.22", got)
	}
	ev, err := e.pools.CancelFeeInvoice(e.ctx, id, "billed wrong")
	if err != nil || ev.SoldIntoCash.String() != "1.22" || ev.Released.String() != "1.22" {
		t.Fatalf("cancel: %+v, %v; want sold 1.22, released 1.22", ev, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM order_requests WHERE id LIKE '%-X%'`); n != 0 {
		t.Errorf("%d cancel requests, want none (R1 allotted)", n)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "1.22 1.22" {
		t.Errorf("pool after the cancel %s, want 1.22 1.22", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM wallet_transactions WHERE kind = 'pool_fee_sale'`); n != 1 {
		t.Errorf("%d pool_fee_sale entries, want 1", n)
	}
}

// A sale allotted with no payout opens a break instead of leaving the
// invoice due without one (review L3). By hand: R1 allotted, its payout
// set to 0.00 (an exit load taking it all): the pass sweeps nothing,
// cash 0.00 < 1.22, break sale_no_proceeds and its alert.
func TestPoolFeeSaleWithNoPayoutIsABreak(t *testing.T) {
	e, _ := dueSaleEnv(t, nil)
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T22:00:00+05:30")
	e.allot()
	e.db.Exec(`UPDATE ledger_transactions SET net_amount = 0 WHERE order_id = $1`, saleR1)
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || inv.Status != "due" {
		t.Fatalf("pass: %s %s, %v; want due", inv.ID, inv.Status, err)
	}
	if got := e.db.Str(`SELECT coalesce(string_agg(reason, ','), '') FROM pool_fee_breaks WHERE resolved_at IS NULL`); got != "sale_no_proceeds" {
		t.Errorf("breaks %q, want sale_no_proceeds", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM alerts WHERE kind = 'pool_fee_unpayable' AND resolved_at IS NULL`); n != 1 {
		t.Errorf("%d alerts, want 1", n)
	}
}
