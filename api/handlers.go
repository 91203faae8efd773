package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/readmodel"
)

// maxNAVDays bounds one NAV history request (about 30 years).
const maxNAVDays = 11000

func (s *Server) navHistory(w http.ResponseWriter, r *http.Request, _ Principal) error {
	code := r.PathValue("code")
	if code == "" || len(code) > 32 {
		return badRequest("code: not a scheme code")
	}
	to, err := dateParam(r, "to")
	if err != nil {
		return err
	}
	if to == nil {
		t := s.today()
		to = &t
	}
	from, err := dateParam(r, "from")
	if err != nil {
		return err
	}
	if from == nil {
		f := to.AddDays(-365)
		from = &f
	}
	if from.After(*to) {
		return badRequest("from %s is after to %s", from, to)
	}
	if to.DaysSince(*from) > maxNAVDays {
		return badRequest("from..to spans more than %d days", maxNAVDays)
	}
	navs, exists, err := s.store.NAVHistory(r.Context(), code, *from, *to)
	if err != nil {
		return err
	}
	if !exists {
		return notFound()
	}
	if navs == nil {
		navs = []readmodel.NAVPoint{}
	}
	return writeJSON(w, map[string]any{"scheme_code": code, "from": from, "to": to, "navs": navs})
}

// InvestorView is the investor as a response shows them: PAN and bank
// account masked unless the caller is compliance.
type InvestorView struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	TaxCountry  string  `json:"tax_country"`
	PAN         *string `json:"pan"`
	BankAccount *string `json:"bank_account"`
	Masked      bool    `json:"pii_masked"`
}

func (s *Server) view(p Principal, inv readmodel.Investor) InvestorView {
	v := InvestorView{ID: inv.ID, Name: inv.Name, TaxCountry: inv.TaxCountry, Masked: !p.SeesPII()}
	v.PAN = s.openPII(p, inv.ID, "pan", inv.PANSealed)
	v.BankAccount = s.openPII(p, inv.ID, "bank_account", inv.BankAccountSealed)
	return v
}

// openPII opens a sealed field and masks it unless p sees PII. A value that
// does not open (no key, another key) is left out, never shown sealed.
func (s *Server) openPII(p Principal, owner, field string, sealed []byte) *string {
	if sealed == nil || s.cfg.PII == nil {
		return nil
	}
	v, err := s.cfg.PII.Open(owner, field, sealed)
	if err != nil {
		s.log.Error("api: PII does not open", "investor", owner, "field", field, "err", err)
		return nil
	}
	if !p.SeesPII() {
		v = pii.Mask(v)
	}
	return &v
}

// PortfolioView is the portfolio response: the portfolio's fields and the
// investor.
type PortfolioView struct {
	Portfolio *readmodel.Portfolio
	Investor  InvestorView
}

// MarshalJSON adds "investor" to the portfolio's own JSON object
// (readmodel.Portfolio marshals itself, so it cannot be embedded).
func (v PortfolioView) MarshalJSON() ([]byte, error) {
	p, err := json.Marshal(v.Portfolio)
	if err != nil {
		return nil, err
	}
	inv, err := json.Marshal(v.Investor)
	if err != nil {
		return nil, err
	}
	if len(p) < 2 || p[len(p)-1] != '}' {
		return nil, errors.New("portfolio JSON is not an object")
	}
	out := append(p[:len(p)-1:len(p)-1], []byte(`,"investor":`)...)
	out = append(out, inv...)
	return append(out, '}'), nil
}

func (s *Server) portfolio(w http.ResponseWriter, r *http.Request, p Principal) error {
	folio := r.PathValue("folio")
	asOf, err := dateParam(r, "as_of")
	if err != nil {
		return err
	}
	// One read gets the folio, its owner and its ledger; the owner is
	// checked before anything is written back.
	pf, err := s.store.Portfolio(r.Context(), folio, asOf)
	if err != nil {
		return err
	}
	if !p.MayReadFolio(folio, pf.Owner.ID) {
		return notFound()
	}
	return writeJSON(w, PortfolioView{Portfolio: pf, Investor: s.view(p, pf.Owner)})
}

