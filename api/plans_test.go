package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/plans/pgstore"
)

// planBody is INV-1's monthly SIP on F-1 in scheme 100001, on the 10th from
// 1 Feb 2025.
const planBody = `{"client_id":"c-1","kind":"sip","investor_id":"INV-1","folio":"F-1","scheme_code":"100001","mandate_id":"token_1",
	"amount":"1000","frequency":"monthly","day_of_month":10,"start_date":"2025-02-01"}`

// planFixture gives scheme 100001 SIP terms and INV-1 a confirmed mandate,
// and registers planBody.
func planFixture(t *testing.T, pool *pgxpool.Pool, now func() time.Time) (*plans.Service, plans.Plan) {
	t.Helper()
	ctx := testkit.Ctx(t)
	if _, err := pool.Exec(ctx, `
		INSERT INTO scheme_plan_terms (scheme_code, kind, frequency, min_amount, multiple) VALUES ('100001', 'sip', 'monthly', 500, 100);
		INSERT INTO mandates (id, gateway, investor_id, status, max_amount) VALUES ('token_1', 'razorpay', 'INV-1', 'confirmed', 10000)`); err != nil {
		t.Fatal(err)
	}
	svc := &plans.Service{Store: pgstore.Store{Pool: pool}, Now: now}
	req, err := plans.DecodeRegisterRequest([]byte(planBody))
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.Register(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return svc, p
}

func planOf(t *testing.T, body []byte) plans.Plan {
	t.Helper()
	var p plans.Plan
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return p
}

// The plan routes end to end, as ops: register (201, then 200 for the same
// body, 409 for another under its client id), refusals with their codes
// and status, the changes, and 409 once cancelled.
func TestPlanRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	body := strings.Replace(planBody, `"c-1"`, `"c-9"`, 1)
	status, h, resp := e.do(t, "POST", "/v1/plans", ops, body)
	if status != http.StatusCreated {
		t.Fatalf("register: %d %s", status, resp)
	}
	p := planOf(t, resp)
	if h.Get("Location") != "/v1/plans/"+p.ID || p.Status != plans.Active || p.Versions[0].EffectiveFrom.String() != "2025-02-10" {
		t.Fatalf("registered: %s %s", h.Get("Location"), resp)
	}
	if status, _, resp := e.do(t, "POST", "/v1/plans", ops, body); status != http.StatusOK || planOf(t, resp).ID != p.ID {
		t.Fatalf("again: %d %s", status, resp)
	}
	// a registration under a new client id (the id is looked up first: a
	// used one with another body is a conflict, whatever the body)
	fresh := strings.Replace(planBody, `"c-1"`, `"c-5"`, 1)
	for _, c := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"another body, same client id", "/v1/plans", strings.Replace(body, `"1000"`, `"2000"`, 1), 409, plans.CodeClientIDConflict},
		{"below minimum", "/v1/plans", strings.Replace(fresh, `"1000"`, `"400"`, 1), 422, plans.CodeBelowMinimum},
		{"not a multiple", "/v1/plans", strings.Replace(fresh, `"1000"`, `"1050"`, 1), 422, plans.CodeNotMultiple},
		{"amount as a number", "/v1/plans", strings.Replace(fresh, `"1000"`, `1000`, 1), 400, plans.CodeBadJSON},
		{"not JSON", "/v1/plans", `{"client_id":`, 400, plans.CodeBadJSON},
		{"unknown scheme", "/v1/plans", strings.Replace(fresh, `"100001"`, `"999999"`, 1), 422, plans.CodeUnknownScheme},
		{"over the mandate", "/v1/plans", strings.Replace(fresh, `"1000"`, `"20000"`, 1), 422, plans.CodeMandateLimit},
		{"pause too long", "/v1/plans/" + p.ID + "/pause", `{"instalments":7}`, 422, plans.CodePauseTooLong},
		{"pause without K", "/v1/plans/" + p.ID + "/pause", `{}`, 422, plans.CodeMissingField},
		{"pause with junk", "/v1/plans/" + p.ID + "/pause", `{"instalments":1,"x":1}`, 400, plans.CodeBadJSON},
		{"resume an active plan", "/v1/plans/" + p.ID + "/resume", ``, 409, plans.CodePlanNotPaused},
		{"modify nothing", "/v1/plans/" + p.ID + "/modify", `{}`, 422, plans.CodeNothingToModify},
		{"no such plan", "/v1/plans/pl_nope/cancel", ``, 404, api.CodeNotFound},
	} {
		status, h, resp := e.do(t, "POST", c.path, ops, c.body)
		if status != c.status || problemCode(t, h, resp) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, resp, c.status, c.code)
		}
	}
	if status, _, resp := e.do(t, "POST", "/v1/plans/"+p.ID+"/pause", ops, `{"instalments":6}`); status != 200 || planOf(t, resp).Status != plans.Paused {
		t.Fatalf("pause: %d %s", status, resp)
	}
	if status, _, resp := e.do(t, "POST", "/v1/plans/"+p.ID+"/resume", ops, `{}`); status != 200 || planOf(t, resp).Status != plans.Active {
		t.Fatalf("resume: %d %s", status, resp)
	}
	// 15 Jan + 7 days = 22 Jan: the first nominal date on or after is 10 Feb.
	status, _, resp = e.do(t, "POST", "/v1/plans/"+p.ID+"/modify", ops, `{"amount":"1500"}`)
	if v := planOf(t, resp).Current(); status != 200 || v.Version != 2 || v.EffectiveFrom.String() != "2025-02-10" || v.Amount.String() != "1500.00" {
		t.Fatalf("modify: %d %s", status, resp)
	}
	if status, _, resp := e.do(t, "POST", "/v1/plans/"+p.ID+"/cancel", ops, ``); status != 200 || planOf(t, resp).Status != plans.Cancelled {
		t.Fatalf("cancel: %d %s", status, resp)
	}
	for _, c := range []struct{ path, body string }{{"/pause", `{"instalments":1}`}, {"/resume", ``}, {"/modify", `{"amount":"2000"}`}, {"/cancel", ``}} {
		if status, h, resp := e.do(t, "POST", "/v1/plans/"+p.ID+c.path, ops, c.body); status != 409 || problemCode(t, h, resp) != plans.CodePlanCancelled {
			t.Errorf("%s after cancel: %d %s", c.path, status, resp)
		}
	}
	status, _, resp = e.get(t, "/v1/plans/"+p.ID+"/instalments", ops)
	if status != 200 || !bytes.Contains(resp, []byte(`"instalments": []`)) {
		t.Fatalf("instalments: %d %s", status, resp)
	}
	status, _, resp = e.get(t, "/v1/folios/F-1/plans", ops)
	var list struct{ Plans []plans.Plan }
	if status != 200 || json.Unmarshal(resp, &list) != nil || len(list.Plans) != 2 {
		t.Fatalf("folio plans: %d %s", status, resp)
	}
}

