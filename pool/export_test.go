package pool

import (
	"context"
)

// SetCrash makes investing stop at a stage ("debited": before placing,
// "paid": placed and paid, not finished; "sweep": inside a leg's sweep
// transaction, before its entry) when f returns an error.
func (s *Service) SetCrash(f func(stage, poolID string) error) { s.crash = f }

// ReleaseDue runs releaseDue on the pool's invoice id (any status: what
// cancelling a due invoice does), in its own transaction.
func (s *Service) ReleaseDue(ctx context.Context, poolID, id string) error {
	return s.inTx(ctx, func(tx Tx, w *work) error {
		p, _, err := tx.LockPool(ctx, poolID)
		if err != nil {
			return err
		}
		inv, _, err := tx.FeeInvoiceByID(ctx, id)
		if err != nil {
			return err
		}
		return s.releaseDue(ctx, tx, &p, inv)
	})
}
