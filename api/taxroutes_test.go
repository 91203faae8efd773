package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
)

// POST /v1/tax/mergers on the sample ledger: 100002 into 100001 on
// 31-Dec-2024 at that day's NAVs, 55.0000 and 15.0000. F-1 holds 39.998
// units of 100002: 39.998 × 55 / 15 = 146.659|33… → 146.659 units of
// 100001 (its scale, 3), so F-1 then holds 899.930 + 146.659 = 1046.589
// units of 100001 and none of 100002, at the same cost: 9,999.75 +
// 2,000.00 = 11,999.75 (tax-neutral). Again: 200, nothing left to merge.
// Conflicts, bad fields and roles as the other ops routes.
func TestMergerRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	body := `{"from":"100002","to":"100001","date":"2024-12-31"}`
	status, _, out := e.do(t, "POST", "/v1/tax/mergers", ops, body)
	var res struct {
		ID, NAVFrom, NAVTo string
		Run                struct{ Folios, Merged, Already int }
	}
	if status != http.StatusCreated || json.Unmarshal(out, &res) != nil {
		t.Fatalf("merge: %d %s", status, out)
	}
	var raw map[string]any
	json.Unmarshal(out, &raw)
	if raw["id"] != "100002-100001-2024-12-31" || raw["nav_from"] != "55.0000" || raw["nav_to"] != "15.0000" {
		t.Errorf("merger: %s", out)
	}
	run := raw["run"].(map[string]any)
	if run["merged"] != run["folios"] || run["merged"].(float64) < 1 || run["already_merged"].(float64) != 0 {
		t.Errorf("run: %s", out)
	}
	status, _, out = e.get(t, "/v1/folios/F-1/portfolio?as_of=2024-12-31", investor(t, "INV-1"))
	var p portfolioResp
	if status != 200 || json.Unmarshal(out, &p) != nil {
		t.Fatalf("portfolio: %d %s", status, out)
	}
	if len(p.Holdings) != 1 || p.Holdings[0].Scheme != "100001" || p.Holdings[0].Units != "1046.589" || p.Invested.StringFixed(2) != "11999.75" {
		t.Errorf("after the merger: %+v invested %s", p.Holdings, p.Invested)
	}
	status, _, out = e.do(t, "POST", "/v1/tax/mergers", ops, body)
	if status != http.StatusOK || !strings.Contains(string(out), `"folios": 0`) {
		t.Errorf("again: %d %s", status, out)
	}
	for _, c := range []struct {
		body, tok   string
		status      int
		code, field string
	}{
		{`{"from":"100002","to":"100003","date":"2024-12-31","nav_from":"1","nav_to":"1"}`, ops, 409, "merger_conflict", ""},
		{`{"from":"100001","to":"100001","date":"2024-12-31"}`, ops, 400, api.CodeBadRequest, "to"},
		{`{"from":"100001","to":"100002","date":"31-12-2024"}`, ops, 400, api.CodeBadRequest, "date"},
		{`{"from":"100001","to":"100002","date":"2024-12-30"}`, ops, 400, api.CodeBadRequest, "nav_from"}, // no NAV that day
		{`{"from":"100001","to":"100002","date":"2024-12-31","nav_to":"x"}`, ops, 400, api.CodeBadRequest, "nav_to"},
		{`{"to":"100002","date":"2024-12-31"}`, ops, 400, api.CodeBadRequest, "from"},
		{`{"from":"100001","to":"100002","date":"2024-12-31","ratio":"2"}`, ops, 400, api.CodeBadRequest, ""},
		{body, investor(t, "INV-1"), 403, api.CodeForbidden, ""},
		{body, token(t, claims(api.RoleCompliance, "c", time.Hour)), 403, api.CodeForbidden, ""},
	} {
		status, h, out := e.do(t, "POST", "/v1/tax/mergers", c.tok, c.body)
		if status != c.status || problemCode(t, h, out) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.body, status, out, c.status, c.code)
		}
		if c.field != "" && !strings.Contains(string(out), `"field":"`+c.field+`"`) && !strings.Contains(string(out), `"field": "`+c.field+`"`) {
			t.Errorf("%s: the problem does not name %s: %s", c.body, c.field, out)
		}
	}
	bare := setup(t, func(c *api.Config) { c.Tax = nil })
	if status, h, out := bare.do(t, "POST", "/v1/tax/mergers", ops, body); status != 503 || problemCode(t, h, out) != api.CodeUnavailable {
		t.Errorf("no tax service: %d %s", status, out)
	}
}

// POST /v1/schemes/{code}/tax-types: 100001 as "other" from 1-Apr-2024.
// INV-1's 500.000 units sold on 10-Jun-2024, bought 10-Jan-2024, are then
// other-fund units held 5 months (under 36): short-term at slab, where
// the category (equity) made it 111A. The same row again 200; another
// reason for that date 409; bad fields 400 naming them.
func TestSchemeTaxTypeRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	body := `{"from":"2024-04-01","type":"other","reason":"an index fund"}`
	status, _, out := e.do(t, "POST", "/v1/schemes/100001/tax-types", ops, body)
	if status != http.StatusCreated || !strings.Contains(string(out), `"type": "other"`) || !strings.Contains(string(out), `"scheme": "100001"`) {
		t.Fatalf("set: %d %s", status, out)
	}
	status, _, out = e.get(t, "/v1/investors/INV-1/capital-gains?fy=2024-25", ops)
	if status != 200 || !strings.Contains(string(out), `"rate_section": "slab"`) || strings.Contains(string(out), `"rate_section": "111A"`) {
		t.Errorf("gains after the type: %d %s", status, out)
	}
	if status, _, out := e.do(t, "POST", "/v1/schemes/100001/tax-types", ops, body); status != http.StatusOK {
		t.Errorf("the same again: %d %s", status, out)
	}
	for _, c := range []struct {
		code        string // the path's scheme code
		body, tok   string
		status      int
		prob, field string
	}{
		{"100001", `{"from":"2024-04-01","type":"other","reason":"another reason"}`, ops, 409, "tax_type_conflict", ""},
		{"100001", `{"from":"2024-04-01","type":"bond","reason":"x"}`, ops, 400, api.CodeBadRequest, "type"},
		{"100001", `{"from":"1-Apr-2024","type":"debt","reason":"x"}`, ops, 400, api.CodeBadRequest, "from"},
		{"100001", `{"from":"2024-05-01","type":"debt","reason":" "}`, ops, 400, api.CodeBadRequest, "reason"},
		{"999999", body, ops, 404, api.CodeNotFound, "code"}, // no such scheme: refused, not stored
		{"100001x", `{"from":"2024-05-01","type":"debt","reason":"a typo"}`, ops, 404, api.CodeNotFound, "code"},
		{"100001", body, investor(t, "INV-1"), 403, api.CodeForbidden, ""},
	} {
		status, h, out := e.do(t, "POST", "/v1/schemes/"+c.code+"/tax-types", c.tok, c.body)
		if status != c.status || problemCode(t, h, out) != c.prob {
			t.Errorf("%s %s: %d %s, want %d %s", c.code, c.body, status, out, c.status, c.prob)
		}
		if c.field != "" && !strings.Contains(string(out), `"field": "`+c.field+`"`) && !strings.Contains(string(out), `"field":"`+c.field+`"`) {
			t.Errorf("%s %s: the problem does not name %s: %s", c.code, c.body, c.field, out)
		}
	}
}
