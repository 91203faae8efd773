package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/ledger"
)

// FraudReview is the ops side of fraud and AML cases (review.Service).
type FraudReview interface {
	Holds(ctx context.Context, f ledger.HoldFilter) ([]ledger.Hold, error)
	Release(ctx context.Context, id int64, by string) (ledger.Hold, error)
	Reject(ctx context.Context, id int64, by, note string) (ledger.Hold, error)
	CloseAlert(ctx context.Context, id, by, status, note string) (review.Alert, error)
}

var _ FraudReview = (*review.Service)(nil)

// holdReviewers: ops decide holds (admin does not act on cases).
var holdReviewers = []string{RoleOps}

func (s *Server) fraudRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/v1/ops/holds", Roles: holdReviewers, handle: s.listHolds},
		{Method: "POST", Pattern: "/v1/ops/holds/{id}/release", Roles: holdReviewers, handle: s.releaseHold},
		{Method: "POST", Pattern: "/v1/ops/holds/{id}/reject", Roles: holdReviewers, handle: s.rejectHold},
		{Method: "POST", Pattern: "/v1/ops/alerts/{id}/close", Roles: holdReviewers, handle: s.closeAlert},
	}
}

func (s *Server) review() (FraudReview, error) {
	if s.cfg.FraudReview == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "fraud review is not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.FraudReview, nil
}

// Codes of the review routes.
const (
	CodeFourEyes   = "four_eyes"   // 403: the acting ops user raised the hold or last touched its case
	CodeCaseClosed = "case_closed" // 409: the hold or alert is closed already
)

// reviewProblem maps the review service's refusals.
func reviewProblem(err error) error {
	switch {
	case errors.Is(err, review.ErrNotFound), errors.Is(err, ledger.ErrNoHold):
		return notFound()
	case errors.Is(err, review.ErrFourEyes):
		return &Problem{Type: "https://fundflow.dev/problems/" + CodeFourEyes, Title: "Four eyes", Status: http.StatusForbidden, Code: CodeFourEyes, Detail: err.Error()}
	case errors.Is(err, review.ErrClosed):
		return &Problem{Type: "https://fundflow.dev/problems/" + CodeCaseClosed, Title: "Conflict", Status: http.StatusConflict, Code: CodeCaseClosed, Detail: err.Error()}
	case errors.Is(err, review.ErrBadInput):
		return badRequest("%s", err.Error())
	}
	return err
}

// holdView is a hold as ops see it (detail and case included).
type holdView struct {
	ID         int64   `json:"id"`
	OrderID    string  `json:"order_id"`
	InvestorID string  `json:"investor_id"`
	Source     string  `json:"source"`
	Reason     string  `json:"reason"`
	Detail     string  `json:"detail"`
	CaseRef    string  `json:"case_ref"`
	RaisedBy   string  `json:"raised_by"`
	RaisedAt   string  `json:"raised_at"`
	ClosedAt   *string `json:"closed_at"`
	ClosedBy   string  `json:"closed_by"`
	Resolution string  `json:"resolution"`
}

func viewHold(h ledger.Hold) holdView {
	v := holdView{ID: h.ID, OrderID: h.OrderID, InvestorID: h.InvestorID, Source: h.Source, Reason: h.Reason, Detail: h.Detail,
		CaseRef: h.CaseRef, RaisedBy: h.RaisedBy, RaisedAt: h.RaisedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), ClosedBy: h.ClosedBy, Resolution: h.Resolution}
	if h.ClosedAt != nil {
		c := h.ClosedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		v.ClosedAt = &c
	}
	return v
}

// listHolds is GET /v1/ops/holds[?investor_id=&order_id=&source=&all=true&limit=]:
// open holds, newest first, unless all=true.
func (s *Server) listHolds(w http.ResponseWriter, r *http.Request, _ Principal) error {
	svc, err := s.review()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := ledger.HoldFilter{InvestorID: q.Get("investor_id"), OrderID: q.Get("order_id"), Source: q.Get("source"), OpenOnly: q.Get("all") != "true", Limit: 100}
	switch f.Source {
	case "", "fraud", "aml", "kyc", "bank":
	default:
		return badRequest("source: %q is not one of fraud, aml, kyc, bank", f.Source)
	}
	if f.Limit, err = holdLimit(q.Get("limit")); err != nil {
		return err
	}
	hs, err := svc.Holds(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]holdView, 0, len(hs))
	for _, h := range hs {
		out = append(out, viewHold(h))
	}
	return writeJSON(w, map[string]any{"holds": out})
}

// holdLimit reads a hold list's limit=: 1 to 1000, 100 when absent.
func holdLimit(v string) (int, error) {
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest("limit: %q is not a whole number from 1 to 1000", v)
	}
	return n, nil
}

func holdID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, notFound()
	}
	return id, nil
}

// reviewBody is the optional JSON body of reject and close.
type reviewBody struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

func readReviewBody(r *http.Request, required bool) (reviewBody, error) {
	var b reviewBody
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return b, err
	}
	if len(data) == 0 && !required {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, badRequest("body: not a JSON object with status and note (%v)", err)
	}
	if len(b.Note) > 2000 {
		return b, badRequest("note: at most 2000 characters")
	}
	return b, nil
}

// releaseHold is POST /v1/ops/holds/{id}/release.
func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.review()
	if err != nil {
		return err
	}
	id, err := holdID(r)
	if err != nil {
		return err
	}
	h, err := svc.Release(r.Context(), id, p.Subject)
	if err != nil {
		return reviewProblem(err)
	}
	return writeJSON(w, viewHold(h))
}

// rejectHold is POST /v1/ops/holds/{id}/reject {"note": "..."}.
func (s *Server) rejectHold(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.review()
	if err != nil {
		return err
	}
	id, err := holdID(r)
	if err != nil {
		return err
	}
	b, err := readReviewBody(r, false)
	if err != nil {
		return err
	}
	h, err := svc.Reject(r.Context(), id, p.Subject, b.Note)
	if err != nil {
		return reviewProblem(err)
	}
	return writeJSON(w, viewHold(h))
}

// closeAlert is POST /v1/ops/alerts/{id}/close {"status": "confirmed"|"false_positive", "note": "..."}.
func (s *Server) closeAlert(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.review()
	if err != nil {
		return err
	}
	b, err := readReviewBody(r, true)
	if err != nil {
		return err
	}
	a, err := svc.CloseAlert(r.Context(), r.PathValue("id"), p.Subject, b.Status, b.Note)
	if err != nil {
		return reviewProblem(err)
	}
	var evidence any
	if json.Unmarshal(a.Evidence, &evidence) != nil {
		evidence = []any{}
	}
	return writeJSON(w, map[string]any{"alert": a, "evidence": evidence})
}
