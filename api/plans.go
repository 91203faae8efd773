package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/fundflow/fundflow/plans"
)

// Plans is the systematic-plan service the plan routes drive
// (plans.Service).
type Plans interface {
	Register(ctx context.Context, req plans.RegisterRequest) (plans.Plan, plans.Outcome, error)
	Get(ctx context.Context, id string) (plans.Plan, error)
	ListByFolio(ctx context.Context, folio string) ([]plans.Plan, error)
	Instalments(ctx context.Context, id string) ([]plans.Instalment, error)
	Pause(ctx context.Context, id string, k int) (plans.Plan, error)
	Resume(ctx context.Context, id string) (plans.Plan, error)
	Modify(ctx context.Context, id string, m plans.ModifyRequest) (plans.Plan, error)
	Cancel(ctx context.Context, id string) (plans.Plan, error)
}

var _ Plans = (*plans.Service)(nil)

// Who may use the plan routes: those who read folios read plans; changing
// them is for the investor and the staff who act for investors
// (compliance reads, analysts have ClickHouse).
var planWriters = []string{RoleInvestor, RoleOps, RoleAdmin}

func (s *Server) plans() (Plans, error) {
	if s.cfg.Plans == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "systematic plans are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.Plans, nil
}

// planProblem turns a refusal of the plans service into a problem: 400 for
// a body that cannot be read, 422 for a rule, 409 for the plan's state or
// a reused client_id, 404 (the one not_found) for no such plan.
func planProblem(err error) error {
	var pe *plans.Error
	if !errors.As(err, &pe) {
		return err
	}
	status, title := http.StatusUnprocessableEntity, "Request refused"
	switch pe.Kind {
	case plans.Malformed:
		status, title = http.StatusBadRequest, titles[CodeBadRequest]
	case plans.Conflict:
		status, title = http.StatusConflict, "Conflict"
	case plans.NotFound:
		return notFound()
	}
	return &Problem{Type: "https://fundflow.dev/problems/" + pe.Code, Title: title, Status: status, Code: pe.Code, Detail: pe.Detail}
}

// registerPlan is POST /v1/plans: 201 with the plan, 200 with the same
// plan when the request is sent again. An investor registers for itself:
// a body naming another investor or a folio the token does not cover is
// not_found, like reading another's folio.
func (s *Server) registerPlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.plans()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	req, err := plans.DecodeRegisterRequest(body)
	if err != nil {
		return planProblem(err)
	}
	if !p.MayReadFolio(req.Folio, req.InvestorID) {
		return notFound()
	}
	plan, outcome, err := svc.Register(r.Context(), req)
	if err != nil {
		var pe *plans.Error
		if p.Role == RoleInvestor && errors.As(err, &pe) && pe.Code == plans.CodeFolioMismatch {
			// another investor's folio looks like no folio at all
			err = &plans.Error{Kind: plans.Refused, Code: plans.CodeUnknownFolio, Detail: "folio " + req.Folio + " does not exist"}
		}
		return planProblem(err)
	}
	w.Header().Set("Location", "/v1/plans/"+plan.ID)
	if outcome == plans.Created {
		return writeJSONStatus(w, http.StatusCreated, plan)
	}
	return writeJSON(w, plan)
}

// planFor returns plan id if p may see it (its folio is p's); another's
// plan is the same 404 as none.
func (s *Server) planFor(ctx context.Context, p Principal, id string) (Plans, plans.Plan, error) {
	svc, err := s.plans()
	if err != nil {
		return nil, plans.Plan{}, err
	}
	plan, err := svc.Get(ctx, id)
	if err != nil {
		return nil, plans.Plan{}, planProblem(err)
	}
	if !p.MayReadFolio(plan.Folio, plan.InvestorID) {
		return nil, plans.Plan{}, notFound()
	}
	return svc, plan, nil
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	_, plan, err := s.planFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, plan)
}

func (s *Server) planInstalments(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, plan, err := s.planFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	ins, err := svc.Instalments(r.Context(), plan.ID)
	if err != nil {
		return planProblem(err)
	}
	if ins == nil {
		ins = []plans.Instalment{}
	}
	return writeJSON(w, map[string]any{"plan_id": plan.ID, "instalments": ins})
}

func (s *Server) folioPlans(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.plans()
	if err != nil {
		return err
	}
	folio := r.PathValue("folio")
	if _, err := s.folioFor(r.Context(), p, folio); err != nil {
		return err
	}
	ps, err := svc.ListByFolio(r.Context(), folio)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []plans.Plan{}
	}
	return writeJSON(w, map[string]any{"folio": folio, "plans": ps})
}

// change runs one change on a plan p may see, after decode has read the
// body (nil decode: the body must be empty or {}).
func (s *Server) change(w http.ResponseWriter, r *http.Request, p Principal, decode func(body []byte) error,
	fn func(ctx context.Context, svc Plans, id string) (plans.Plan, error)) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if decode == nil {
		decode = func(b []byte) error {
			if len(bytes.TrimSpace(b)) == 0 {
				return nil
			}
			return plans.DecodeJSON(b, &struct{}{})
		}
	}
	if err := decode(body); err != nil {
		return planProblem(err)
	}
	svc, plan, err := s.planFor(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	changed, err := fn(r.Context(), svc, plan.ID)
	if err != nil {
		return planProblem(err)
	}
	return writeJSON(w, changed)
}

func (s *Server) pausePlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	var req struct {
		Instalments *int `json:"instalments"`
	}
	decode := func(b []byte) error { return plans.DecodeJSON(b, &req) }
	return s.change(w, r, p, decode, func(ctx context.Context, svc Plans, id string) (plans.Plan, error) {
		if req.Instalments == nil {
			return plans.Plan{}, &plans.Error{Kind: plans.Refused, Code: plans.CodeMissingField, Detail: "instalments (how many to skip) is required"}
		}
		return svc.Pause(ctx, id, *req.Instalments)
	})
}

func (s *Server) resumePlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.change(w, r, p, nil, func(ctx context.Context, svc Plans, id string) (plans.Plan, error) { return svc.Resume(ctx, id) })
}

func (s *Server) modifyPlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	var m plans.ModifyRequest
	decode := func(b []byte) (err error) { m, err = plans.DecodeModifyRequest(b); return err }
	return s.change(w, r, p, decode, func(ctx context.Context, svc Plans, id string) (plans.Plan, error) { return svc.Modify(ctx, id, m) })
}

func (s *Server) cancelPlan(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.change(w, r, p, nil, func(ctx context.Context, svc Plans, id string) (plans.Plan, error) { return svc.Cancel(ctx, id) })
}
