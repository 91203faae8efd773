package pool_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/pool"
)

// dueSaleEnv is TestPoolFeeBillSellsHoldings up to its bill (figures
// there): P3's folio holds A 59.997 and B 19.999 units bought 21 Aug;
// 24 Aug's NAV accrues 1.03 + GST 0.19 = 1.22 owed, cash 0.00. before
// runs just before the bill (at 24 Aug 21:00).
func dueSaleEnv(t *testing.T, before func(e *env)) (*env, string) {
	e := saleEnv(t)
	if before != nil {
		before(e)
	}
	inv, created, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || !created || inv.Status != "due" || inv.Total.String() != "1.22" {
		t.Fatalf("bill: %s %s created %v, %v", inv.Status, inv.Total, created, err)
	}
	return e, inv.ID
}

// saleEnv is dueSaleEnv before the bill.
func saleEnv(t *testing.T) *env {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	e.job("2026-08-20")
	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")
	e.allot()
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P3", From: day("2026-08-24"), AUMRatePct: pct("36.5")}); err != nil {
		t.Fatal(err)
	}
	e.db.NAV("A", "2026-08-24", "11.0000")
	e.db.NAV("B", "2026-08-24", "19.0000")
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-24', 11, 't', 't', 1), ('B', '2026-08-24', 19, 't', 't', 1)`)
	e.clock = moneytest.IST("2026-08-24T21:00:00+05:30")
	if r := e.nav("P3", "2026-08-24"); r.FeeAccrued.String() != "1.22" {
		t.Fatalf("24 Aug: accrued %s, want 1.22", r.FeeAccrued)
	}
	return e
}

// place sends one order request to the ledger at the env's clock.
func (e *env) place(body string) {
	e.t.Helper()
	in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "test", At: e.clock, MaxSkew: time.Hour})
	if !ok {
		e.t.Fatalf("request %s: %v", body, err)
	}
	if _, err := e.ledger.Place(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) cancelOrder(id, target string) {
	e.t.Helper()
	e.place(`{"order_id": "` + id + `", "type": "cancel", "target_order_id": "` + target + `", "placed_at": "` + e.clock.UTC().Format(time.RFC3339) + `"}`)
}

const saleR1, saleR2 = "PFEE-P3-2026-08-24-2026-08-24-R1", "PFEE-P3-2026-08-24-2026-08-24-R2"

