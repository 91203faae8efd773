package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
)

// The sample ledger (ledgerfix.Sample) has one transfer in FY 2024-25:
// INV-1 redeemed 500.000 of the 999.950 units bought on 2024-01-10 for
// 10000.00 (duty 0.50, 9999.50 at 10.0000), at 11.0000 on 2024-06-10:
// sale 500 × 11 = 5500.00; cost taken off the lot 10000.00 −
// round(10000 × 499.95 / 999.95 = 4999.7499…) = 10000.00 − 4999.75 =
// 5000.25; gain 499.75, short-term (< 12 months), 111A at 15 % (before
// 23-Jul-2024).
func TestCapitalGainsRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	status, h, body := e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25", investor(t, "INV-1"))
	if status != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", status, body)
	}
	var st struct {
		FY      string `json:"fy"`
		Schemes []struct {
			Scheme string `json:"scheme_code"`
			Type   string `json:"scheme_type"`
			Lots   []struct {
				Folio, Kind, Units, Term, Gain string
				CostUsed                       string `json:"cost_used"`
				SaleValue                      string `json:"sale_value"`
				Section                        string `json:"rate_section"`
				Rate                           string `json:"rate_pct"`
			} `json:"lots"`
		} `json:"schemes"`
		Totals struct{ Gain string } `json:"totals"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if st.FY != "2024-25" || len(st.Schemes) != 1 || st.Schemes[0].Scheme != "100001" || st.Schemes[0].Type != "equity" || len(st.Schemes[0].Lots) != 1 || st.Totals.Gain != "499.75" {
		t.Fatalf("%s", body)
	}
	if l := st.Schemes[0].Lots[0]; l.Folio != "F-1" || l.Kind != "redemption" || l.Units != "500.000" || l.CostUsed != "5000.25" || l.SaleValue != "5500.00" ||
		l.Gain != "499.75" || l.Term != "short" || l.Section != "111A" || l.Rate != "15" {
		t.Errorf("lot: %+v", l)
	}

	// CSV: a header and the one lot; Schedule 112A: the header only (no equity LTCG)
	status, h, body = e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25&format=csv", ops)
	if lines := strings.Split(strings.TrimSpace(string(body)), "\n"); status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") ||
		len(lines) != 2 || !strings.HasSuffix(lines[1], ",5000.25,5500.00,0.00,5500.00,499.75") || !strings.Contains(h.Get("Content-Disposition"), "capital-gains_INV-1_2024-25.csv") {
		t.Errorf("csv: %d %v\n%s", status, h, body)
	}
	status, _, body = e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25&format=schedule112a", token(t, claims(api.RoleCompliance, "c", time.Hour)))
	if lines := strings.Split(strings.TrimSpace(string(body)), "\n"); status != 200 || len(lines) != 1 || !strings.HasPrefix(lines[0], "Share/Unit acquired(1a),ISIN Code(2)") {
		t.Errorf("112A: %d\n%s", status, body)
	}

	for _, c := range []struct {
		path, tok string
		status    int
		code      string
	}{
		{"/v1/investors/INV-2/capital-gains?fy=2024-25", ops, 200, ""}, // nothing transferred: an empty statement
		{"/v1/investors/NOBODY/capital-gains?fy=2024-25", ops, 404, api.CodeNotFound},
		{"/v1/investors/INV-1/capital-gains?fy=2024-25", investor(t, "INV-2"), 404, api.CodeNotFound},
		{"/v1/investors/INV-1/capital-gains?fy=2024-25", investor(t, "INV-1", "F-1"), 404, api.CodeNotFound}, // narrowed token
		{"/v1/investors/INV-1/capital-gains?fy=2024-25", token(t, claims(api.RoleAnalyst, "a", time.Hour)), 403, api.CodeForbidden},
		{"/v1/investors/INV-1/capital-gains?fy=2024-26", ops, 400, api.CodeBadRequest},
		{"/v1/investors/INV-1/capital-gains", ops, 400, api.CodeBadRequest},
		{"/v1/investors/INV-1/capital-gains?fy=2024-25&format=xlsx", ops, 400, api.CodeBadRequest},
	} {
		status, h, body := e.get(t, c.path, c.tok)
		if status != c.status || (c.code != "" && problemCode(t, h, body) != c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.path, status, body, c.status, c.code)
		}
		if c.status == 400 && !strings.Contains(string(body), "fy") && !strings.Contains(string(body), "format") {
			t.Errorf("%s: the problem does not name the parameter: %s", c.path, body)
		}
	}

	// without a tax service: 503
	bare := setup(t, func(c *api.Config) { c.Tax = nil })
	if status, h, body := bare.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25", ops); status != http.StatusServiceUnavailable || problemCode(t, h, body) != api.CodeUnavailable {
		t.Errorf("no tax service: %d %s", status, body)
	}
}

// IDCW declarations (ops) and the TDS summary (the investor's own).
func TestIDCWRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	body := `{"scheme":"100001","record_date":"2024-06-28","ex_date":"2024-06-29","per_unit":"0.50","option":"reinvest"}`
	status, _, out := e.do(t, "POST", "/v1/idcw/declarations", ops, body)
	// 29-Jun-2024 is a Saturday: the reinvestment's NAV is Monday 1-Jul-2024's
	if status != http.StatusCreated || !strings.Contains(string(out), `"id": "100001-2024-06-28"`) || !strings.Contains(string(out), `"nav_date": "2024-07-01"`) {
		t.Fatalf("declare: %d %s", status, out)
	}
	if status, _, out := e.do(t, "POST", "/v1/idcw/declarations", ops, body); status != http.StatusOK {
		t.Errorf("the same again: %d %s", status, out)
	}
	for _, c := range []struct {
		body, tok string
		status    int
		code      string
	}{
		{strings.Replace(body, "0.50", "0.60", 1), ops, 409, "idcw_conflict"},
		{strings.Replace(body, `"2024-06-29"`, `"2024-06-27"`, 1), ops, 400, api.CodeBadRequest},
		{strings.Replace(body, `"0.50"`, `"5e-1"`, 1), ops, 400, api.CodeBadRequest},
		{strings.Replace(body, `"reinvest"`, `"cash"`, 1), ops, 400, api.CodeBadRequest},
		{strings.Replace(body, `"scheme"`, `"schema"`, 1), ops, 400, api.CodeBadRequest},
		{body, token(t, claims(api.RoleCompliance, "c", time.Hour)), 403, api.CodeForbidden},
	} {
		status, h, out := e.do(t, "POST", "/v1/idcw/declarations", c.tok, c.body)
		if status != c.status || problemCode(t, h, out) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.body, status, out, c.status, c.code)
		}
	}
	// an ex-date outside the money path's calendar (its files cover 2024 only) is the caller's to fix
	cfg := api.Config{Auth: &api.Auth{HS256Secret: secret}, RatePerSecond: 1000, Burst: 1000,
		Tax: tax.NewAPI(&taxpg.Store{Pool: e.store.PG}, fund.HolidayCalendar(fund.NewDate(2024, 8, 15)))}
	hs := httptest.NewServer(api.New(cfg, e.store, nil, testkit.Logger(t)))
	defer hs.Close()
	req, _ := http.NewRequest("POST", hs.URL+"/v1/idcw/declarations", strings.NewReader(strings.Replace(strings.Replace(body, "2024-06-2", "2025-06-2", 2), "100001", "100002", 1)))
	req.Header.Set("Authorization", "Bearer "+ops)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(out), "ex_date") {
		t.Errorf("ex-date outside the calendar: %d %s", resp.StatusCode, out)
	}

	// nothing credited yet: an empty summary for INV-1; unknown and others' 404
	status, _, out = e.get(t, "/v1/investors/INV-1/tds?fy=2024-25", investor(t, "INV-1"))
	if status != 200 || !strings.Contains(string(out), `"investor_id": "INV-1"`) || !strings.Contains(string(out), `"tds": "0.00"`) {
		t.Errorf("tds: %d %s", status, out)
	}
	for path, tok := range map[string]string{
		"/v1/investors/NOBODY/tds?fy=2024-25": ops,
		"/v1/investors/INV-1/tds?fy=2024-25":  investor(t, "INV-2"),
	} {
		if status, h, out := e.get(t, path, tok); status != 404 || problemCode(t, h, out) != api.CodeNotFound {
			t.Errorf("%s: %d %s", path, status, out)
		}
	}
	if status, _, _ := e.get(t, "/v1/investors/INV-1/tds?fy=24-25", ops); status != 400 {
		t.Errorf("bad fy: %d", status)
	}
}

// The PDF of the same statement (format=pdf): page 1 rendered by poppler (a
// reader independent of the writer) is drawn on, with the chart's green
// bar; its text (pdftotext) carries the JSON route's numbers above with
// Indian grouping (5000.25 → 5,000.25), the investor's name and address,
// the section, and the disclaimer; no Schedule 112A rows (no equity LTCG).
func TestCapitalGainsPDF(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, h, body := e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25&format=pdf", investor(t, "INV-1"))
	if status != 200 || h.Get("Content-Type") != "application/pdf" || !strings.Contains(h.Get("Content-Disposition"), "capital-gains_INV-1_2024-25.pdf") {
		t.Fatalf("%d %v %.200s", status, h, body)
	}
	img, text := pdfPage1(t, body)
	bar := green(img)
	if bar < 20 {
		t.Errorf("page 1 has %d green pixels: no gain bar", bar)
	}
	testkit.EmbeddedFonts(t, body) // DejaVu, with the ₹ the headings use
	for _, w := range []string{"Summary (₹)", "Gain (₹)", "Capital gains and IDCW statement, FY 2024-25", "Asha Rao", "12 MG Road, Bengaluru 560001", "IST",
		"5,000.25", "5,500.00", "499.75", "111A", "500.000", "11.0000", "2024-01-10", "2024-06-10",
		"No long-term gain under section 112A", "No IDCW credited", "not tax advice"} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q:\n%s", w, text)
		}
	}
}
