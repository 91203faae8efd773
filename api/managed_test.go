package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
)

// fakeWallets holds INV-1's wallet W-1, auto-investing into F-1, and
// INV-2's W-2 without auto-invest.
type fakeWallets struct{}

func (fakeWallets) View(_ context.Context, id string) (wallet.View, bool, error) {
	switch id {
	case "W-1":
		return wallet.View{ID: "W-1", InvestorID: "INV-1", Status: "open", Balance: fund.MustAmount("3000.01"), Model: "moderate", Folio: "F-1"}, true, nil
	case "W-2":
		return wallet.View{ID: "W-2", InvestorID: "INV-2", Status: "open", Balance: fund.MustAmount("5.00")}, true, nil
	}
	return wallet.View{}, false, nil
}

func TestWalletRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, _, body := e.get(t, "/v1/wallets/W-1", investor(t, "INV-1"))
	var v map[string]string
	if status != 200 || json.Unmarshal(body, &v) != nil || v["balance"] != "3000.01" || v["model"] != "moderate" || v["folio"] != "F-1" || v["status"] != "open" {
		t.Fatalf("owner: %d %s", status, body)
	}
	// Another's wallet and no wallet look the same.
	for _, c := range []struct{ path, tok string }{
		{"/v1/wallets/W-2", investor(t, "INV-1")},
		{"/v1/wallets/NOPE", investor(t, "INV-1")},
		{"/v1/wallets/W-1", investor(t, "INV-2")},
	} {
		status, h, body := e.get(t, c.path, c.tok)
		if status != http.StatusNotFound || problemCode(t, h, body) != api.CodeNotFound {
			t.Errorf("%s: %d %s", c.path, status, body)
		}
	}
	// Staff read any wallet.
	if status, _, body := e.get(t, "/v1/wallets/W-2", token(t, claims(api.RoleOps, "ops-1", 3600e9))); status != 200 {
		t.Errorf("ops: %d %s", status, body)
	}
	// Not served: 503.
	e2 := setup(t, func(c *api.Config) { c.Wallets = nil })
	if status, h, body := e2.get(t, "/v1/wallets/W-1", investor(t, "INV-1")); status != http.StatusServiceUnavailable || problemCode(t, h, body) != api.CodeUnavailable {
		t.Errorf("no wallets: %d %s", status, body)
	}
}