// A fee sale the ledger ends without proceeds is planned again (review
// M2). By hand: the bill of 24 Aug (1.22) sells 1.22 of A (R1, the oldest
// lots, A before B). R1 is cancelled in the ledger (an operator's cancel)
// before its NAV. The next pass marks R1 failed and plans the 1.22 again
// under a new order id, R2, on B (A's sale was refused): placed on 25 Aug
// at 10:00 (before the cut-off), B's NAV of 25 Aug 19.0000 is there, so
// it is allotted at once: 1.22 / 19 = 0.0642… → 0.065 units, 1.22 paid
// out, swept into the cash and the invoice paid: cash 0.00, nothing owed,
// B 19.999 − 0.065 = 19.934 units. On the old code the invoice stayed due
// for ever (R1's payout never came).
func TestPoolFeeSaleCancelledIsPlannedAgain(t *testing.T) {
	e, id := dueSaleEnv(t, nil)
	e.clock = moneytest.IST("2026-08-24T21:05:00+05:30")
	e.cancelOrder("ops-cancel-R1", saleR1)
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T10:00:00+05:30")
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || inv.Status != "charged" || inv.ID != id {
		t.Fatalf("the pass after the cancel: %s %s, %v; want %s charged", inv.ID, inv.Status, err, id)
	}
	if got := e.poolOrders(); !strings.Contains(got, saleR1+" 1.22 cancelled") || !strings.Contains(got, saleR2+" 1.22 allotted") {
		t.Errorf("orders %s", got)
	}
	if got := e.db.Str(`SELECT string_agg(order_id || ' ' || scheme_code || ' ' || status || ' ' || (reason LIKE 'cancelled%')::text, ', ' ORDER BY order_id) FROM pool_fee_sales`); got != saleR1+" A failed true, "+saleR2+" B placed false" {
		t.Errorf("sales %s", got)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 0.00" {
		t.Errorf("pool %s, want 0.00 0.00", got)
	}
	if got := e.db.Str(`SELECT units::numeric(24,3)::text FROM holdings WHERE folio_no = 'F-P' AND scheme_code = 'B'`); got != "19.934" {
		t.Errorf("B %s, want 19.934", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_fee_breaks`) + e.db.Num(`SELECT count(*) FROM alerts WHERE kind = 'pool_fee_unpayable'`); n != 0 {
		t.Errorf("%d breaks and alerts, want none", n)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE action = 'fee_sale_failed'`); n != 1 {
		t.Errorf("%d fee_sale_failed audit rows, want 1", n)
	}
	// A paid invoice cannot be cancelled.
	if _, err := e.pools.CancelFeeInvoice(e.ctx, id, "by mistake"); !errors.Is(err, pool.ErrNotDue) {
		t.Errorf("cancel a paid invoice: %v", err)
	}
}

// Nothing can pay a due invoice: a break row and an alert; the operator
// cancels it, its accruals are open again and the period is billed again
// under a new id (review M2). By hand: R1 (A 1.22) is cancelled in the
// ledger; the pass plans R2 on B, placed after the cut-off (24 Aug 21:10:
// NAV date 25 Aug, not there): pending. R2 is cancelled too; the next
// pass finds no scheme left whose sale was not refused: break
// nothing_can_pay, alert pool_fee_unpayable, the invoice still due. The
// cancel releases the 1.03 fee + 0.19 GST (1.22, still owed: the pool's
// fee_accrued stays 1.22), nothing was sold into the cash, the break and
// alert resolved, one fee.cancelled event. Billed again: invoice
// PFEE-P3-2026-08-24-2026-08-24-B2, 1.22, due, its own sale B2-R1 on A.
func TestPoolFeeInvoiceNothingCanPayIsCancelled(t *testing.T) {
	e, id := dueSaleEnv(t, nil)
	e.clock = moneytest.IST("2026-08-24T21:05:00+05:30")
	e.cancelOrder("ops-cancel-R1", saleR1)
	e.clock = moneytest.IST("2026-08-24T21:10:00+05:30")
	if inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false); err != nil || inv.Status != "due" {
		t.Fatalf("pass 1: %s, %v", inv.Status, err)
	}
	if got := e.poolOrders(); !strings.Contains(got, saleR2+" 1.22 pending_nav") {
		t.Fatalf("orders after pass 1 %s", got)
	}
	e.cancelOrder("ops-cancel-R2", saleR2)
	if inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false); err != nil || inv.Status != "due" {
		t.Fatalf("pass 2: %s, %v", inv.Status, err)
	}
	if got := e.db.Str(`SELECT reason || ' ' || (resolved_at IS NULL)::text FROM pool_fee_breaks WHERE invoice_id = $1`, id); got != "nothing_can_pay true" {
		t.Errorf("break %q, want nothing_can_pay open", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM alerts WHERE kind = 'pool_fee_unpayable' AND subject = $1 AND resolved_at IS NULL`, id); n != 1 {
		t.Errorf("%d open alerts, want 1", n)
	}
	ev, err := e.pools.CancelFeeInvoice(e.ctx, id, "both sales cancelled in the ledger")
	if err != nil || ev.Released.String() != "1.22" || ev.SoldIntoCash.String() != "0.00" || ev.Total.String() != "1.22" {
		t.Fatalf("cancel: %+v, %v; want 1.22 released, nothing sold", ev, err)
	}
	for q, want := range map[string]string{
		`SELECT status || ' ' || cancel_reason FROM pool_fee_invoices WHERE id = 'PFEE-P3-2026-08-24-2026-08-24'`: "cancelled both sales cancelled in the ledger",
		`SELECT count(*)::text FROM pool_fee_accruals WHERE pool_id = 'P3' AND invoice_id IS NULL AND fee > 0`:    "1",
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`:                                            "0.00 1.22",
		`SELECT count(*)::text FROM pool_fee_breaks WHERE resolved_at IS NULL`:                                    "0",
		`SELECT count(*)::text FROM alerts WHERE kind = 'pool_fee_unpayable' AND resolved_at IS NULL`:             "0",
		`SELECT count(*) || ' ' || min(payload->>'released') FROM outbox WHERE topic = 'fee.cancelled'`:           "1 1.22",
		`SELECT count(*)::text FROM audit_log WHERE action = 'fee_cancelled'`:                                     "1",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	if _, err := e.pools.CancelFeeInvoice(e.ctx, id, "again"); err != nil || e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fee.cancelled'`) != 1 {
		t.Errorf("cancelled again: %v (one event)", err)
	}
	inv, created, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || !created || inv.ID != id+"-B2" || inv.Total.String() != "1.22" || inv.Status != "due" {
		t.Fatalf("billed again: %s %s %s created %v, %v", inv.ID, inv.Total, inv.Status, created, err)
	}
	if got := e.poolOrders(); !strings.Contains(got, id+"-B2-R1 1.22 pending_nav") {
		t.Errorf("orders %s, want the new invoice's own sale", got)
	}
}

