package console

import (
	"net/http"

	"github.com/fundflow/fundflow/investors"
	investorstore "github.com/fundflow/fundflow/investors/pgstore"
)

// The payout holds page: payouts (a folio's payout account balance) and
// refunds due held while the investor's default bank account is not
// verified. Read only: the bank verification pass releases them (the
// account verified, or the money no longer owed), as GET
// /v1/ops/payout-holds lists them.

func (h *Handler) payoutHolds(w http.ResponseWriter, r *http.Request, s session) error {
	hs, err := investorstore.Store{Pool: h.cfg.Store.PG.Pool}.PayoutHolds(r.Context(), investors.PayoutHoldFilter{OpenOnly: true, Limit: 500})
	if err != nil {
		return err
	}
	h.render(w, http.StatusOK, "payoutholds", h.view(r, s, "Payout holds", "payoutholds", hs))
	return nil
}
