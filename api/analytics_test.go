package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The analytics routes on the sample ledger: the scheme's models after a
// refresh, and G-1's portfolio risk over NAVs chosen so that its returns
// are +10 %, −10 %, +10 % (the hand-computed series of fund/risk's tests);
// the same roles and object checks as the other folio routes.
func TestAnalyticsRoutes(t *testing.T) {
	e := setup(t, nil)
	ctx := testkit.Ctx(t)
	pool, ch := e.store.PG, e.store.CH
	// 100002: 50 (Feb 1, the sample's) → 55 → 49.5 → 54.45: returns 0.1, −0.1, 0.1
	for _, n := range []struct{ d, nav string }{{"2024-12-02", "55"}, {"2024-12-16", "49.5"}, {"2024-12-30", "54.45"}} {
		if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ('100002', $1, $2, 't', 't', 1)`,
			n.d, n.nav); err != nil {
			t.Fatal(err)
		}
	}
	asOf := fund.NewDate(2024, 3, 11)
	if _, err := analytics.Resync(ctx, pgstore.Store{Pool: pool}, chstore.Store{Conn: ch}, fund.NewDate(2024, 1, 1), fund.NewDate(2024, 12, 31)); err != nil {
		t.Fatal(err)
	}
	if _, err := (refresh.Refresher{PG: pool, CH: ch}).All(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Config{Auth: &api.Auth{HS256Secret: secret}, RatePerSecond: 1000, Burst: 1000,
		Now: func() time.Time { return time.Date(2024, 12, 30, 12, 0, 0, 0, time.UTC) }, Analytics: query.Service{PG: pool, CH: ch}},
		e.store, nil, testkit.Logger(t))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	e2 := &env{srv: hs}

	analyst := token(t, claims(api.RoleAnalyst, "a", time.Hour))
	status, _, body := e2.get(t, "/v1/schemes/100001/analytics", analyst)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var sa query.SchemeAnalytics
	json.Unmarshal(body, &sa)
	if sa.Rolling == nil { // a list, empty: the sample's NAVs span less than a year
		t.Errorf("no rolling list: %s", body)
	}
	// names from the scheme dimension; no risk row (two NAVs in nav_history are too few for a stdev);
	// AUM on 2024-03-11 = F-1's units × 12.5 (the NAV of the day)
	if sa.Name != "Alpha Flexi Cap Fund - Direct Growth" || sa.AMC != "Alpha MF" || sa.Risk != nil || sa.AUM == nil {
		t.Fatalf("%s", body)
	}
	var units decimal.Decimal
	pool.QueryRow(ctx, `SELECT sum(units) FROM ledger_transactions WHERE scheme_code = '100001' AND kind = 'purchase' AND nav_date <= '2024-03-11'`).Scan(&units)
	if want := units.Mul(decimal.RequireFromString("12.5")).RoundBank(2).StringFixed(2); sa.AUM.AUM != want || sa.AUM.Date != "2024-03-11" {
		t.Errorf("aum %+v, want %s on 2024-03-11", sa.AUM, want)
	}
	// 1M: from the NAV on or before 2024-02-11 (Jan 10, 10.0000) to Mar 11 (12.5000): 12.5/10 − 1 = 0.25
	if len(sa.Returns) != 1 || sa.Returns[0].Period != "1M" || sa.Returns[0].Value != "0.25000000" || sa.Returns[0].From != "2024-01-10" {
		t.Errorf("returns %+v", sa.Returns)
	}
	if status, _, _ := e2.get(t, "/v1/schemes/999999/analytics", analyst); status != 404 {
		t.Errorf("unknown scheme: %d", status)
	}

	// G-1 (INV-2) holds 100002 only: its value series is units × NAV on the four dates.
	status, _, body = e2.get(t, "/v1/folios/G-1/risk?as_of=2024-12-30", investor(t, "INV-2", "G-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var fr query.FolioRisk
	json.Unmarshal(body, &fr)
	var g1 decimal.Decimal
	pool.QueryRow(ctx, `SELECT units FROM holdings WHERE folio_no = 'G-1'`).Scan(&g1)
	value := g1.Mul(decimal.RequireFromString("54.45"))
	if fr.Risk == nil || fr.Days != 4 || fr.From != "2024-02-01" || fr.Value != value.RoundBank(2).StringFixed(2) {
		t.Fatalf("%s", body)
	}
	// volatility sqrt(3.36), Sharpe (rf 0) sqrt(21), VaR 95 the −10 % day; in rupees 0.1 × the last value
	if fr.Risk.Volatility != "1.83303028" || *fr.Risk.Sharpe != "4.58257569" || fr.Risk.VaR95 != "0.10000000" ||
		*fr.VaR95INR != value.Mul(decimal.RequireFromString("0.1")).RoundBank(2).StringFixed(2) {
		t.Errorf("%s", body)
	}
	// object-level checks: another investor's folio is 404, an analyst has no folio access (403)
	if status, _, _ := e2.get(t, "/v1/folios/F-1/risk", investor(t, "INV-2", "G-1")); status != 404 {
		t.Errorf("someone else's folio: %d", status)
	}
	if status, _, _ := e2.get(t, "/v1/folios/G-1/risk", analyst); status != 403 {
		t.Errorf("analyst on a folio route: %d", status)
	}
	// F-1 holds two schemes with one joint NAV date in the window: no risk, a reason
	status, _, body = e2.get(t, "/v1/folios/F-1/risk?as_of=2024-12-31", investor(t, "INV-1", "F-1", "F-2"))
	json.Unmarshal(body, &fr)
	if status != 200 || fr.Risk != nil || fr.Reason == "" {
		t.Errorf("%d %s", status, body)
	}
}