// A sale is planned on units no pending redemption will take (review L2).
// By hand: before the bill, a redemption of all of A's units is placed on
// the pool's folio (pending, NAV date 25 Aug). The bill's 1.22 is then
// sold from B (19.999 units free), not from A's lots, which the old code
// sold a second time.
func TestPoolFeeSaleSetsAsidePendingRedemptions(t *testing.T) {
	e, _ := dueSaleEnv(t, func(e *env) {
		e.place(`{"order_id": "ops-out-A", "type": "redemption", "investor_id": "INV-P", "folio": "F-P", "scheme_code": "A", "all_units": true, "placed_at": "` +
			e.clock.UTC().Format(time.RFC3339) + `"}`)
	})
	if got := e.db.Str(`SELECT string_agg(order_id || ' ' || scheme_code || ' ' || amount, ', ') FROM pool_fee_sales`); got != saleR1+" B 1.22" {
		t.Errorf("sale %s, want %s B 1.22", got, saleR1)
	}
}

// A database error while planning the sale is reported as itself, not as
// the pool's cash being short (review L2): the bill of 24 Aug (1.22, cash
// 0.00) reads the folio's holdings with their scheme terms; with that
// table gone (renamed by the owner) the bill fails naming the holdings'
// read and the missing relation, and is not ErrCashShort (which would
// tell an operator the pool cannot pay). Nothing is written.
func TestPoolFeeSaleDatabaseErrorIsNotCashShort(t *testing.T) {
	e := saleEnv(t)
	e.db.Exec(`ALTER TABLE scheme_terms RENAME TO scheme_terms_gone`)
	_, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	e.db.Exec(`ALTER TABLE scheme_terms_gone RENAME TO scheme_terms`)
	if err == nil || errors.Is(err, pool.ErrCashShort) || !strings.Contains(err.Error(), "holdings of F-P") || !strings.Contains(err.Error(), "scheme_terms") {
		t.Errorf("bill with the holdings unreadable: %v; want the database's error, not ErrCashShort", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM pool_fee_invoices`); n != 0 {
		t.Errorf("%d invoices written", n)
	}
}

// Cancelling a due invoice whose sale still waits in the ledger cancels
// that sale through the ledger (cancel request <order>-X): R1 (A 1.22,
// pending for 25 Aug's NAV) ends cancelled, nothing was sold into the
// cash, the 1.22 is released (still owed), the invoice is cancelled.
func TestPoolFeeCancelCancelsPendingSales(t *testing.T) {
	e, id := dueSaleEnv(t, nil)
	ev, err := e.pools.CancelFeeInvoice(e.ctx, id, "billed by mistake")
	if err != nil || ev.Released.String() != "1.22" || ev.SoldIntoCash.String() != "0.00" {
		t.Fatalf("cancel: %+v, %v", ev, err)
	}
	for q, want := range map[string]string{
		`SELECT status || ' ' || reason FROM orders WHERE request_id = '` + saleR1 + `'`:    "cancelled cancelled_by:" + saleR1 + "-X",
		`SELECT status FROM pool_fee_sales WHERE order_id = '` + saleR1 + `'`:               "failed",
		`SELECT status FROM pool_fee_invoices WHERE id = '` + id + `'`:                      "cancelled",
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`:                      "0.00 1.22",
		`SELECT count(*)::text FROM pool_fee_accruals WHERE invoice_id IS NULL AND fee > 0`: "1",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

// A sale the ledger holds (a restriction blocking the pool investor's
// redemptions, set after the bill) may never be allotted: the pass leaves
// the invoice due with a break row sale_held and the alert, and the sale
// waiting (not failed, not planned again).
func TestPoolFeeSaleHeldOpensABreak(t *testing.T) {
	e, id := dueSaleEnv(t, nil)
	e.db.Exec(`INSERT INTO investor_restrictions (investor_id, source, reason, blocks_purchase, blocks_redemption, updated_by)
		VALUES ('INV-P', 'kyc', 'kyc_on_hold', false, true, 'test')`)
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T21:00:00+05:30")
	e.allot()
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-24"), day("2026-08-24"), false)
	if err != nil || inv.Status != "due" {
		t.Fatalf("the pass: %s, %v", inv.Status, err)
	}
	for q, want := range map[string]string{
		`SELECT status FROM orders WHERE request_id = '` + saleR1 + `'`:                                            "pending_nav",
		`SELECT string_agg(order_id || ' ' || status, ', ') FROM pool_fee_sales`:                                   saleR1 + " placed",
		`SELECT reason || ' ' || (resolved_at IS NULL)::text FROM pool_fee_breaks WHERE invoice_id = '` + id + `'`: "sale_held true",
		`SELECT count(*)::text FROM alerts WHERE kind = 'pool_fee_unpayable' AND resolved_at IS NULL`:              "1",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

// Cancelling a due invoice with a performance fee takes its provision out
// of the NAV (releaseDue in the cancel's transaction): the liability is
// the accruals' again. By hand, investEnv: W1's 1,000.00 at 10.0000 on
// 20 Aug, 100 units, invested on 21 Aug in A 59.997 and B 19.999 units,
// cash 0.00; terms from 21 Aug: 36.5 % a year (0.1 % a day) and 20 % of
// the gain, the mark from 20 Aug's 10.0000.
//   - Mon 24 Aug, A 11.0000, B 19.0000: 659.97 + 379.98 = 1,039.95. The
//     accrual 21..24 Aug: 21..23 on 20 Aug's value after, 1,000.00, 3 ×
//     1.00; 24 Aug on 1,039.95, 1.03995; 4.03995 → 4.03, GST 0.7254 →
//     0.73: owed 4.76. NAV (1,039.95 − 4.76) / 100 = 10.3519.
//   - Crystallised 21..24 Aug: (10.3519 − 10.0000) × 100 = 35.19, 20 % =
//     7.038 → 7.03. Invoice: 4.03 + 7.03 = 11.06, GST 1.9908 → 1.99,
//     total 13.05; no cash, so due, A sold for 13.05; provisioned 13.05 −
//     4.03 − 0.73 = 8.29: the pool owes 13.05.
//   - Cancelled: the 8.29 released, the pool owes the accruals' 4.76
//     (released 4.76, 7.03 waived, nothing sold into the cash).
//   - Tue 25 Aug, same NAVs: 25 Aug on 1,039.95 − 4.76 = 1,035.19,
//     1.03519 → 1.03, GST 0.1854 → 0.19: owed 5.98; NAV (1,039.95 −
//     5.98) / 100 = 10.3397. (Without the release: on 1,026.90, 1.02 +
//     0.18, owed 14.25, NAV 10.2570.)
//   - Billed again (…-B2): the AUM fee 4.03 + 0.73 = 4.76, no performance
//     fee (the mark stays at 10.3519, the NAV of 24 Aug is not above it).
func TestPoolFeeCancelReleasesTheProvision(t *testing.T) {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	e.job("2026-08-20")
	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")
	e.allot()
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P3", From: day("2026-08-21"), AUMRatePct: pct("36.5"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.db.NAV("A", "2026-08-24", "11.0000")
	e.db.NAV("B", "2026-08-24", "19.0000")
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-24', 11, 't', 't', 1), ('B', '2026-08-24', 19, 't', 't', 1)`)
	e.clock = moneytest.IST("2026-08-24T21:00:00+05:30")
	if r := e.nav("P3", "2026-08-24"); r.NAV.String() != "10.3519" || r.FeeAccrued.String() != "4.76" {
		t.Fatalf("24 Aug: NAV %s accrued %s, want 10.3519 4.76", r.NAV, r.FeeAccrued)
	}
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-21"), day("2026-08-24"), true)
	if err != nil || inv.Status != "due" || inv.AUMFee.String()+" "+inv.PerfFee.String()+" "+inv.GST.String()+" "+inv.Total.String() != "4.03 7.03 1.99 13.05" {
		t.Fatalf("bill: %s %s + %s + %s = %s, %v; want due 4.03 + 7.03 + 1.99 = 13.05", inv.Status, inv.AUMFee, inv.PerfFee, inv.GST, inv.Total, err)
	}
	if got := e.db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`); got != "0.00 13.05" {
		t.Errorf("pool with the invoice due: %s, want 0.00 13.05", got)
	}
	ev, err := e.pools.CancelFeeInvoice(e.ctx, inv.ID, "performance fee waived")
	if err != nil || ev.Released.String() != "4.76" || ev.PerfFeeWaived.String() != "7.03" || ev.SoldIntoCash.String() != "0.00" {
		t.Fatalf("cancel: %+v, %v; want 4.76 released, 7.03 waived, nothing sold", ev, err)
	}
	if _, err := e.pools.CancelFeeInvoice(e.ctx, inv.ID, "again"); err != nil {
		t.Fatalf("cancelled again: %v", err)
	}
	for q, want := range map[string]string{
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`:                                            "0.00 4.76",
		`SELECT sum(amount)::numeric(18,2)::text FROM wallet_postings WHERE account = 'pool_fee_accrued:P3'`:      "4.76",
		`SELECT count(*)::text FROM wallet_postings WHERE account = 'pool_fee_accrued:P3' AND amount = -8.29`:     "1",
		`SELECT count(*)::text FROM pool_fee_accruals WHERE pool_id = 'P3' AND invoice_id IS NULL AND fee = 4.03`: "1",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("cancelled: %s: %s, want %s", q, got, want)
		}
	}
	e.checkJournal()
	// 25 Aug's scheme NAVs only now: the sale, pending for them, would
	// have been allotted at once and the invoice paid.
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T21:00:00+05:30")
	if r := e.nav("P3", "2026-08-25"); r.NAV.String() != "10.3397" || r.FeeAccrued.String() != "5.98" {
		t.Errorf("25 Aug: NAV %s accrued %s, want 10.3397 5.98", r.NAV, r.FeeAccrued)
	}
	inv, created, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-21"), day("2026-08-24"), true)
	if err != nil || !created || inv.ID != "PFEE-P3-2026-08-21-2026-08-24-B2" ||
		inv.AUMFee.String()+" "+inv.PerfFee.String()+" "+inv.GST.String()+" "+inv.Total.String() != "4.03 0.00 0.73 4.76" {
		t.Fatalf("billed again: %s %s + %s + %s = %s created %v, %v", inv.ID, inv.AUMFee, inv.PerfFee, inv.GST, inv.Total, created, err)
	}
	e.checkJournal()
}

// A due invoice with a performance fee whose sale is planned again is
// provisioned once (provisionDue by the invoice's ref; the pay step calls
// it again and it posts nothing). By hand, TestPoolDueInvoiceIsInTheNAV's
// bill: 7.99 + GST 1.44 = 9.43, due, provisioned 9.43 (no AUM fee), R1
// sells 9.43 of A. R1 is cancelled in the ledger; on 25 Aug at 10:00 (B's
// NAV of 25 Aug there) the pass plans R2 on B for 9.43, allotted at once,
// 9.43 swept in and paid: cash 0.00, the pool owes 0.00 (9.43 provisioned
// − 9.43 paid), one provision entry.
func TestPoolFeeSalePlannedAgainProvisionsOnce(t *testing.T) {
	e := investEnv(t)
	e.contribute("P3", "W1", "c1", "1000.00")
	e.clock = moneytest.IST("2026-08-20T21:00:00+05:30")
	e.job("2026-08-20")
	e.db.NAV("A", "2026-08-21", "10.0000")
	e.db.NAV("B", "2026-08-21", "20.0000")
	e.allot()
	if err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "P3", From: day("2026-08-21"), AUMRatePct: pct("0"), PerfPct: pct("20")}); err != nil {
		t.Fatal(err)
	}
	e.db.NAV("A", "2026-08-24", "11.0000")
	e.db.NAV("B", "2026-08-24", "19.0000")
	e.db.Exec(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-24', 11, 't', 't', 1), ('B', '2026-08-24', 19, 't', 't', 1)`)
	e.clock = moneytest.IST("2026-08-24T21:00:00+05:30")
	e.nav("P3", "2026-08-24")
	inv, _, err := e.pools.BillFees(e.ctx, "P3", day("2026-08-21"), day("2026-08-24"), true)
	if err != nil || inv.Status != "due" || inv.Total.String() != "9.43" {
		t.Fatalf("bill: %s %s, %v; want due 9.43", inv.Status, inv.Total, err)
	}
	r1, r2 := inv.ID+"-R1", inv.ID+"-R2"
	e.clock = moneytest.IST("2026-08-24T21:05:00+05:30")
	e.cancelOrder("ops-cancel-R1", r1)
	e.db.NAV("A", "2026-08-25", "11.0000")
	e.db.NAV("B", "2026-08-25", "19.0000")
	e.clock = moneytest.IST("2026-08-25T10:00:00+05:30")
	if inv, _, err = e.pools.BillFees(e.ctx, "P3", day("2026-08-21"), day("2026-08-24"), true); err != nil || inv.Status != "charged" {
		t.Fatalf("the pass after the cancel: %s, %v; want charged", inv.Status, err)
	}
	for q, want := range map[string]string{
		`SELECT string_agg(order_id || ' ' || scheme_code || ' ' || status, ', ' ORDER BY order_id) FROM pool_fee_sales`: r1 + " A failed, " + r2 + " B placed",
		`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P3'`:                                                   "0.00 0.00",
		`SELECT count(*)::text FROM wallet_transactions WHERE kind = 'pool_fee_accrual' AND ref = '` + inv.ID + `'`:      "1",
	} {
		if got := e.db.Str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	e.checkJournal()
}
