package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The payout holds page lists the open ones (investor, kind, subject,
// amount to the paisa, reason) and not the released; an investor token
// cannot open it.
func TestConsolePayoutHolds(t *testing.T) {
	f := newFixture(t)
	ctx := testkit.Ctx(t)
	if _, err := f.pg.Exec(ctx, `INSERT INTO investors (id) VALUES ('INV-P1'), ('INV-P2') ON CONFLICT DO NOTHING;
		INSERT INTO payout_holds (investor_id, kind, subject, amount, reason, raised_at, released_at, release_reason, released_by)
		VALUES ('INV-P1', 'payout_account', 'payout:F-P1', 1250.5, 'bank_unverified', '2026-08-21T04:30:00Z', NULL, NULL, NULL),
		       ('INV-P2', 'refund', 'pay_P9', 99, 'no_bank_account', '2026-08-20T04:30:00Z', '2026-08-21T05:00:00Z', 'bank_verified', 'bank-verification')`); err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, "GET", f.srv.URL+"/ops/payout-holds", token(t, api.RoleOps, "ops-a"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ops/payout-holds: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"INV-P1", "payout_account", "payout:F-P1", "1250.50", "bank_unverified", `href="/ops/payout-holds" class="on"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if strings.Contains(body, "pay_P9") {
		t.Errorf("the page shows the released hold")
	}
	if resp, _ := do(t, "GET", f.srv.URL+"/ops/payout-holds", token(t, api.RoleInvestor, "asha"), nil); resp.StatusCode == http.StatusOK {
		t.Errorf("an investor token opened the page")
	}
}
