package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
)

// fakePools: W-1 is a member of P1 (a NAV of 6.6667 on 21 Aug) and of
// P2 (no NAV yet); other wallets of none.
type fakePools struct{}

func (fakePools) Members(_ context.Context, walletID string) ([]pool.MemberView, error) {
	if walletID != "W-1" {
		return nil, nil
	}
	nav, val := fund.MustNAV("6.6667"), fund.MustAmount("1166.67")
	return []pool.MemberView{
		{Pool: "P1", Name: "Income", Units: fund.MustUnits("174.999", 3), Pending: fund.MustUnits("0", 3), NAV: &nav, NAVDate: "2026-08-21", Value: &val},
		{Pool: "P2", Name: "New", Units: fund.MustUnits("0", 3), Pending: fund.MustUnits("0", 3), Reinvest: true},
	}, nil
}

// MembersAt: P1 from its first NAV (21 Aug 2026) on; nothing before.
func (f fakePools) MembersAt(ctx context.Context, walletID string, day fund.Date) ([]pool.MemberView, error) {
	if day.Before(fund.NewDate(2026, 8, 21)) {
		return nil, nil
	}
	vs, err := f.Members(ctx, walletID)
	return vs[:min(len(vs), 1)], err
}

func TestWalletPoolsRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, _, body := e.get(t, "/v1/wallets/W-1/pools", investor(t, "INV-1"))
	var v struct {
		WalletID string           `json:"wallet_id"`
		Pools    []map[string]any `json:"pools"`
	}
	if status != 200 || json.Unmarshal(body, &v) != nil || v.WalletID != "W-1" || len(v.Pools) != 2 {
		t.Fatalf("owner: %d %s", status, body)
	}
	p1, p2 := v.Pools[0], v.Pools[1]
	if p1["units"] != "174.999" || p1["nav"] != "6.6667" || p1["value"] != "1166.67" || p1["nav_date"] != "2026-08-21" || p1["reinvest"] != false {
		t.Errorf("P1 %v", p1)
	}
	if _, has := p2["nav"]; has || p2["reinvest"] != true {
		t.Errorf("P2 without a NAV %v", p2)
	}
	// Another's wallet and no wallet look the same.
	for _, c := range []struct{ path, tok string }{
		{"/v1/wallets/W-2/pools", investor(t, "INV-1")},
		{"/v1/wallets/NOPE/pools", investor(t, "INV-1")},
		{"/v1/wallets/W-1/pools", investor(t, "INV-2")},
	} {
		status, h, body := e.get(t, c.path, c.tok)
		if status != http.StatusNotFound || problemCode(t, h, body) != api.CodeNotFound {
			t.Errorf("%s: %d %s", c.path, status, body)
		}
	}
	// A member of no pool: an empty list, not null.
	status, _, body = e.get(t, "/v1/wallets/W-2/pools", investor(t, "INV-2"))
	var empty map[string]json.RawMessage
	if status != 200 || json.Unmarshal(body, &empty) != nil || string(empty["pools"]) != "[]" {
		t.Errorf("no pools: %d %q", status, body)
	}
	// Not served: 503.
	e2 := setup(t, func(c *api.Config) { c.Pools = nil })
	if status, h, body := e2.get(t, "/v1/wallets/W-1/pools", investor(t, "INV-1")); status != http.StatusServiceUnavailable || problemCode(t, h, body) != api.CodeUnavailable {
		t.Errorf("no pools: %d %s", status, body)
	}
}
