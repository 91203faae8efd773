package wallet

import (
	"context"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
)

// TopicPurchaseSwept is the event of an auto-invest purchase the ledger
// ended after the wallet paid it, its money back in the wallet.
const TopicPurchaseSwept = "autoinvest.purchase.swept"

// EndedPurchase is an auto-invest purchase the ledger ended (cancelled,
// or rejected after its payment) after the wallet paid it.
type EndedPurchase struct {
	OrderID  string
	WalletID string
	Gateway  string // the deposit's: the journal account the run debited
	Scheme   string
	Amount   fund.Amount
	Status   string // the order's: cancelled, rejected
	Reason   string
}

// PurchaseSwept is the autoinvest.purchase.swept event.
type PurchaseSwept struct {
	EventID  string      `json:"event_id"`
	WalletID string      `json:"wallet_id"`
	OrderID  string      `json:"order_id"`
	Scheme   string      `json:"scheme_code"`
	Amount   fund.Amount `json:"amount"`
	Status   string      `json:"order_status"`
	Reason   string      `json:"order_reason"`
}

// SweepEnded brings back into the wallet each auto-invest purchase the
// ledger ended after the wallet paid it. The ledger raises a refund-due
// break and alert and posts nothing, so the money is still the journal's
// wallet_cash:<gateway>; left there it would be refunded to the bank
// while the investor's standing instruction is to keep it invested from
// the wallet. Each in its own transaction (SweepEach): the run locked,
// the purchase re-read, its amount posted back (the same refund entry as
// a request refused at placement, unique on the order id: once, whatever
// crashes or reruns), the ledger's break and alert resolved, the event and
// an audit row. It returns how many it swept.
func (a *AutoInvest) SweepEnded(ctx context.Context, limit int) (int, error) {
	ids, err := a.Store.EndedPurchases(ctx, limit)
	if err != nil {
		return 0, err
	}
	return SweepEach(ctx, ids, "auto-invest: sweep purchase", func(ctx context.Context, id string) (bool, error) {
		swept := false
		err := a.Store.InAutoTx(ctx, func(tx AutoTx) error {
			p, ok, err := tx.EndedPurchase(ctx, id)
			if err != nil || !ok {
				return err // swept by a run before this one
			}
			wal, ok, err := tx.LockWallet(ctx, p.WalletID)
			if err != nil || !ok {
				return err
			}
			if _, inserted, err := tx.Post(ctx, refundEntry(wal.ID, p.Gateway, p.OrderID, p.Amount), p.Amount); err != nil || !inserted {
				return err
			}
			if err := tx.ResolveRefundDue(ctx, p.OrderID); err != nil {
				return err
			}
			ev := PurchaseSwept{EventID: TopicPurchaseSwept + ":" + p.OrderID, WalletID: wal.ID, OrderID: p.OrderID, Scheme: p.Scheme,
				Amount: p.Amount, Status: p.Status, Reason: p.Reason}
			w := &work{}
			if err := a.Wallet.PassOnClosed(ctx, tx, w, wal, "refund", p.OrderID, p.Amount); err != nil {
				return err
			}
			w.Events = append(w.Events, ledger.Event{ID: ev.EventID, Topic: TopicPurchaseSwept, Key: wal.ID, Payload: ev})
			w.Audits = append(w.Audits, ledger.AuditEntry{Entity: "wallet", ID: wal.ID, Action: "purchase_swept", Payload: ev})
			swept = true
			return a.Wallet.flush(ctx, tx, w)
		})
		return swept, err
	})
}
