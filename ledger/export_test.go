package ledger

import "context"

// AllotPendingPerLeg is AllotPending with the per-leg batch: the reference
// the set-based pass is compared with.
func (s *Service) AllotPendingPerLeg(ctx context.Context, batch int) (AllotResult, error) {
	return s.allotPending(ctx, batch, s.allotLegs)
}

// FolioAligned is folioAligned, for its table test.
var FolioAligned = folioAligned
