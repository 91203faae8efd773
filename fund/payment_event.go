package fund

// TopicPaymentStatus is the money path's payments.status topic: a payment
// moved forward at the gateway (PaymentStatusChanged), keyed by investor so
// the fraud evaluation sees one investor's payments in order.
const TopicPaymentStatus = "payments.status"

// PaymentStatusChanged is the payload of payments.status, written by the
// ledger in the transaction that moved the payment row (only when it moved:
// a replayed or stale webhook emits nothing). Amount is rupees, exact.
type PaymentStatusChanged struct {
	EventID    string `json:"event_id"` // payments.status:<payment id>:<status>
	PaymentID  string `json:"payment_id"`
	OrderID    string `json:"order_id"`              // "" while the payment is unmatched
	InvestorID string `json:"investor_id,omitempty"` // the order's investor, else notes.investor_id; "" if neither is known
	FolioNo    string `json:"folio_no"`
	Status     string `json:"status"` // created, authorized, failed, captured, refunded
	Amount     string `json:"amount"`
	Method     string `json:"method,omitempty"`
	ErrorCode  string `json:"error_code,omitempty"` // a failed payment's gateway error code
	At         string `json:"at"`                   // the gateway's event time, RFC 3339 UTC
}
