package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
)

// investorBody onboards INV-9: a resident individual, nominees 60 + 40 = 100.
const investorBody = `{"investor_id":"INV-9","name":"Kavya Iyer","pan":"KLMPK4321Q","dob":"1991-07-15","tax_status":"resident_individual",
	"email":"kavya@example.in","mobile":"9812345678",
	"address":{"line1":"4 Park Street","city":"Kolkata","pincode":"700016","country":"IN"},
	"bank_accounts":[{"account_no":"001122334455","ifsc":"ICIC0000104","holder_name":"Kavya Iyer","type":"savings","default":true}],
	"nominees":[{"name":"R Iyer","relationship":"father","share":"60"},{"name":"S Iyer","relationship":"mother","share":"40"}],
	"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`

func investorRecord(t *testing.T, body []byte) api.InvestorRecordView {
	t.Helper()
	var v api.InvestorRecordView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

func problemOf(t *testing.T, h http.Header, body []byte) api.Problem {
	t.Helper()
	problemCode(t, h, body)
	var p api.Problem
	_ = json.Unmarshal(body, &p)
	return p
}

// The investor routes end to end: the onboarding service (admin) creates
// and patches, refusals answer 422 with every field named and store
// nothing, the investor reads only their own record, PII is masked except
// to compliance.
func TestInvestorRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	admin := token(t, claims(api.RoleAdmin, "onboarding", time.Hour))

	status, h, body := e.do(t, "POST", "/v1/investors", admin, investorBody)
	if status != http.StatusCreated || h.Get("Location") != "/v1/investors/INV-9" {
		t.Fatalf("create: %d %s", status, body)
	}
	v := investorRecord(t, body)
	// Masked to admin: all but the last 4 characters.
	if v.ChangeSeq != 1 || v.Investor.PAN != "XXXXXX321Q" || v.Investor.BankAccounts[0].AccountNo != "XXXXXXXX4455" || v.Investor.Mobile != "+919812345678" {
		t.Errorf("created: %+v", v)
	}
	if status, _, _ := e.do(t, "POST", "/v1/investors", admin, investorBody); status != http.StatusOK {
		t.Errorf("the same record again: %d, want 200", status)
	}
	if status, h, body := e.do(t, "POST", "/v1/investors", admin, strings.Replace(investorBody, "Kavya Iyer\",\"pan", "K Iyer\",\"pan", 1)); status != http.StatusConflict || problemCode(t, h, body) != "investor_exists" {
		t.Errorf("another record by POST: %d %s", status, body)
	}

	// 422: every refused field with its path; nothing stored.
	bad := strings.NewReplacer(`"KLMPK4321Q"`, `"KLMCK4321Q"`, `"share":"40"`, `"share":"30"`, `"ICIC0000104"`, `"ICIC1000104"`).Replace(
		strings.Replace(investorBody, `"INV-9"`, `"INV-8"`, 1))
	status, h, body = e.do(t, "POST", "/v1/investors", admin, bad)
	p := problemOf(t, h, body)
	want := []api.FieldProblem{
		{Field: "bank_accounts[0].ifsc", Reason: `"ICIC1000104": want 4 letters, 0, 6 letters or digits (HDFC0001234)`},
		{Field: "nominees", Reason: "shares sum to 90, want 100"}, // 60 + 30
		{Field: "pan", Reason: `the 4th letter 'C' is the holder type; a resident_individual's PAN has P there`},
	}
	if status != http.StatusUnprocessableEntity || p.Code != "invalid_investor" || !reflect.DeepEqual(p.Errors, want) {
		t.Errorf("422: %d %s", status, body)
	}
	if status, _, _ := e.get(t, "/v1/investors/INV-8", admin); status != http.StatusNotFound {
		t.Errorf("a refused record was stored: %d", status)
	}
	if status, h, body := e.do(t, "POST", "/v1/investors", admin, `{"investor_id":`); status != http.StatusBadRequest || problemCode(t, h, body) != api.CodeBadRequest {
		t.Errorf("not JSON: %d %s", status, body)
	}

	// PATCH: merge, validated whole.
	status, _, body = e.do(t, "PATCH", "/v1/investors/INV-9", admin, `{"email":"kavya.iyer@example.in"}`)
	if v := investorRecord(t, body); status != 200 || v.ChangeSeq != 2 || v.Investor.Email != "kavya.iyer@example.in" || v.Investor.Name != "Kavya Iyer" {
		t.Errorf("patch: %d %s", status, body)
	}
	status, h, body = e.do(t, "PATCH", "/v1/investors/INV-9", admin, `{"fatca":{"tax_residencies":[{"country":"IN"},{"country":"SG"}]}}`)
	if p := problemOf(t, h, body); status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "fatca.tax_residencies[1].tin" {
		t.Errorf("SG residency without TIN: %d %s", status, body)
	}
	if status, _, _ := e.do(t, "PATCH", "/v1/investors/INV-7", admin, `{"email":"a@b.in"}`); status != http.StatusNotFound {
		t.Errorf("patch of no one: %d", status)
	}

	// Reading: the investor their own (masked), not another's; compliance in the clear.
	for _, c := range []struct {
		name, tok string
		status    int
		pan       string
	}{
		{"own", investor(t, "INV-9"), 200, "XXXXXX321Q"},
		{"another investor", investor(t, "INV-1"), 404, ""},
		{"own, narrowed to a folio", investor(t, "INV-9", "F-9"), 404, ""},
		{"ops", token(t, claims(api.RoleOps, "o", time.Hour)), 200, "XXXXXX321Q"},
		{"compliance", token(t, claims(api.RoleCompliance, "c", time.Hour)), 200, "KLMPK4321Q"},
		{"analyst", token(t, claims(api.RoleAnalyst, "a", time.Hour)), 403, ""},
	} {
		status, _, body := e.get(t, "/v1/investors/INV-9", c.tok)
		if status != c.status {
			t.Errorf("%s: %d %s", c.name, status, body)
			continue
		}
		if status == 200 {
			if v := investorRecord(t, body); v.Investor.PAN != c.pan || v.ChangeSeq != 2 {
				t.Errorf("%s: PAN %q seq %d", c.name, v.Investor.PAN, v.ChangeSeq)
			}
		} else if strings.Contains(string(body), "Kavya") {
			t.Errorf("%s: leaks the record: %s", c.name, body)
		}
	}
	// Writers are the onboarding service (admin) only.
	for _, role := range []string{api.RoleOps, api.RoleCompliance, api.RoleAnalyst} {
		if status, _, _ := e.do(t, "PATCH", "/v1/investors/INV-9", token(t, claims(role, "x", time.Hour)), `{"email":"x@y.in"}`); status != http.StatusForbidden {
			t.Errorf("%s may patch: %d", role, status)
		}
	}
}
