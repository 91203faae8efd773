package fund

import "time"

// OutboxEvent is one event the money path wrote to its outbox, in the
// transaction that made it true. Payload is the event's JSON (one of the
// …Event types below); EventID is deterministic, so a consumer that sees an
// event twice (at-least-once delivery) drops the second.
type OutboxEvent struct {
	Seq       int64 // the outbox row id: increasing in commit order per key
	EventID   string
	Topic     string // TopicTransactions, TopicOrderStatus
	Key       string // the folio: one folio's events keep their order
	Payload   []byte
	CreatedAt time.Time
}

// The money path's event topics (outbox rows, Kafka topics).
const (
	TopicTransactions = "transactions.completed" // one allotted order leg: TransactionCompleted
	TopicOrderStatus  = "orders.status"          // an order leg changed status: OrderStatusChanged
)

// TransactionCompleted is the payload of transactions.completed: one
// allotted order leg. Decimals are strings, exact.
type TransactionCompleted struct {
	EventID    string `json:"event_id"`
	TxID       int64  `json:"tx_id"`
	OrderID    string `json:"order_id"`
	RequestID  string `json:"request_id"`
	SwitchID   string `json:"switch_id,omitempty"`
	Kind       string `json:"kind"` // purchase, redemption, switch_out, switch_in
	Folio      string `json:"folio"`
	InvestorID string `json:"investor_id"`
	SchemeCode string `json:"scheme_code"`
	NAVDate    string `json:"nav_date"` // YYYY-MM-DD
	NAV        string `json:"nav"`
	Units      string `json:"units"`
	Amount     string `json:"amount"`     // purchase: gross paid; redemption: units × NAV
	StampDuty  string `json:"stamp_duty"` // purchases
	ExitLoad   string `json:"exit_load"`  // redemptions
	NetAmount  string `json:"net_amount"` // purchase: invested; redemption: payout
	PaymentID  string `json:"payment_id,omitempty"`
	PlacedAt   string `json:"placed_at"` // RFC 3339, UTC
	PostedAt   string `json:"posted_at"`
}

// OrderStatusChanged is the payload of orders.status: an order leg (or a
// refused request) reached a status.
type OrderStatusChanged struct {
	EventID    string `json:"event_id"`
	OrderID    string `json:"order_id"`
	RequestID  string `json:"request_id"`
	SwitchID   string `json:"switch_id,omitempty"`
	Kind       string `json:"kind"`
	Folio      string `json:"folio"`
	SchemeCode string `json:"scheme_code"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
	NAVDate    string `json:"nav_date,omitempty"`
	TxID       int64  `json:"tx_id,omitempty"`
	At         string `json:"at"`
}