const (
	defaultPage = 50
	maxPage     = 500
)

// Cursors are opaque to clients: "t" and the last id seen, base64url.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "t") {
		return 0, badRequest("cursor: not a cursor this API gave out")
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("cursor: not a cursor this API gave out")
	}
	return id, nil
}

func (s *Server) transactions(w http.ResponseWriter, r *http.Request, p Principal) error {
	folio := r.PathValue("folio")
	q := r.URL.Query()
	limit := defaultPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return badRequest("limit: a number from 1 to %d", maxPage)
		}
		limit = n
	}
	var before int64
	if c := q.Get("cursor"); c != "" {
		var err error
		if before, err = decodeCursor(c); err != nil {
			return err
		}
	}
	if _, err := s.folioFor(r.Context(), p, folio); err != nil {
		return err
	}
	// One more than asked tells whether another page exists.
	txs, err := s.store.Transactions(r.Context(), folio, before, limit+1)
	if err != nil {
		return err
	}
	var next *string
	if len(txs) > limit {
		txs = txs[:limit]
		c := encodeCursor(txs[limit-1].ID)
		next = &c
	}
	return writeJSON(w, map[string]any{"folio": folio, "items": txs, "next_cursor": next})
}

func (s *Server) lineage(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	folio, err := s.store.TxFolio(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := s.folioFor(r.Context(), p, folio); err != nil {
		return err
	}
	l, err := s.store.Lineage(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, l)
}

// order shows an order request and its legs' statuses (a held leg as held
// or under_review). An investor sees only orders on its folios; a request
// refused before it had a leg has no folio, so only staff see it.
func (s *Server) order(w http.ResponseWriter, r *http.Request, p Principal) error {
	o, err := s.store.OrderRequest(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(o.Legs) == 0 {
		if p.Role == RoleInvestor {
			return notFound()
		}
	} else if _, err := s.folioFor(r.Context(), p, o.Legs[0].Folio); err != nil {
		return err
	}
	return writeJSON(w, o)
}

// exportFile streams a compliance export (compliance and admin only).
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request, p Principal) error {
	if s.export == nil {
		return problem(http.StatusServiceUnavailable, CodeUnavailable, "exports are not configured on this server")
	}
	kind := r.PathValue("kind")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "parquet" {
		return badRequest("format: csv or parquet")
	}
	from, err := dateParam(r, "from")
	if err != nil {
		return err
	}
	to, err := dateParam(r, "to")
	if err != nil {
		return err
	}
	if from == nil || to == nil {
		return badRequest("from and to are required (YYYY-MM-DD)")
	}
	if from.After(*to) {
		return badRequest("from %s is after to %s", from, to)
	}
	if !slices.Contains(s.export.Kinds(), kind) {
		return notFound()
	}
	// Written to a buffer first: an export that fails half way must not
	// reach the client as a truncated file with status 200.
	buf := &spool{}
	defer buf.Close()
	if _, err := s.export.Export(r.Context(), kind, format, *from, *to, buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", s.export.ContentType(format))
	w.Header().Set("Content-Disposition", disposition("attachment", kind, from.String(), to.String(), "."+format))
	w.Header().Set("Cache-Control", "no-store")
	_, err = buf.WriteTo(w)
	return err
}

// disposition is a Content-Disposition value whose filename joins parts with
// "_" and ends in ext. Anything but letters, digits, '.', '-' and '_' (a
// folio number's '/', a quote) becomes '_': a browser would otherwise take a
// '/' as a folder or cut the name at it.
func disposition(kind string, parts ...string) string {
	ext := parts[len(parts)-1]
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, strings.Join(parts[:len(parts)-1], "_")+ext)
	return kind + `; filename="` + name + `"`
}
