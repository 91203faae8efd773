package notifyjob

import (
	"context"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
)

// Receipts reconciles delivery receipts: a status callback (DLR) can be
// lost (our API down when the gateway called, the gateway giving up), so
// the messages the gateway took more than After ago and still without a
// receipt are asked about (Twilio: a fetch of the message) and the final
// answers recorded as the callback would have (delivered, or failed with a
// dead letter). Messages older than Within are no longer asked about: the
// gateway's own retention of a status, 72 h at Twilio.
type Receipts struct {
	Store  pgstore.Store
	Poller notify.ReceiptPoller
	After  time.Duration // default 10 min: the callback's usual time
	Within time.Duration // default 72 h
	Batch  int           // messages per pass; 0: DefaultBatch
	Now    func() time.Time
}

// Pass asks about one batch and returns how many receipts it recorded.
func (r Receipts) Pass(ctx context.Context) (int, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	after, within, batch := r.After, r.Within, r.Batch
	if after <= 0 {
		after = 10 * time.Minute
	}
	if within <= 0 {
		within = 72 * time.Hour
	}
	if batch <= 0 {
		batch = DefaultBatch
	}
	ids, err := r.Store.AwaitingReceipt(ctx, r.Poller.Provider(), now.Add(-within), now.Add(-after), batch)
	if err != nil {
		return 0, err
	}
	recorded := 0
	for _, id := range ids {
		rc, err := r.Poller.Status(ctx, id)
		if err != nil {
			return recorded, fmt.Errorf("notify receipts: %w", err)
		}
		if !rc.Final {
			continue
		}
		ok, err := r.Store.Receipt(ctx, rc.Provider, rc.ProviderID, rc.Delivered, rc.Reason, now.UTC())
		if err != nil {
			return recorded, fmt.Errorf("notify receipts: %w", err)
		}
		if ok {
			recorded++
		}
	}
	return recorded, nil
}