// Roles and ownership: analysts use no plan route; compliance reads but
// does not change; an investor sees and changes only its own plans, and
// another's plan looks like none.
func TestPlanRolesAndOwnership(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	pl := "/v1/plans/" + e.plan.ID
	analyst := token(t, claims(api.RoleAnalyst, "an-1", time.Hour))
	compliance := token(t, claims(api.RoleCompliance, "c-1", time.Hour))
	for _, c := range []struct {
		tok, method, path, body string
		status                  int
	}{
		{analyst, "GET", pl, "", 403},
		{analyst, "POST", "/v1/plans", planBody, 403},
		{analyst, "GET", "/v1/folios/F-1/plans", "", 403},
		{compliance, "GET", pl, "", 200},
		{compliance, "POST", pl + "/cancel", "", 403},
		{compliance, "POST", "/v1/plans", planBody, 403},
		{investor(t, "INV-1"), "GET", pl, "", 200},
		{investor(t, "INV-1", "F-2"), "GET", pl, "", 404},
		{investor(t, "INV-2"), "POST", pl + "/pause", `{"instalments":1}`, 404},
		{investor(t, "INV-2"), "POST", "/v1/plans", strings.Replace(planBody, `"c-1"`, `"c-3"`, 1), 404},
	} {
		if status, _, body := e.do(t, c.method, c.path, c.tok, c.body); status != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, status, body, c.status)
		}
	}
	// Another investor's plan and no plan get the same answer.
	other := investor(t, "INV-2")
	_, _, notYours := e.get(t, pl, other)
	_, _, missing := e.get(t, "/v1/plans/pl_nope", other)
	if string(bytes.ReplaceAll(notYours, []byte(e.plan.ID), []byte("X"))) != string(bytes.ReplaceAll(missing, []byte("pl_nope"), []byte("X"))) {
		t.Fatalf("bodies differ:\n%s\n%s", notYours, missing)
	}
	// INV-1 naming INV-2's folio G-1 as its own: no such folio, whether or
	// not it exists.
	body := strings.NewReplacer(`"c-1"`, `"c-4"`, `"F-1"`, `"G-1"`).Replace(planBody)
	status, h, resp := e.do(t, "POST", "/v1/plans", investor(t, "INV-1"), body)
	if status != 422 || problemCode(t, h, resp) != plans.CodeUnknownFolio {
		t.Fatalf("another's folio: %d %s", status, resp)
	}
	// The change by the owner goes through.
	if status, _, resp := e.do(t, "POST", pl+"/pause", investor(t, "INV-1"), `{"instalments":2}`); status != 200 {
		t.Fatalf("owner's pause: %d %s", status, resp)
	}
}

// Without a plans service the plan routes say so (503), never 500.
func TestPlanRoutesUnavailable(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *api.Config) { c.Plans = nil })
	status, h, body := e.get(t, "/v1/plans/"+e.plan.ID, token(t, claims(api.RoleOps, "ops-1", time.Hour)))
	if status != http.StatusServiceUnavailable || problemCode(t, h, body) != api.CodeUnavailable {
		t.Fatalf("%d %s", status, body)
	}
}
