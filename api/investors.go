package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/investors"
)

// Investors is the investor master the /v1/investors routes drive
// (investors.Service).
type Investors interface {
	Create(ctx context.Context, body []byte, by, channel string) (investors.Record, investors.Outcome, error)
	Patch(ctx context.Context, id string, patch []byte, by, channel string) (investors.Record, investors.Outcome, error)
	Get(ctx context.Context, id string) (investors.Record, error)
}

var _ Investors = (*investors.Service)(nil)

// Who may change an investor's record: the platform's onboarding service
// (an admin token) and no one else; an investor reads only their own, the
// staff who serve investors read any (analysts have ClickHouse).
var (
	investorWriters = []string{RoleAdmin}
	investorReaders = []string{RoleInvestor, RoleOps, RoleCompliance, RoleAdmin}
)

func (s *Server) investors() (Investors, error) {
	if s.cfg.Investors == nil {
		prob := problem(http.StatusServiceUnavailable, CodeUnavailable, "the investor master is not served here")
		prob.RetryAfter = retryAfterUnavailable
		return nil, prob
	}
	return s.cfg.Investors, nil
}

// investorProblem turns a refusal of the investor master into a problem:
// 400 for a body that is not JSON, 422 with the errors list (field path and
// reason) for rules, 409 for a record on file, 404.
func investorProblem(err error) error {
	var ie *investors.Error
	if !errors.As(err, &ie) {
		return err
	}
	switch ie.Kind {
	case investors.Malformed:
		return badRequest("%s", ie.Detail)
	case investors.NotFound:
		return notFound()
	case investors.Conflict:
		return &Problem{Type: "https://fundflow.dev/problems/" + ie.Code, Title: "Conflict", Status: http.StatusConflict, Code: ie.Code, Detail: ie.Detail}
	}
	p := &Problem{Type: "https://fundflow.dev/problems/" + ie.Code, Title: "Request refused", Status: http.StatusUnprocessableEntity,
		Code: ie.Code, Detail: ie.Detail}
	for _, f := range ie.Fields {
		p.Errors = append(p.Errors, FieldProblem{Field: f.Field, Reason: f.Reason})
	}
	return p
}

// InvestorRecordView is the answer of the investor routes: the record (PAN,
// account numbers and TINs masked unless the caller sees PII) and its
// version.
type InvestorRecordView struct {
	Investor      kyc.Investor `json:"investor"`
	ChangeSeq     int          `json:"change_seq"`
	EffectiveFrom time.Time    `json:"effective_from"`
}

func investorView(p Principal, rec investors.Record) InvestorRecordView {
	inv := rec.Investor
	if !p.SeesPII() {
		inv.PAN = pii.Mask(inv.PAN)
		if inv.Guardian != nil {
			g := *inv.Guardian
			g.PAN = pii.Mask(g.PAN)
			inv.Guardian = &g
		}
		accts := make([]kyc.BankAccount, len(inv.BankAccounts))
		for i, b := range inv.BankAccounts {
			b.AccountNo = pii.Mask(b.AccountNo)
			accts[i] = b
		}
		inv.BankAccounts = accts
		if inv.FATCA != nil {
			f := *inv.FATCA
			f.TaxResidencies = make([]kyc.TaxResidency, len(inv.FATCA.TaxResidencies))
			for i, r := range inv.FATCA.TaxResidencies {
				r.TIN = pii.Mask(r.TIN)
				f.TaxResidencies[i] = r
			}
			inv.FATCA = &f
		}
	}
	return InvestorRecordView{Investor: inv, ChangeSeq: rec.Seq, EffectiveFrom: rec.EffectiveFrom.UTC()}
}

// createInvestor is POST /v1/investors: 201 with the record, 200 when the
// same record is sent again, 409 investor_exists for another record of an
// investor on file, 422 invalid_investor with errors (nothing stored).
func (s *Server) createInvestor(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.investors()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	rec, out, err := svc.Create(r.Context(), body, p.Subject, investors.ChannelAPI)
	if err != nil {
		return investorProblem(err)
	}
	w.Header().Set("Location", "/v1/investors/"+rec.Investor.ID)
	if out == investors.Created {
		return writeJSONStatus(w, http.StatusCreated, investorView(p, rec))
	}
	return writeJSON(w, investorView(p, rec))
}

// patchInvestor is PATCH /v1/investors/{id}: a JSON merge patch (RFC 7386)
// of the record; the result is validated whole.
func (s *Server) patchInvestor(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.investors()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	rec, _, err := svc.Patch(r.Context(), r.PathValue("id"), body, p.Subject, investors.ChannelAPI)
	if err != nil {
		return investorProblem(err)
	}
	return writeJSON(w, investorView(p, rec))
}

// getInvestor is GET /v1/investors/{id}; another investor's record is the
// same 404 as none. An investor reads their own with a token that is not
// narrowed to folios.
func (s *Server) getInvestor(w http.ResponseWriter, r *http.Request, p Principal) error {
	svc, err := s.investors()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !readsInvestor(p, id) {
		return notFound()
	}
	rec, err := svc.Get(r.Context(), id)
	if err != nil {
		return investorProblem(err)
	}
	return writeJSON(w, investorView(p, rec))
}

// readsInvestor says whether p may read investor id's own routes: staff
// any; an investor only their own, with a token not narrowed to folios (a
// token narrowed to some folios reads those folios, not the record).
func readsInvestor(p Principal, id string) bool {
	return p.Role != RoleInvestor || (p.InvestorID == id && len(p.Folios) == 0)
}
