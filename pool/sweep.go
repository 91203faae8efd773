package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/wallet"
)

// TopicInvestSwept is the event of a pool's purchase the ledger ended
// without an allotment after it was placed (cancelled, or rejected after
// its payment), its money back in the pool's cash.
const TopicInvestSwept = "pool.invest.swept"

// EndedLeg is a placed purchase leg of a pool whose order the ledger
// ended (cancelled or rejected) without an allotment, not swept yet.
type EndedLeg struct {
	OrderID string
	Pool    string
	Date    fund.Date // the batch's NAV date
	Scheme  string
	Amount  fund.Amount
	Status  string // the order's: cancelled, rejected
	Reason  string // the order's reason (cancelled_by:<request>, …)
}

// Swept is the pool.invest.swept event.
type Swept struct {
	EventID string      `json:"event_id"`
	Pool    string      `json:"pool_id"`
	OrderID string      `json:"order_id"`
	NAVDate string      `json:"nav_date"`
	Scheme  string      `json:"scheme_code"`
	Amount  fund.Amount `json:"amount"`
	Status  string      `json:"order_status"`
	Reason  string      `json:"order_reason"`
}

// SweepEnded brings back into the pool's cash each of its purchases the
// ledger ended without an allotment after the run placed it (a cancel, or
// a rejection after the wallet payment was captured: the ledger then
// raises a refund-due break and alert and posts nothing, so the money is
// still the wallet journal's wallet_cash:<gateway>). Without it such a leg
// stays in the NAV at cost for ever and its cash can never pay a
// withdrawal or a distribution. Each leg in its own transaction
// (wallet.SweepEach, the rebalance sweep's mechanism): the pool locked,
// the leg re-read locked, its amount posted back (pool_invest_refund,
// unique on the order id: once, whatever crashes or reruns), the leg
// marked so Investing no longer counts it, the ledger's refund due for it
// resolved (the refund is this entry), pool.invest.swept and an audit
// row. It returns how many legs it swept.
func (s *Service) SweepEnded(ctx context.Context, poolID string) (int, error) {
	if s.Ledger == nil {
		return 0, nil
	}
	var ids []string
	if err := s.Store.InTx(ctx, func(tx Tx) (err error) { ids, err = tx.EndedLegs(ctx, poolID); return err }); err != nil {
		return 0, fmt.Errorf("pool %s ended purchases: %w", poolID, err)
	}
	gw := wallet.AccountCash(s.Ledger.GatewayName())
	return wallet.SweepEach(ctx, ids, "pool "+poolID+": sweep purchase", func(ctx context.Context, id string) (bool, error) {
		swept := false
		err := s.inTx(ctx, func(tx Tx, w *work) error {
			p, ok, err := tx.LockPool(ctx, poolID)
			if err != nil || !ok {
				return errors.Join(err, boolErr(ok, ErrNoPool))
			}
			leg, ok, err := tx.EndedLeg(ctx, id)
			if err != nil || !ok || leg.Pool != poolID {
				return err // swept by a run before this one
			}
			if s.crash != nil {
				if err := s.crash("sweep", poolID); err != nil {
					return err
				}
			}
			if err := returnLeg(ctx, tx, &p, gw, leg.OrderID, leg.Amount); err != nil {
				return err
			}
			if err := tx.SweptLeg(ctx, leg.OrderID); err != nil {
				return err
			}
			if err := tx.UpdatePool(ctx, p); err != nil {
				return err
			}
			ev := Swept{EventID: TopicInvestSwept + ":" + leg.OrderID, Pool: poolID, OrderID: leg.OrderID, NAVDate: leg.Date.String(),
				Scheme: leg.Scheme, Amount: leg.Amount, Status: leg.Status, Reason: leg.Reason}
			w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicInvestSwept, Key: poolID, Payload: ev})
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "pool", ID: poolID, Action: "invest_swept", Payload: ev})
			swept = true
			return nil
		})
		return swept, err
	})
}
