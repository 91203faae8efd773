package api

import (
	"context"
	"net/http"

	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/fund"
)

// Analytics answers the analytics routes (analytics/query.Service).
type Analytics interface {
	Scheme(ctx context.Context, code string) (*query.SchemeAnalytics, error)
	Folio(ctx context.Context, folio string, asOf fund.Date) (*query.FolioRisk, error)
}

var (
	_ Analytics = query.Service{}
	_ Analytics = (*query.Cached)(nil)
)

func (s *Server) analyticsService() (Analytics, error) {
	if s.cfg.Analytics == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "analytics are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.Analytics, nil
}

// schemeAnalytics is GET /v1/schemes/{code}/analytics: any role (scheme
// figures are public data, like its NAVs); 404 for a scheme in no model.
func (s *Server) schemeAnalytics(w http.ResponseWriter, r *http.Request, _ Principal) error {
	code := r.PathValue("code")
	if code == "" || len(code) > 32 {
		return badRequest("code: not a scheme code")
	}
	svc, err := s.analyticsService()
	if err != nil {
		return err
	}
	a, err := svc.Scheme(r.Context(), code)
	if err != nil {
		return err
	}
	if a == nil {
		return notFound()
	}
	return writeJSON(w, a)
}

// folioRisk is GET /v1/folios/{folio}/risk: the folio readers, with the
// object-level check of every folio route (not the caller's: 404).
func (s *Server) folioRisk(w http.ResponseWriter, r *http.Request, p Principal) error {
	folio := r.PathValue("folio")
	asOf, err := dateParam(r, "as_of")
	if err != nil {
		return err
	}
	if _, err := s.folioFor(r.Context(), p, folio); err != nil {
		return err
	}
	svc, err := s.analyticsService()
	if err != nil {
		return err
	}
	day := s.today()
	if asOf != nil {
		day = *asOf
	}
	fr, err := svc.Folio(r.Context(), folio, day)
	if err != nil {
		return err
	}
	return writeJSON(w, fr)
}
