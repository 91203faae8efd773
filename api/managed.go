package api

import (
	"context"
	"net/http"

	"github.com/fundflow/fundflow/wallet"
)

// Wallets is what the wallet route reads (wallet.Service).
type Wallets interface {
	View(ctx context.Context, id string) (wallet.View, bool, error)
}

var _ Wallets = (*wallet.Service)(nil)

// walletView is GET /v1/wallets/{id}: an investor reads its own wallet
// (and a token narrowed to folios, a wallet investing into one of them);
// another's answers the same 404 as none.
func (s *Server) walletView(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.Wallets == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "wallets are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return prob
	}
	v, ok, err := s.cfg.Wallets.View(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !ok || !p.MayReadFolio(v.Folio, v.InvestorID) {
		return notFound()
	}
	return writeJSON(w, v)
}
