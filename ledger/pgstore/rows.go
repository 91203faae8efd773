package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Table is one of the ledger's tables as a bulk loader writes it, whole
// rows at a time: its name, its columns and a row's values in their order.
// internal/ledgerfix (INSERT, in one transaction) and internal/ledgergen
// (COPY, millions of rows) write the ledger through these, so the schema's
// column lists are spelled here and in the service's own statements above,
// nowhere else.
type Table[R any] struct {
	Name    string
	Columns []string
	values  func(R) []any
}

// Values returns r's values in the order of Columns.
func (t Table[R]) Values(r R) []any { return t.values(r) }

// Insert writes one row in tx.
func (t Table[R]) Insert(ctx context.Context, tx pgx.Tx, r R) error {
	ph := make([]string, len(t.Columns))
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	q := `INSERT INTO ` + t.Name + ` (` + strings.Join(t.Columns, ", ") + `) VALUES (` + strings.Join(ph, ", ") + `)`
	if _, err := tx.Exec(ctx, q, t.values(r)...); err != nil {
		return fmt.Errorf("%s: %w", t.Name, err)
	}
	return nil
}

// RequestRow is an order request as stored.
type RequestRow struct {
	ID, Kind, Body, BodySHA256, Source, Status string
	ReceivedAt                                 time.Time
}

// Requests is order_requests.
var Requests = Table[RequestRow]{"order_requests",
	[]string{"id", "kind", "body", "body_sha256", "source", "status", "received_at"},
	func(r RequestRow) []any {
		return []any{r.ID, r.Kind, r.Body, r.BodySHA256, r.Source, r.Status, r.ReceivedAt}
	}}

// OrderRow is an order leg as stored once it is decided (allotted).
type OrderRow struct {
	ID, RequestID, Kind, InvestorID, Folio, Scheme string
	Amount, Units                                  *decimal.Decimal // the one the order was placed by
	PlacedAt                                       time.Time
	FundsAt                                        *time.Time
	Status                                         fund.OrderStatus
	NAVDate                                        fund.Date
	NAVRule, NAVReason                             string
	PaymentID                                      string // "" → NULL
	TxID                                           int64
}

// Orders is orders.
var Orders = Table[OrderRow]{"orders",
	[]string{"id", "request_id", "kind", "investor_id", "folio_no", "scheme_code", "amount", "units",
		"placed_at", "funds_at", "status", "nav_date", "nav_rule", "nav_reason", "payment_id", "ledger_tx_id"},
	func(r OrderRow) []any {
		return []any{r.ID, r.RequestID, r.Kind, r.InvestorID, r.Folio, r.Scheme, r.Amount, r.Units,
			r.PlacedAt, r.FundsAt, string(r.Status), r.NAVDate.Time(), r.NAVRule, r.NAVReason, nullText(r.PaymentID), r.TxID}
	}}

// PaymentRow is a payment as stored.
type PaymentRow struct {
	ID, Gateway, OrderID, NotesOrderID string
	Amount                             decimal.Decimal
	Currency                           string
	Status                             fund.PaymentStatus
	RealisedAt                         time.Time
	RealisedEventID                    string // "" → NULL
	LastEventID                        string
	LastEventAt                        time.Time
	MatchStatus                        string
}

// Payments is payments.
var Payments = Table[PaymentRow]{"payments",
	[]string{"id", "gateway", "order_id", "notes_order_id", "amount", "currency", "status", "status_rank",
		"realised_at", "realised_event_id", "last_event_id", "last_event_at", "match_status"},
	func(r PaymentRow) []any {
		return []any{r.ID, r.Gateway, r.OrderID, r.NotesOrderID, r.Amount, r.Currency, string(r.Status), r.Status.Rank(),
			r.RealisedAt, nullText(r.RealisedEventID), r.LastEventID, r.LastEventAt, r.MatchStatus}
	}}

// InboxRow is a webhook event as stored.
type InboxRow struct {
	Source, EventID, EventType string
	Body                       []byte
	ReceivedAt                 time.Time
	Status                     string
	AppliedAt                  time.Time
}

// Inbox is inbox.
var Inbox = Table[InboxRow]{"inbox",
	[]string{"source", "event_id", "event_type", "body", "received_at", "status", "applied_at"},
	func(r InboxRow) []any {
		return []any{r.Source, r.EventID, r.EventType, r.Body, r.ReceivedAt, r.Status, r.AppliedAt}
	}}

// TxRow is a ledger transaction as stored.
type TxRow struct {
	ID                                           int64
	OrderID, Kind, Folio, Scheme                 string
	NAVDate                                      fund.Date
	NAV, Units, Amount, StampDuty, ExitLoad, Net decimal.Decimal
	PaymentID                                    string // "" → NULL
	PostedAt                                     time.Time
}

// Transactions is ledger_transactions.
var Transactions = Table[TxRow]{"ledger_transactions",
	[]string{"id", "order_id", "kind", "folio_no", "scheme_code", "nav_date", "nav", "units",
		"amount", "stamp_duty", "exit_load", "net_amount", "payment_id", "posted_at"},
	func(r TxRow) []any {
		return []any{r.ID, r.OrderID, r.Kind, r.Folio, r.Scheme, r.NAVDate.Time(), r.NAV, r.Units,
			r.Amount, r.StampDuty, r.ExitLoad, r.Net, nullText(r.PaymentID), r.PostedAt}
	}}

// PostingRow is one posting of a ledger transaction.
type PostingRow struct {
	TxID int64
	Seq  int
	fund.Posting
}

// Postings is ledger_postings.
var Postings = Table[PostingRow]{"ledger_postings",
	[]string{"tx_id", "seq", "account", "asset", "amount"},
	func(r PostingRow) []any { return []any{r.TxID, r.Seq, r.Account, r.Asset, r.Amount} }}

// LotRow is a purchase lot as stored.
type LotRow struct {
	ID                          int64
	Folio, Scheme               string
	TxID                        int64
	NAVDate                     fund.Date
	NAV, Units, Remaining, Cost decimal.Decimal
}

// Lots is holding_lots.
var Lots = Table[LotRow]{"holding_lots",
	[]string{"id", "folio_no", "scheme_code", "ledger_tx_id", "nav_date", "nav", "units", "units_remaining", "cost"},
	func(r LotRow) []any {
		return []any{r.ID, r.Folio, r.Scheme, r.TxID, r.NAVDate.Time(), r.NAV, r.Units, r.Remaining, r.Cost}
	}}

// ConsumptionRow is the part of a lot a redemption consumed.
type ConsumptionRow struct {
	TxID, LotID       int64
	Units             decimal.Decimal
	DaysHeld          int
	RatePct, ExitLoad decimal.Decimal
}

// Consumptions is lot_consumptions.
var Consumptions = Table[ConsumptionRow]{"lot_consumptions",
	[]string{"ledger_tx_id", "lot_id", "units", "days_held", "load_rate_pct", "exit_load"},
	func(r ConsumptionRow) []any {
		return []any{r.TxID, r.LotID, r.Units, r.DaysHeld, r.RatePct, r.ExitLoad}
	}}

// HoldingRow is a folio's holding in a scheme.
type HoldingRow struct {
	Folio, Scheme   string
	Units, Invested decimal.Decimal
	LastTxID        int64
}

// Holdings is holdings.
var Holdings = Table[HoldingRow]{"holdings",
	[]string{"folio_no", "scheme_code", "units", "invested", "last_tx_id"},
	func(r HoldingRow) []any { return []any{r.Folio, r.Scheme, r.Units, r.Invested, r.LastTxID} }}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}
