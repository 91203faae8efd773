package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/fundflow/fundflow/investors"
)

// Payout holds (investors.PayoutHold): a payout account's balance or a
// refund due, held while the investor's default bank account is not
// verified. The investor sees theirs with the public reason; ops list
// everyone's with the internal subject and who released them.

// PayoutHolds reads the payout holds (investors/pgstore.Store).
type PayoutHolds = investors.PayoutHoldStore

func (s *Server) payoutHoldRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/investors/{id}/payout-holds", Roles: investorReaders, handle: s.investorPayoutHolds},
		{Method: "GET", Pattern: "/v1/ops/payout-holds", Roles: holdReviewers, handle: s.opsPayoutHolds},
	}
}

func (s *Server) payoutHolds() (PayoutHolds, error) {
	if s.cfg.PayoutHolds == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "payout holds are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.PayoutHolds, nil
}

// PayoutHoldView is a payout hold as the investor sees it: what is held,
// how much, the public reason, and when it was raised and released. No
// internal detail (the ledger account, the payment id, who released it).
type PayoutHoldView struct {
	Kind          string  `json:"kind"`            // payout (IDCW, switch payouts, redemption proceeds) or refund
	Folio         string  `json:"folio,omitempty"` // a payout's folio
	Amount        string  `json:"amount"`          // INR, 2 decimals
	Reason        string  `json:"reason"`          // bank_unverified, bank_verification_failed, no_bank_account
	Status        string  `json:"status"`          // held or released
	RaisedAt      string  `json:"raised_at"`
	ReleasedAt    *string `json:"released_at"`
	ReleaseReason string  `json:"release_reason,omitempty"` // bank_verified or settled
}

// OpsPayoutHoldView is a payout hold as ops see it.
type OpsPayoutHoldView struct {
	ID            int64   `json:"id"`
	InvestorID    string  `json:"investor_id"`
	Kind          string  `json:"kind"`    // payout_account or refund
	Subject       string  `json:"subject"` // payout:<folio> or the payment id
	Amount        string  `json:"amount"`
	Reason        string  `json:"reason"`
	RaisedAt      string  `json:"raised_at"`
	ReleasedAt    *string `json:"released_at"`
	ReleaseReason string  `json:"release_reason"`
	ReleasedBy    string  `json:"released_by"`
}

const holdTime = "2006-01-02T15:04:05.000Z07:00"

func fmtHoldTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(holdTime)
	return &s
}

// holdAmount is the amount in rupees and paise: rounded half away from
// zero to 2 places (the ledger keeps 9).
func holdAmount(h investors.PayoutHold) string { return h.Amount.Round(2).StringFixed(2) }

func investorPayoutHold(h investors.PayoutHold) PayoutHoldView {
	v := PayoutHoldView{Kind: "refund", Amount: holdAmount(h), Reason: h.Reason, Status: "held",
		RaisedAt: h.RaisedAt.UTC().Format(holdTime), ReleasedAt: fmtHoldTime(h.ReleasedAt), ReleaseReason: h.ReleaseReason}
	if h.Kind == "payout_account" {
		v.Kind, v.Folio = "payout", strings.TrimPrefix(h.Subject, "payout:")
	}
	if h.ReleasedAt != nil {
		v.Status = "released"
	}
	return v
}

// payoutHoldFilter reads all= and limit= (1 to 1000, default 100).
func payoutHoldFilter(r *http.Request, investorID string) (investors.PayoutHoldFilter, error) {
	q := r.URL.Query()
	f := investors.PayoutHoldFilter{InvestorID: investorID, OpenOnly: q.Get("all") != "true"}
	var err error
	f.Limit, err = holdLimit(q.Get("limit"))
	return f, err
}

// investorPayoutHolds is GET /v1/investors/{id}/payout-holds[?all=true&limit=]:
// the investor's held payouts and refunds, newest first (all=true: the
// released ones too). An investor reads only their own, as the record.
func (s *Server) investorPayoutHolds(w http.ResponseWriter, r *http.Request, p Principal) error {
	store, err := s.payoutHolds()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !readsInvestor(p, id) {
		return notFound()
	}
	f, err := payoutHoldFilter(r, id)
	if err != nil {
		return err
	}
	hs, err := store.PayoutHolds(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]PayoutHoldView, 0, len(hs))
	for _, h := range hs {
		out = append(out, investorPayoutHold(h))
	}
	return writeJSON(w, map[string]any{"payout_holds": out})
}

// opsPayoutHolds is GET /v1/ops/payout-holds[?investor_id=&all=true&limit=]:
// open payout holds of every investor, newest first.
func (s *Server) opsPayoutHolds(w http.ResponseWriter, r *http.Request, _ Principal) error {
	store, err := s.payoutHolds()
	if err != nil {
		return err
	}
	f, err := payoutHoldFilter(r, r.URL.Query().Get("investor_id"))
	if err != nil {
		return err
	}
	hs, err := store.PayoutHolds(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]OpsPayoutHoldView, 0, len(hs))
	for _, h := range hs {
		out = append(out, OpsPayoutHoldView{ID: h.ID, InvestorID: h.InvestorID, Kind: h.Kind, Subject: h.Subject, Amount: holdAmount(h),
			Reason: h.Reason, RaisedAt: h.RaisedAt.UTC().Format(holdTime), ReleasedAt: fmtHoldTime(h.ReleasedAt),
			ReleaseReason: h.ReleaseReason, ReleasedBy: h.ReleasedBy})
	}
	return writeJSON(w, map[string]any{"payout_holds": out})
}
