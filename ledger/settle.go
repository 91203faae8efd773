package ledger

import (
	"fmt"

	"github.com/fundflow/fundflow/fund"
)

// settleUnallotted gives the money of a leg that ended without an allotment
// (rejected or cancelled, for any reason, by any path) a home, in the
// transaction that ended it. It is the one mechanism; setStatus calls it.
//
//   - A purchase whose payment was captured: the captured money is due back
//     to the investor. A refund-due payment break (cancelled_after_payment or
//     rejected_after_payment) and an alert; the payment leaves "matched".
//     A leg rejected because the gateway refunded the payment needs none.
//   - A switch-in whose switch-out was allotted: the switch's clearing
//     account holds the switch-out's payout. It is paid out to the investor
//     (a switch_payout ledger transaction: switch:<id> → payout:<folio>) with
//     an alert, so the clearing account is zero after both legs.
//
// So every rupee captured is either allotted or refund-due, and no switch
// leaves money in its clearing account.
func (t *txn) settleUnallotted(r *legRow) error {
	if r.Status != fund.Rejected && r.Status != fund.Cancelled {
		return nil
	}
	switch {
	case r.Kind == fund.Purchase && r.PaymentID != nil && r.Reason != reasonPaymentRefunded:
		reason, what := fund.BreakRejectedPaid, "rejected ("+r.Reason+")"
		if r.Status == fund.Cancelled {
			reason, what = fund.BreakCancelledPaid, "cancelled ("+r.Reason+")"
		}
		detail := fmt.Sprintf("order %s was %s after payment %s was captured: refund due", r.ID, what, *r.PaymentID)
		if err := t.breakPayment(*r.PaymentID, r.ID, reason, detail); err != nil {
			return err
		}
		if err := t.db.RaiseAlert(t.ctx, AlertRefundDue, *r.PaymentID, detail); err != nil {
			return fmt.Errorf("alert %s: %w", *r.PaymentID, err)
		}
	case r.Kind == fund.SwitchIn && r.SwitchID != "":
		return t.switchPayout(r)
	}
	return nil
}

// switchPayout pays what the switch's clearing account holds out to the
// investor when switch-in leg in ended without an allotment. The ledger
// transaction is the switch-in leg's (order_id), dated and priced like the
// switch-out that filled the account, in the switch-out's scheme; it moves
// no units.
func (t *txn) switchPayout(in *legRow) error {
	acct := fund.AccountSwitch(in.SwitchID)
	bal, err := t.db.ClearingBalance(t.ctx, acct)
	if err != nil {
		return fmt.Errorf("switch %s: clearing balance: %w", in.SwitchID, err)
	}
	if bal.IsZero() {
		return nil // the switch-out was not allotted (or paid nothing)
	}
	amt, err := fund.AmountFromDecimal(bal, fund.NoRounding)
	if err != nil || amt.IsNegative() {
		return fmt.Errorf("switch %s: clearing account holds %s", in.SwitchID, bal)
	}
	a := fund.Allocation{OrderID: in.ID, SwitchID: in.SwitchID, Folio: in.Folio, Units: fund.MustUnits("0", 0), Amount: amt, Net: amt}
	scheme, navDate, nav, err := t.db.TxPrice(t.ctx, fund.SwitchOutLeg(in.SwitchID))
	if err != nil {
		return fmt.Errorf("switch %s: its switch-out: %w", in.SwitchID, err)
	}
	a.Scheme, a.NAVDate = scheme, navDate
	if a.NAV, err = fund.AppliedNAV(nav); err != nil {
		return fmt.Errorf("switch %s: %w", in.SwitchID, err)
	}
	a.Postings = []fund.Posting{
		{Account: acct, Asset: fund.AssetINR, Amount: amt.Decimal().Neg()},
		{Account: fund.AccountPayout(in.Folio), Asset: fund.AssetINR, Amount: amt.Decimal()},
	}
	if err := fund.CheckPostings(a.Postings); err != nil {
		return fmt.Errorf("post %s: %w", in.ID, err)
	}
	p, err := t.db.PostTransaction(t.ctx, in.ID, fund.KindSwitchPayout, a)
	if err != nil {
		return fmt.Errorf("switch %s: payout: %w", in.SwitchID, err)
	}
	t.emitTx(in, fund.KindSwitchPayout, a, p)
	detail := fmt.Sprintf("switch %s: switch-in %s ended %s (%s); the switch-out's %s was paid out to folio %s (ledger transaction %d)",
		in.SwitchID, in.ID, in.Status, in.Reason, amt, in.Folio, p.TxID)
	if err := t.db.RaiseAlert(t.ctx, AlertSwitchPayout, in.SwitchID, detail); err != nil {
		return fmt.Errorf("alert %s: %w", in.SwitchID, err)
	}
	return nil
}
