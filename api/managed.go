package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/wallet"
	"github.com/shopspring/decimal"
)

// Wallets is what the wallet routes use (wallet.Service).
type Wallets interface {
	View(ctx context.Context, id string) (wallet.View, bool, error)
	CancelWithdrawal(ctx context.Context, walletID, requestID string) (wallet.Withdrawn, error)
}

// WalletStatements reads a folio's wallet lines for its statement
// (wallet.Service).
type WalletStatements interface {
	Statement(ctx context.Context, folio string, from, to fund.Date) ([]wallet.StatementLines, error)
}

var _ WalletStatements = (*wallet.Service)(nil)

// Who may cancel a parked withdrawal: the investor and the staff who act
// for investors (compliance reads).
var walletWriters = []string{RoleInvestor, RoleOps, RoleAdmin}

// CodeWithdrawalNotPending (409): the withdrawal was paid to the bank
// already, so there is nothing to cancel.
const CodeWithdrawalNotPending = "withdrawal_not_pending"

// CodeWalletClosed (409): the withdrawal is a closed wallet's payout,
// never cancelled back into it (wallet.ClosedPayoutHelp says what
// releases it).
const CodeWalletClosed = "wallet_closed"

var _ Wallets = (*wallet.Service)(nil)

// walletView is GET /v1/wallets/{id}: an investor reads its own wallet
// (and a token narrowed to folios, a wallet investing into one of them);
// another's answers the same 404 as none.
func (s *Server) walletView(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := s.walletFor(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, v)
}

// walletFor reads the route's wallet if the caller may see it (the same
// 404 for another's as for none).
func (s *Server) walletFor(r *http.Request, p Principal) (wallet.View, error) {
	if s.cfg.Wallets == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "wallets are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return wallet.View{}, prob
	}
	v, ok, err := s.cfg.Wallets.View(r.Context(), r.PathValue("id"))
	if err != nil {
		return wallet.View{}, err
	}
	if !ok || !p.MayReadFolio(v.Folio, v.InvestorID) {
		return wallet.View{}, notFound()
	}
	return v, nil
}

// withdrawalView is a withdrawal as the investor sees it: a parked one is
// "pending" (under review), never the restriction's source.
type withdrawalView struct {
	WalletID  string `json:"wallet_id"`
	RequestID string `json:"request_id"`
	Amount    string `json:"amount"`
	Status    string `json:"status"`
	Balance   string `json:"balance"`
}

// cancelWithdrawal is POST /v1/wallets/{id}/withdrawals/{wid}/cancel: a
// parked withdrawal's money goes back into the wallet, once. A replay
// answers 200 with the same state; one paid already 409; a request the
// wallet never made 404 (as does another's wallet).
func (s *Server) cancelWithdrawal(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := s.walletFor(r, p)
	if err != nil {
		return err
	}
	out, err := s.cfg.Wallets.CancelWithdrawal(r.Context(), v.ID, r.PathValue("wid"))
	switch {
	case errors.Is(err, wallet.ErrNoWithdrawal):
		return notFound()
	case errors.Is(err, wallet.ErrNotPending):
		return &Problem{Type: "https://fundflow.dev/problems/" + CodeWithdrawalNotPending, Title: "Conflict", Status: http.StatusConflict,
			Code: CodeWithdrawalNotPending, Detail: "the withdrawal was paid to the bank already; only a pending one can be cancelled"}
	case errors.Is(err, wallet.ErrClosed):
		return &Problem{Type: "https://fundflow.dev/problems/" + CodeWalletClosed, Title: "Conflict", Status: http.StatusConflict,
			Code: CodeWalletClosed, Detail: wallet.ClosedPayoutHelp}
	case err != nil:
		return err
	}
	return writeJSON(w, withdrawalView{WalletID: out.WalletID, RequestID: out.RequestID, Amount: out.Amount.String(), Status: out.Status, Balance: out.Balance.String()})
}

// statementWallets reads the statement lines of the wallets investing into
// folio and each one's pools (nil when wallets are not served here).
func (s *Server) statementWallets(ctx context.Context, folio string, from, to fund.Date) ([]StatementWallet, error) {
	if s.cfg.WalletStatements == nil {
		return nil, nil
	}
	ls, err := s.cfg.WalletStatements.Statement(ctx, folio, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]StatementWallet, len(ls))
	for i, l := range ls {
		out[i].Lines = l
		if s.cfg.Pools == nil {
			continue
		}
		if out[i].Pools, err = s.cfg.Pools.MembersAt(ctx, l.WalletID, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// StatementWallet is a wallet's part of a folio statement: its balances,
// movements and rebalances in the period, and its pool holdings at the
// period's end (each pool's NAV of that day or the latest before it).
type StatementWallet struct {
	Lines wallet.StatementLines
	Pools []pool.MemberView
}

// WalletDrift measures a wallet's drift from its model
// (wallet.Rebalancer.Drift, the rebalancer's own measure).
type WalletDrift interface {
	Drift(ctx context.Context, walletID string, thresholdPP decimal.Decimal) (wallet.DriftView, error)
}

var _ WalletDrift = (*wallet.Rebalancer)(nil)

// walletDrift is GET /v1/wallets/{id}/drift: each scheme's weight at its
// latest NAV against the model's target, the threshold and whether a
// rebalance is due. The same access as walletView; a wallet without
// auto-invest terms has no model to drift from (404).
func (s *Server) walletDrift(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.Drift == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "wallet drift is not served here")
		prob.RetryAfter = retryAfterUnavailable
		return prob
	}
	v, err := s.walletFor(r, p)
	if err != nil {
		return err
	}
	// Absent (nil) is the default; 0 is kept as 0, not read as "not set":
	// a threshold of 0 is what the config and `managed rebalance
	// --threshold 0` accept and mean (any drift over 0 is due, the check's
	// own reading), so the route shows what the check would do.
	th := wallet.DefaultThresholdPP
	if s.cfg.DriftThresholdPP != nil {
		th = *s.cfg.DriftThresholdPP
	}
	d, err := s.cfg.Drift.Drift(r.Context(), v.ID, th)
	if errors.Is(err, wallet.ErrNoTerms) || errors.Is(err, wallet.ErrNoWallet) {
		return problem(http.StatusNotFound, CodeNotFound, "the wallet has no auto-invest model to drift from")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, d)
}

// walletFees is GET /v1/wallets/{id}/fees: the fees billed to the wallet,
// oldest period first (wallet.Charged). The same access as walletView.
func (s *Server) walletFees(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.FeeCharges == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "wallet fees are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return prob
	}
	v, err := s.walletFor(r, p)
	if err != nil {
		return err
	}
	fs, err := wallet.Charged(r.Context(), s.cfg.FeeCharges, v.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		WalletID string             `json:"wallet_id"`
		Fees     []wallet.FeeCharge `json:"fees"`
	}{v.ID, fs})
}
