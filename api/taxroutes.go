package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/tax"
)

// taxWriters run corporate actions and set tax data: the staff who run
// the money path, as for IDCW declarations.
var taxWriters = idcwWriters

// fieldProblem is a 400 naming the refused field.
func fieldProblem(field, reason string) *Problem {
	p := badRequest("%s: %s", field, reason)
	p.Errors = []FieldProblem{{Field: field, Reason: reason}}
	return p
}

// taxInputProblem turns the tax service's refusals into problems: a bad
// field 400, a conflicting row 409 (code), nil for anything else.
func taxInputProblem(err error, conflict error, code string) *Problem {
	var bad *tax.InputError
	if errors.As(err, &bad) {
		return fieldProblem(bad.Field, bad.Msg)
	}
	if errors.Is(err, conflict) {
		return &Problem{Type: "https://fundflow.dev/problems/" + code, Title: "Conflict", Status: http.StatusConflict, Code: code, Detail: err.Error()}
	}
	return nil
}

// mergerBody is POST /v1/tax/mergers' body.
type mergerBody struct {
	ID      string `json:"id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Date    string `json:"date"`
	NAVFrom string `json:"nav_from"`
	NAVTo   string `json:"nav_to"`
}

// mergeSchemes is POST /v1/tax/mergers: declares a scheme merger (or a
// plan/option change) and runs it, the same path as `fundflow tax merge`
// (tax.API.Merge): every folio holding from gets its lots carried into to
// with their tax dates and costs, each folio exactly once, then plans are
// redirected. 201 when declared now, 200 when it was (the run then merges
// only the folios not done: a retry after a timeout finishes the work),
// 409 merger_conflict for another merger of the scheme or under the id.
func (s *Server) mergeSchemes(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.taxServed(); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var b mergerBody
	if err := dec.Decode(&b); err != nil {
		return badRequest("body: %v", err)
	}
	req := tax.MergeRequest{ID: b.ID, From: b.From, To: b.To, Source: "api:" + p.Subject}
	var err error
	if req.Date, err = fund.ParseISODate(b.Date); err != nil {
		return fieldProblem("date", "YYYY-MM-DD")
	}
	for _, f := range []struct {
		name, v string
		to      **fund.NAV
	}{{"nav_from", b.NAVFrom, &req.NAVFrom}, {"nav_to", b.NAVTo, &req.NAVTo}} {
		if f.v == "" {
			continue // the scheme's NAV on the date
		}
		n, err := fund.ParseNAV(f.v)
		if err != nil {
			return fieldProblem(f.name, "a NAV as a decimal string, e.g. \"12.3456\"")
		}
		*f.to = &n
	}
	res, err := s.cfg.Tax.Merge(r.Context(), req)
	if prob := taxInputProblem(err, tax.ErrMergerConflict, "merger_conflict"); prob != nil {
		return prob
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Declared {
		status = http.StatusCreated
	}
	m := res.Decl
	return writeJSONStatus(w, status, map[string]any{"id": m.ID, "from": m.From, "to": m.To, "date": m.Date,
		"nav_from": m.NAVFrom.String(), "nav_to": m.NAVTo.String(), "run": res.Run})
}

// schemeTaxTypeBody is POST /v1/schemes/{code}/tax-types' body.
type schemeTaxTypeBody struct {
	From   string `json:"from"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// setSchemeTaxType is POST /v1/schemes/{code}/tax-types: the scheme's tax
// character (equity, debt, other) for transfers from a date, where its
// category does not say it (`fundflow tax scheme-type`'s path,
// tax.API.SetSchemeType). 201 stored, 200 the same row again, 409
// tax_type_conflict for another type or reason from that date, 404
// naming the path's code when no scheme has it.
func (s *Server) setSchemeTaxType(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := s.taxServed(); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var b schemeTaxTypeBody
	if err := dec.Decode(&b); err != nil {
		return badRequest("body: %v", err)
	}
	o := ftax.TypeOverride{Scheme: r.PathValue("code"), Type: ftax.SchemeType(b.Type), Reason: b.Reason}
	var err error
	if o.From, err = fund.ParseISODate(b.From); err != nil {
		return fieldProblem("from", "YYYY-MM-DD")
	}
	created, err := s.cfg.Tax.SetSchemeType(r.Context(), o, "api:"+p.Subject)
	if errors.Is(err, tax.ErrUnknownScheme) {
		prob := problem(http.StatusNotFound, CodeNotFound, fmt.Sprintf("code: no scheme has the code %q", o.Scheme))
		prob.Errors = []FieldProblem{{Field: "code", Reason: "no scheme has this code"}}
		return prob
	}
	if prob := taxInputProblem(err, tax.ErrTypeConflict, "tax_type_conflict"); prob != nil {
		return prob
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSONStatus(w, status, map[string]any{"scheme": o.Scheme, "from": o.From, "type": o.Type, "reason": o.Reason})
}
