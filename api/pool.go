package api

import (
	"context"
	"net/http"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
)

// Pools is what the pool route reads (pool.Service).
type Pools interface {
	Members(ctx context.Context, walletID string) ([]pool.MemberView, error)
	// MembersAt: as they stood at the end of day (a statement's end).
	MembersAt(ctx context.Context, walletID string, day fund.Date) ([]pool.MemberView, error)
}

var _ Pools = (*pool.Service)(nil)

// walletPools is GET /v1/wallets/{id}/pools: the pools a wallet is a
// member of, its units and their value at the latest pool NAV. The same
// object-level check as GET /v1/wallets/{id}: an investor reads its own
// wallet's (another's answers the same 404 as none).
func (s *Server) walletPools(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.Wallets == nil || s.cfg.Pools == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "pools are not served here")
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
	ms, err := s.cfg.Pools.Members(r.Context(), v.ID)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []pool.MemberView{}
	}
	return writeJSON(w, struct {
		WalletID string            `json:"wallet_id"`
		Pools    []pool.MemberView `json:"pools"`
	}{v.ID, ms})
}
