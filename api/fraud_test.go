package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/ledger"
)

// fakeReview answers as review.Service does; the four-eyes rule itself is
// tested in fraud/review against the real ledger.
type fakeReview struct{ calls []string }

func (f *fakeReview) Holds(_ context.Context, fl ledger.HoldFilter) ([]ledger.Hold, error) {
	f.calls = append(f.calls, fmt.Sprintf("holds %s %v %d", fl.Source, fl.OpenOnly, fl.Limit))
	return []ledger.Hold{{ID: 7, OrderID: "O1", InvestorID: "I1", Source: "fraud", Reason: "under_review", Detail: "rule ato-redemption",
		CaseRef: "ato-redemption:e1", RaisedBy: "fraud", RaisedAt: time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)}}, nil
}

func (f *fakeReview) Release(_ context.Context, id int64, by string) (ledger.Hold, error) {
	f.calls = append(f.calls, fmt.Sprintf("release %d %s", id, by))
	switch {
	case id == 8:
		return ledger.Hold{}, review.ErrNotFound
	case by == "ops-1":
		return ledger.Hold{}, fmt.Errorf("%w: ops-1 last touched case x", review.ErrFourEyes)
	case id == 9:
		return ledger.Hold{}, review.ErrClosed
	}
	now := time.Now()
	return ledger.Hold{ID: id, ClosedAt: &now, ClosedBy: by, Resolution: "released"}, nil
}

func (f *fakeReview) Reject(_ context.Context, id int64, by, note string) (ledger.Hold, error) {
	f.calls = append(f.calls, fmt.Sprintf("reject %d %s %q", id, by, note))
	return ledger.Hold{ID: id, ClosedBy: by, Resolution: "rejected"}, nil
}

func (f *fakeReview) CloseAlert(_ context.Context, id, by, status, note string) (review.Alert, error) {
	f.calls = append(f.calls, fmt.Sprintf("close %s %s %s %q", id, by, status, note))
	if status != "confirmed" && status != "false_positive" {
		return review.Alert{}, fmt.Errorf("%w: status", review.ErrBadInput)
	}
	return review.Alert{ID: id, Status: status, LastTouchedBy: by, Evidence: []byte(`[{"event_id":"e1","lineage":"kafka:x/0/1"}]`)}, nil
}

func TestFraudReviewRoutes(t *testing.T) {
	t.Parallel()
	fr := &fakeReview{}
	e := setup(t, func(c *api.Config) { c.FraudReview = fr })
	ops1 := token(t, claims(api.RoleOps, "ops-1", time.Hour))
	ops2 := token(t, claims(api.RoleOps, "ops-2", time.Hour))
	cases := []struct {
		name, method, path, tok, body string
		status                        int
		code                          string
	}{
		{"investor may not list", "GET", "/v1/ops/holds", investor(t, "INV-1"), "", 403, api.CodeForbidden},
		{"admin may not release", "POST", "/v1/ops/holds/7/release", token(t, claims(api.RoleAdmin, "a", time.Hour)), "", 403, api.CodeForbidden},
		{"ops lists", "GET", "/v1/ops/holds?source=fraud&limit=5", ops1, "", 200, ""},
		{"bad source", "GET", "/v1/ops/holds?source=nope", ops1, "", 400, api.CodeBadRequest},
		{"bad limit", "GET", "/v1/ops/holds?limit=0", ops1, "", 400, api.CodeBadRequest},
		{"four eyes", "POST", "/v1/ops/holds/7/release", ops1, "", 403, api.CodeFourEyes},
		{"another ops user releases", "POST", "/v1/ops/holds/7/release", ops2, "", 200, ""},
		{"closed already", "POST", "/v1/ops/holds/9/release", ops2, "", 409, api.CodeCaseClosed},
		{"no such hold", "POST", "/v1/ops/holds/8/release", ops2, "", 404, api.CodeNotFound},
		{"not a hold id", "POST", "/v1/ops/holds/x/release", ops2, "", 404, api.CodeNotFound},
		{"reject with a note", "POST", "/v1/ops/holds/7/reject", ops2, `{"note":"confirmed takeover"}`, 200, ""},
		{"reject with an unknown field", "POST", "/v1/ops/holds/7/reject", ops2, `{"note":"x","why":"y"}`, 400, api.CodeBadRequest},
		{"close an alert", "POST", "/v1/ops/alerts/ato-redemption:e1/close", ops1, `{"status":"false_positive","note":"customer called"}`, 200, ""},
		{"close needs a status", "POST", "/v1/ops/alerts/a/close", ops1, `{"status":"maybe"}`, 400, api.CodeBadRequest},
		{"close needs a body", "POST", "/v1/ops/alerts/a/close", ops1, ``, 400, api.CodeBadRequest},
	}
	for _, tc := range cases {
		status, h, body := e.do(t, tc.method, tc.path, tc.tok, tc.body)
		if status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
			continue
		}
		if tc.code != "" && problemCode(t, h, body) != tc.code {
			t.Errorf("%s: code %s, want %s", tc.name, problemCode(t, h, body), tc.code)
		}
	}
	// the list shows the internal detail and case to ops
	_, _, body := e.get(t, "/v1/ops/holds", ops2)
	var list struct {
		Holds []map[string]any `json:"holds"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Holds) != 1 || list.Holds[0]["case_ref"] != "ato-redemption:e1" || list.Holds[0]["reason"] != "under_review" {
		t.Errorf("list: %s", body)
	}
	// the acting user is the token's subject; the note reaches the service
	want := map[string]bool{`reject 7 ops-2 "confirmed takeover"`: true, `close ato-redemption:e1 ops-1 false_positive "customer called"`: true, "release 7 ops-2": true, "holds fraud true 5": true}
	for _, c := range fr.calls {
		delete(want, c)
	}
	if len(want) != 0 {
		t.Errorf("calls %v lack %v", fr.calls, want)
	}
	if status, _, _ := e.get(t, "/v1/ops/holds", ops2); status != http.StatusOK {
		t.Error(status)
	}
}
