package ledger

import (
	"time"

	"github.com/fundflow/fundflow/fund"
)

// announcePayment emits payments.status for a payment that just moved
// forward (same transaction as the payment row, so the fraud evaluation's
// card-testing rule sees every failed payment once). leg is its order (nil
// while unmatched: the investor is then notes.investor_id, if any).
func (t *txn) announcePayment(p fund.PaymentEvent, leg *Leg) {
	ev := fund.PaymentStatusChanged{EventID: fund.TopicPaymentStatus + ":" + p.PaymentID + ":" + string(p.Status), PaymentID: p.PaymentID,
		InvestorID: p.NotesInvestorID, Status: string(p.Status), Amount: p.Amount.String(), Method: p.Method, ErrorCode: p.ErrorCode,
		At: p.EventAt.UTC().Format(time.RFC3339Nano)}
	if leg != nil {
		ev.OrderID, ev.InvestorID, ev.FolioNo = leg.ID, leg.InvestorID, leg.Folio
	}
	key := ev.InvestorID
	if key == "" {
		key = p.PaymentID
	}
	t.emit(fund.TopicPaymentStatus, ev.EventID, key, ev)
}
