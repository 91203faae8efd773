package investors

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// PayoutHold is one payout_holds row: money owed to an investor that is
// not an order leg (a payout account's balance, a refund due), held while
// their default bank account is not verified (see Banks).
type PayoutHold struct {
	ID            int64
	InvestorID    string
	Kind          string // payout_account or refund
	Subject       string // internal: the payout account (payout:<folio>) or the payment id
	Amount        decimal.Decimal
	Reason        string // the bank restriction's public reason: bank_unverified, bank_verification_failed, no_bank_account
	RaisedAt      time.Time
	ReleasedAt    *time.Time
	ReleaseReason string // bank_verified or settled; "" while held
	ReleasedBy    string
}

// PayoutHoldFilter narrows PayoutHoldStore.PayoutHolds.
type PayoutHoldFilter struct {
	InvestorID string // "": every investor
	OpenOnly   bool
	Limit      int // at most; <= 0: 100
}

// PayoutHoldStore reads the payout holds (investors/pgstore).
type PayoutHoldStore interface {
	// PayoutHolds lists the holds the filter names, newest first.
	PayoutHolds(ctx context.Context, f PayoutHoldFilter) ([]PayoutHold, error)
}
