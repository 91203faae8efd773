package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/wallet"
)

// RiskProfiles is what the risk-profile routes use (wallet.Risk).
type RiskProfiles interface {
	Assess(ctx context.Context, investorID string, answers map[string]string) (wallet.RiskProfile, error)
	Profile(ctx context.Context, investorID string) (wallet.RiskProfile, bool, error)
}

var _ RiskProfiles = (*wallet.Risk)(nil)

// riskWriters: the investor (their own), the staff who serve investors.
var riskWriters = []string{RoleInvestor, RoleOps, RoleAdmin}

func (s *Server) riskSvc() (RiskProfiles, error) {
	if s.cfg.RiskProfiles == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "risk profiles are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.RiskProfiles, nil
}

// getRiskProfile is GET /v1/investors/{id}/risk-profile: the investor's
// latest assessment (answers, score, profile, model). An investor reads
// only their own, with a token not narrowed to folios.
func (s *Server) getRiskProfile(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.riskSvc()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !p.mayReadInvestor(id) {
		return notFound()
	}
	rp, ok, err := svc.Profile(r.Context(), id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound()
	}
	return writeJSON(w, rp)
}

// riskAnswers is PUT /v1/investors/{id}/risk-profile's body.
type riskAnswers struct {
	Answers map[string]string `json:"answers"`
}

// putRiskProfile is PUT /v1/investors/{id}/risk-profile: the investor's
// answers, scored by the questionnaire version in effect today into a
// profile and its model, kept as evidence. A wrong answer is a 422 naming
// the field (answers.<question>).
func (s *Server) putRiskProfile(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.riskSvc()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if p.Role == RoleInvestor && (p.InvestorID != id || len(p.Folios) > 0) {
		return notFound()
	}
	var b riskAnswers
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return badRequest("body: %v", err)
	}
	if b.Answers == nil {
		return fieldRefused("answers", "missing")
	}
	rp, err := svc.Assess(r.Context(), id, b.Answers)
	var fe *managed.FieldError
	switch {
	case errors.As(err, &fe):
		return fieldRefused(fe.Field, fe.Reason)
	case errors.Is(err, wallet.ErrNoInvestor):
		return notFound()
	case errors.Is(err, wallet.ErrNoQuestionnaire):
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "no risk questionnaire is in effect")
		prob.RetryAfter = retryAfterUnavailable
		return prob
	case err != nil:
		return err
	}
	return writeJSON(w, rp)
}

// fieldRefused is a 422 naming the refused field.
func fieldRefused(field, reason string) *Problem {
	return &Problem{Type: "https://fundflow.dev/problems/bad_field", Title: "Request refused", Status: http.StatusUnprocessableEntity,
		Code: "bad_field", Detail: field + ": " + reason, Errors: []FieldProblem{{Field: field, Reason: reason}}}
}
