package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The payout hold routes: the investor sees their held payout and refund
// with the public reason and nothing internal (no ledger account, payment
// id or who released it); another investor's are the same 404 as none;
// ops list every investor's with the subject; the ops route refuses an
// investor token. Rows written by hand, expectations by hand.
func TestPayoutHoldRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := testkit.Ctx(t)
	// 1: INV-1's payout account, 200.005 owed → 200.01 (half away from zero), open.
	// 2: INV-1's refund of 1,000, released as settled.
	// 3: INV-2's refund of 50.5, open.
	if _, err := e.pg.Exec(ctx, `INSERT INTO payout_holds (investor_id, kind, subject, amount, reason, raised_at, released_at, release_reason, released_by)
		VALUES ('INV-1', 'payout_account', 'payout:F-1', 200.005, 'bank_unverified', '2025-01-14T09:30:00Z', NULL, NULL, NULL),
		       ('INV-1', 'refund', 'pay_R1', 1000, 'bank_verification_failed', '2025-01-13T08:00:00Z', '2025-01-14T10:00:00Z', 'settled', 'bank-verification'),
		       ('INV-2', 'refund', 'pay_R2', 50.5, 'no_bank_account', '2025-01-14T11:00:00Z', NULL, NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	c := claims(api.RoleInvestor, "asha", time.Hour)
	c.InvestorID = "INV-1"
	inv1 := token(t, c)
	ops := token(t, claims(api.RoleOps, "ops-1", time.Hour))

	status, _, body := e.get(t, "/v1/investors/INV-1/payout-holds", inv1)
	var got struct {
		Holds []api.PayoutHoldView `json:"payout_holds"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil {
		t.Fatalf("investor: %d %s", status, body)
	}
	want := []api.PayoutHoldView{{Kind: "payout", Folio: "F-1", Amount: "200.01", Reason: "bank_unverified", Status: "held", RaisedAt: "2025-01-14T09:30:00.000Z"}}
	if !reflect.DeepEqual(got.Holds, want) {
		t.Errorf("investor's open holds: %s", body)
	}
	status, _, body = e.get(t, "/v1/investors/INV-1/payout-holds?all=true", inv1)
	got.Holds = nil
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil {
		t.Fatalf("investor, all: %d %s", status, body)
	}
	released := "2025-01-14T10:00:00.000Z"
	want = []api.PayoutHoldView{
		{Kind: "refund", Amount: "1000.00", Reason: "bank_verification_failed", Status: "released", RaisedAt: "2025-01-13T08:00:00.000Z",
			ReleasedAt: &released, ReleaseReason: "settled"},
		want[0]}
	if !reflect.DeepEqual(got.Holds, want) {
		t.Errorf("investor's holds, all: %s", body)
	}
	for _, internal := range []string{"payout:", "pay_R1", "bank-verification", "subject", "released_by", "investor_id"} {
		if strings.Contains(string(body), internal) {
			t.Errorf("the investor's answer names %q: %s", internal, body)
		}
	}
	if status, _, body := e.get(t, "/v1/investors/INV-2/payout-holds", inv1); status != http.StatusNotFound {
		t.Errorf("another investor's holds: %d %s", status, body)
	}
	if status, _, _ := e.get(t, "/v1/ops/payout-holds", inv1); status != http.StatusForbidden {
		t.Errorf("an investor on the ops route: %d, want 403", status)
	}

	status, _, body = e.get(t, "/v1/ops/payout-holds", ops)
	var opsGot struct {
		Holds []api.OpsPayoutHoldView `json:"payout_holds"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &opsGot) != nil {
		t.Fatalf("ops: %d %s", status, body)
	}
	type row struct{ inv, kind, subject, amount, reason string }
	var rows []row
	for _, h := range opsGot.Holds {
		rows = append(rows, row{h.InvestorID, h.Kind, h.Subject, h.Amount, h.Reason})
	}
	if want := []row{{"INV-2", "refund", "pay_R2", "50.50", "no_bank_account"}, {"INV-1", "payout_account", "payout:F-1", "200.01", "bank_unverified"}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("ops, open holds newest first: %+v", rows)
	}
	status, _, body = e.get(t, "/v1/ops/payout-holds?investor_id=INV-1&all=true", ops)
	opsGot.Holds = nil
	if status != http.StatusOK || json.Unmarshal(body, &opsGot) != nil || len(opsGot.Holds) != 2 ||
		opsGot.Holds[0].Subject != "pay_R1" || opsGot.Holds[0].ReleasedBy != "bank-verification" || opsGot.Holds[0].ReleaseReason != "settled" {
		t.Errorf("ops, INV-1's, all: %d %s", status, body)
	}
	if status, h, body := e.get(t, "/v1/ops/payout-holds?limit=0", ops); status != http.StatusBadRequest || problemCode(t, h, body) != api.CodeBadRequest {
		t.Errorf("limit=0: %d %s", status, body)
	}
}
