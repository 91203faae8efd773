package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"

	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/tax"
)

// Tax is what the tax routes read and write (tax.API).
type Tax interface {
	Statement(ctx context.Context, investor string, fy ftax.FY) (*tax.Statement, error)
	TDSSummary(ctx context.Context, investor string, fy ftax.FY) (ftax.TDSSummary, error)
	DeclareIDCW(ctx context.Context, d ftax.Declaration, opt tax.Option, source string) (tax.Declared, bool, error)
	Contact(ctx context.Context, investor string) (name, address string, err error)
	Merge(ctx context.Context, r tax.MergeRequest) (tax.Merged, error)                               // taxroutes.go
	SetSchemeType(ctx context.Context, o ftax.TypeOverride, source string) (created bool, err error) // taxroutes.go
}

var _ Tax = (*tax.API)(nil)

// idcwWriters declare IDCWs: the staff who run the money path.
var idcwWriters = []string{RoleOps, RoleAdmin}

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
	if err := s.taxServed(); err != nil {
		return err
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
	if format != "json" && format != "csv" && format != "schedule112a" && format != "pdf" {
		return badRequest("format: json, csv, schedule112a or pdf")
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
	if format == "pdf" {
		tds, err := s.cfg.Tax.TDSSummary(r.Context(), id, fy)
		if err != nil {
			return err
		}
		name, address, err := s.cfg.Tax.Contact(r.Context(), id)
		if err != nil {
			return err
		}
		if err := RenderTaxStatement(&buf, st, tds, name, address, s.cfg.Now()); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", disposition("inline", "capital-gains", id, fy.String(), ".pdf"))
		_, err = buf.WriteTo(w)
		return err
	}
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

func (s *Server) taxServed() error {
	if s.cfg.Tax == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "tax statements are not served here")
		prob.RetryAfter = retryAfterUnavailable
		return prob
	}
	return nil
}

// tdsSummary is GET /v1/investors/{id}/tds?fy=2025-26: the TDS on the
// investor's IDCW in the year by AMC and section (Form 16A's data).
func (s *Server) tdsSummary(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.taxServed(); err != nil {
		return err
	}
	id := r.PathValue("id")
	fy, err := ftax.ParseFY(r.URL.Query().Get("fy"))
	if err != nil {
		return badRequest("fy: the financial year as YYYY-YY, e.g. 2025-26")
	}
	if !p.mayReadInvestor(id) {
		return notFound()
	}
	sum, err := s.cfg.Tax.TDSSummary(r.Context(), id, fy)
	if errors.Is(err, tax.ErrUnknownInvestor) {
		return notFound()
	}
	if err != nil {
		return err
	}
	return writeJSON(w, struct {
		InvestorID string `json:"investor_id"`
		ftax.TDSSummary
	}{id, sum})
}

// declarationBody is POST /v1/idcw/declarations' body.
type declarationBody struct {
	ID         string `json:"id"`
	Scheme     string `json:"scheme"`
	RecordDate string `json:"record_date"`
	ExDate     string `json:"ex_date"`
	PerUnit    string `json:"per_unit"`
	Option     string `json:"option"`
}

// declareIDCW is POST /v1/idcw/declarations: 201 with the declaration, 200
// when the same one is sent again, 409 for another one under its id or
// for its scheme and record date. Crediting the holders is `fundflow tax
// idcw run ID`.
func (s *Server) declareIDCW(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.taxServed(); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var b declarationBody
	if err := dec.Decode(&b); err != nil {
		return badRequest("body: %v", err)
	}
	d := ftax.Declaration{ID: b.ID, Scheme: b.Scheme}
	var err error
	if d.RecordDate, err = fund.ParseISODate(b.RecordDate); err != nil {
		return badRequest("record_date: YYYY-MM-DD")
	}
	if d.ExDate, err = fund.ParseISODate(b.ExDate); err != nil {
		return badRequest("ex_date: YYYY-MM-DD")
	}
	if d.PerUnit, err = decimal.NewFromString(b.PerUnit); err != nil || strings.ContainsAny(b.PerUnit, "eE") {
		return badRequest("per_unit: rupees per unit as a decimal string, e.g. \"1.25\"")
	}
	if b.Option != string(tax.Payout) && b.Option != string(tax.Reinvest) {
		return badRequest("option: payout or reinvest")
	}
	if err := d.Check(); err != nil {
		return badRequest("%v", err)
	}
	dd, created, err := s.cfg.Tax.DeclareIDCW(r.Context(), d, tax.Option(b.Option), "api:"+p.Subject)
	var oor *fund.OutOfRangeError
	if errors.As(err, &oor) {
		return badRequest("ex_date: %v", err)
	}
	if errors.Is(err, tax.ErrDeclarationConflict) {
		return &Problem{Type: "https://fundflow.dev/problems/idcw_conflict", Title: "Conflict", Status: http.StatusConflict, Code: "idcw_conflict", Detail: err.Error()}
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSONStatus(w, status, map[string]any{"id": dd.ID, "scheme": dd.Scheme, "record_date": dd.RecordDate, "ex_date": dd.ExDate,
		"nav_date": dd.NAVDate, "per_unit": dd.PerUnit.String(), "option": dd.Option})
}
