package pool

import (
	"context"

	"github.com/fundflow/fundflow/fund"
)

// SetCrash makes investing stop at a stage ("debited": before placing,
// "paid": placed and paid, not finished; "sweep": inside a leg's sweep
// transaction, before its entry) when f returns an error.
func (s *Service) SetCrash(f func(stage, poolID string) error) { s.crash = f }

// ReleaseDue runs releaseDue on the pool's invoice of the period starting
// from (what cancelling a due invoice must do), in its own transaction.
func (s *Service) ReleaseDue(ctx context.Context, poolID string, from fund.Date) error {
	return s.inTx(ctx, func(tx Tx, w *work) error {
		p, _, err := tx.LockPool(ctx, poolID)
		if err != nil {
			return err
		}
		inv, _, err := tx.FeeInvoice(ctx, poolID, from)
		if err != nil {
			return err
		}
		return s.releaseDue(ctx, tx, &p, inv)
	})
}
