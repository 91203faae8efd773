package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// DistributorPayout is a payee's statement for a month and its lines.
type DistributorPayout struct {
	Month     string               `json:"month"`
	Statement commission.Statement `json:"statement"`
	Lines     []commission.Line    `json:"lines"`
	Rounding  string               `json:"rounding"`
}

// Distributors serves the distributor routes (commissions/pgstore.Store).
type Distributors interface {
	// Subtree returns arn and every payee under it in any share tree.
	Subtree(ctx context.Context, arn string) ([]string, error)
	// Payout returns payee's payout of month (ok false: none).
	Payout(ctx context.Context, payee string, month fund.Date) (DistributorPayout, bool, error)
	// Explain says why bucket's trail for month differs from the month before.
	Explain(ctx context.Context, bucket string, month fund.Date) (commission.Explanation, error)
	// PayoutStatement returns what payee's payout PDF shows (ok false: none).
	PayoutStatement(ctx context.Context, payee string, month fund.Date) (commissions.PayoutPDF, bool, error)
}

// Who reads distributor payouts: the distributor (its own ARN and its
// sub-tree) and the staff who pay them.
var distributorReaders = []string{RoleDistributor, RoleOps, RoleCompliance, RoleAdmin}

// distributorFor checks the route's {arn} and {month} and that p may read
// them: a distributor token only its ARN's sub-tree (anything else is
// not_found, as another investor's folio is).
func (s *Server) distributorFor(r *http.Request, p Principal) (Distributors, string, fund.Date, error) {
	if s.cfg.Distributors == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "distributor commissions are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, "", fund.Date{}, prob
	}
	arn, m := r.PathValue("arn"), r.PathValue("month")
	month, err := fund.ParseISODate(m + "-01")
	if err != nil || len(m) != 7 {
		return nil, "", fund.Date{}, problem(http.StatusBadRequest, CodeBadRequest, "month: want YYYY-MM")
	}
	if p.Role == RoleDistributor {
		sub, err := s.cfg.Distributors.Subtree(r.Context(), p.ARN)
		if err != nil {
			return nil, "", fund.Date{}, err
		}
		if !slices.Contains(sub, arn) {
			return nil, "", fund.Date{}, notFound()
		}
	}
	return s.cfg.Distributors, arn, month, nil
}

// distributorPayout is GET /v1/distributors/{arn}/payouts/{month}.
func (s *Server) distributorPayout(w http.ResponseWriter, r *http.Request, p Principal) error {
	d, arn, month, err := s.distributorFor(r, p)
	if err != nil {
		return err
	}
	out, ok, err := d.Payout(r.Context(), arn, month)
	if err != nil {
		return err
	}
	if !ok {
		return notFound()
	}
	return writeJSON(w, out)
}

// distributorExplain is GET /v1/distributors/{arn}/payouts/{month}/explain:
// the ARN's trail against the month before, component by component.
func (s *Server) distributorExplain(w http.ResponseWriter, r *http.Request, p Principal) error {
	d, arn, month, err := s.distributorFor(r, p)
	if err != nil {
		return err
	}
	e, err := d.Explain(r.Context(), arn, month)
	if err != nil {
		return err
	}
	return writeJSON(w, e)
}
