package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/tax"
)

// Tax is what the capital-gains route reads (tax.Service).
type Tax interface {
	Statement(ctx context.Context, investor string, fy ftax.FY) (*tax.Statement, error)
}

var _ Tax = (*tax.Service)(nil)

// taxReaders: the investor (their own), the staff who serve investors and
// compliance.
var taxReaders = []string{RoleInvestor, RoleOps, RoleCompliance, RoleAdmin}

// mayReadInvestor: staff read any investor; an investor reads their own,
// and only with a token not narrowed to some folios (an investor-wide
// statement would show the others).
func (p Principal) mayReadInvestor(id string) bool {
	switch p.Role {
	case RoleOps, RoleCompliance, RoleAdmin:
		return true
	case RoleInvestor:
		return p.InvestorID != "" && p.InvestorID == id && len(p.Folios) == 0
	}
	return false
}

// capitalGains is GET /v1/investors/{id}/capital-gains?fy=2025-26[&format=
// json|csv|schedule112a]: the year's realised gains scheme-wise and
// lot-wise (fund/tax's rules, as `fundflow check gains`), or the lot-wise
// CSV, or the equity LTCG rows in the ITR Schedule 112A layout.
func (s *Server) capitalGains(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.cfg.Tax == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "capital gains are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return prob
	}
	id := r.PathValue("id")
	q := r.URL.Query()
	fy, err := ftax.ParseFY(q.Get("fy"))
	if err != nil {
		return badRequest("fy: the financial year as YYYY-YY, e.g. 2025-26")
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" && format != "schedule112a" {
		return badRequest("format: json, csv or schedule112a")
	}
	if !p.mayReadInvestor(id) {
		return notFound()
	}
	st, err := s.cfg.Tax.Statement(r.Context(), id, fy)
	if errors.Is(err, tax.ErrUnknownInvestor) {
		return notFound()
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	if format == "json" {
		return writeJSON(w, st)
	}
	// written whole first: a failure half way is a 500, not a cut file
	var buf bytes.Buffer
	write, name := tax.WriteCSV, "capital-gains"
	if format == "schedule112a" {
		write, name = tax.WriteSchedule112A, "schedule-112a"
	}
	if err := write(&buf, st, true); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", disposition("attachment", name, id, fy.String(), ".csv"))
	_, err = buf.WriteTo(w)
	return err
}
