package ledger

import (
	"context"
	"errors"
)

// PlaceHoldIn is PlaceHold inside a caller's transaction db (the fraud
// evaluation's: the alert and its hold commit together, so no allotment
// can slip between them). Same checks, locks (folio, then leg) and
// outbox/audit rows as PlaceHold; the caller commits. The caller's own
// locks must come before the ledger's in its lock order (the fraud tables
// are never locked by a ledger transaction, so they may).
func (s *Service) PlaceHoldIn(ctx context.Context, db Tx, req HoldRequest) (Hold, bool, error) {
	if req.OrderID == "" {
		return Hold{}, false, errors.New("hold: order id is empty")
	}
	if err := checkHold(req); err != nil {
		return Hold{}, false, err
	}
	t := &txn{ctx: ctx, db: db, svc: s, locked: map[string]bool{}, keyed: map[string]bool{}}
	h, created, err := t.holdLeg(req)
	if err != nil {
		return h, false, err
	}
	return h, created, t.flush()
}
