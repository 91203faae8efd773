package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// fakeDrift answers every wallet with no drift (the routes' access checks
// in api_test.go; TestWalletDriftAndFeesRoutes serves the real one).
type fakeDrift struct{}

func (fakeDrift) Drift(_ context.Context, walletID string, th decimal.Decimal) (wallet.DriftView, error) {
	return wallet.DriftView{WalletID: walletID, ThresholdPP: th}, nil
}

// GET /v1/wallets/{id}/drift and /fees over the real stores. INV-1's W-1
// (fakeWallets) auto-invests into F-9 with model moderate 40/35/25 over
// A, B, C and holds A 100.000 units at 12.0000 (1,200.00), B 50.000 at
// 10.0000 (500.00), C 30.000 at 10.0000 (300.00): 2,000.00, so weights
// 60/25/15 %, drift +20, −10, −10 pp: over the 5 pp threshold, a
// rebalance is due (never rebalanced or invested through a run, so no
// model change). Fees, by hand: Q1 an AUM fee of 1,000.00, GST 18 % =
// 180.00, total 1,180.00, paid from the wallet; Q2 AUM 250.00 and
// performance 1,234.56, fee 1,484.56, GST 267.2208 → 267.22, total
// 1,751.78, charged from units: a redemption of 1,751.78 from A placed,
// not allotted yet (no units).
func TestWalletDriftAndFeesRoutes(t *testing.T) {
	t.Parallel()
	st := &walletpg.Store{}
	// Mon 24 Aug 2026, 10:00 IST: the NAVs of Fri 21 Aug are the latest
	// expected (older ones would be stale).
	rb := &wallet.Rebalancer{Wallet: &wallet.Service{Now: func() time.Time { return time.Date(2026, 8, 24, 4, 30, 0, 0, time.UTC) }}}
	e := setup(t, func(c *api.Config) { c.Drift, c.FeeCharges = rb, st })
	pg, ctx := e.store.PG, testkit.Ctx(t)
	st.Pool = pg
	rb.Store, rb.Wallet.Store = *st, *st
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pg.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO wallets (id, investor_id) VALUES ('W-1', 'INV-1'), ('W-2', 'INV-2')`)
	exec(`INSERT INTO autoinvest_terms (wallet_id, model_id, folio_no) VALUES ('W-1', 'moderate', 'F-9')`)
	exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-9', 'INV-1')`)
	m := managed.Model{ID: "moderate", Version: 1, Profile: managed.Moderate, Effective: fund.NewDate(2020, 1, 1), Schemes: []managed.Target{
		{Scheme: "A", Weight: decimal.NewFromInt(40), Min: fund.MustAmount("1.00"), Multiple: fund.MustAmount("1.00")},
		{Scheme: "B", Weight: decimal.NewFromInt(35), Min: fund.MustAmount("1.00"), Multiple: fund.MustAmount("1.00")},
		{Scheme: "C", Weight: decimal.NewFromInt(25), Min: fund.MustAmount("1.00"), Multiple: fund.MustAmount("1.00")}}}
	if err := (&wallet.AutoInvest{Store: *st}).PutModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-9', 'A', 100), ('F-9', 'B', 50), ('F-9', 'C', 30)`)
	exec(`INSERT INTO nav_latest AS n (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
		VALUES ('A', '2026-08-21', 12, 't', 't', 1), ('B', '2026-08-21', 10, 't', 't', 1), ('C', '2026-08-21', 10, 't', 't', 1)
		ON CONFLICT (scheme_code) DO UPDATE SET nav = excluded.nav`)
	exec(`INSERT INTO fee_invoices (id, wallet_id, investor_id, period_from, period_to, aum_fee, perf_fee, fee, gst, total, body, status) VALUES
		('FEE-W-1-Q1', 'W-1', 'INV-1', '2026-01-01', '2026-03-31', 1000.00, 0, 1000.00, 180.00, 1180.00, '{}', 'charged'),
		('FEE-W-1-Q2', 'W-1', 'INV-1', '2026-04-01', '2026-06-30', 250.00, 1234.56, 1484.56, 267.22, 1751.78, '{"charge_from": "units"}', 'due')`)
	exec(`INSERT INTO fee_redemptions (order_id, invoice_id, wallet_id, folio_no, scheme_code, amount, request, status)
		VALUES ('FR-1', 'FEE-W-1-Q2', 'W-1', 'F-9', 'A', 1751.78, '{}', 'placed')`)

	status, _, body := e.get(t, "/v1/wallets/W-1/drift", investor(t, "INV-1"))
	var d struct {
		Model     string `json:"model"`
		Version   int    `json:"model_version"`
		Threshold string `json:"threshold_pp"`
		Total     string `json:"total"`
		Schemes   []struct {
			Scheme, Value, Target, Actual, Drift string
		} `json:"schemes"`
		Over, Changed, Due bool
	}
	if status != 200 {
		t.Fatalf("drift: %d %s", status, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(body, &d)
	json.Unmarshal(raw["over_threshold"], &d.Over)
	json.Unmarshal(raw["model_changed"], &d.Changed)
	json.Unmarshal(raw["rebalance_due"], &d.Due)
	var ss []map[string]string
	json.Unmarshal(raw["schemes"], &ss)
	if d.Model != "moderate" || d.Version != 1 || d.Threshold != "5" || d.Total != "2000.00" || !d.Over || d.Changed || !d.Due || len(ss) != 3 {
		t.Fatalf("drift %s", body)
	}
	want := [][4]string{{"A", "1200.00", "60", "20"}, {"B", "500.00", "25", "-10"}, {"C", "300.00", "15", "-10"}}
	for i, s := range ss {
		if s["scheme"] != want[i][0] || s["value"] != want[i][1] || s["actual_pct"] != want[i][2] || s["drift_pp"] != want[i][3] {
			t.Errorf("scheme %d: %v, want %v", i, s, want[i])
		}
	}

	status, _, body = e.get(t, "/v1/wallets/W-1/fees", investor(t, "INV-1"))
	var f struct {
		WalletID string `json:"wallet_id"`
		Fees     []struct {
			InvoiceID   string `json:"invoice_id"`
			From        string `json:"period_from"`
			To          string `json:"period_to"`
			Lines       []struct{ Kind, Fee string }
			Fee         string `json:"fee"`
			GST         string `json:"gst"`
			Total       string `json:"total"`
			Status      string `json:"status"`
			ChargedFrom string `json:"charged_from"`
			Redeemed    []struct {
				OrderID string `json:"order_id"`
				Scheme  string `json:"scheme"`
				Amount  string `json:"amount"`
				Units   string `json:"units"`
			} `json:"units_redeemed"`
		} `json:"fees"`
	}
	if status != 200 || json.Unmarshal(body, &f) != nil || len(f.Fees) != 2 {
		t.Fatalf("fees: %d %s", status, body)
	}
	q1, q2 := f.Fees[0], f.Fees[1]
	if q1.InvoiceID != "FEE-W-1-Q1" || q1.From != "2026-01-01" || q1.To != "2026-03-31" || len(q1.Lines) != 1 || q1.Lines[0].Kind != "aum" || q1.Lines[0].Fee != "1000.00" ||
		q1.Fee != "1000.00" || q1.GST != "180.00" || q1.Total != "1180.00" || q1.Status != "charged" || q1.ChargedFrom != "wallet" || len(q1.Redeemed) != 0 {
		t.Errorf("Q1 %+v", q1)
	}
	if q2.InvoiceID != "FEE-W-1-Q2" || len(q2.Lines) != 2 || q2.Lines[0].Kind != "aum" || q2.Lines[0].Fee != "250.00" || q2.Lines[1].Kind != "performance" ||
		q2.Lines[1].Fee != "1234.56" || q2.Fee != "1484.56" || q2.GST != "267.22" || q2.Total != "1751.78" || q2.Status != "due" || q2.ChargedFrom != "units" ||
		len(q2.Redeemed) != 1 || q2.Redeemed[0].OrderID != "FR-1" || q2.Redeemed[0].Scheme != "A" || q2.Redeemed[0].Amount != "1751.78" || q2.Redeemed[0].Units != "" {
		t.Errorf("Q2 %+v", q2)
	}

	// Another's wallet and none look the same; W-2 (own, no auto-invest)
	// has no model to drift from.
	for _, c := range []struct{ path, tok string }{
		{"/v1/wallets/W-1/drift", investor(t, "INV-2")},
		{"/v1/wallets/W-1/fees", investor(t, "INV-2")},
		{"/v1/wallets/NOPE/fees", investor(t, "INV-1")},
		{"/v1/wallets/W-2/drift", investor(t, "INV-2")},
	} {
		status, h, body := e.get(t, c.path, c.tok)
		if status != http.StatusNotFound || problemCode(t, h, body) != api.CodeNotFound {
			t.Errorf("%s: %d %s", c.path, status, body)
		}
	}
	// Staff read any wallet's fees: W-2 has none (an empty list).
	f.Fees = nil
	if status, _, body := e.get(t, "/v1/wallets/W-2/fees", token(t, claims(api.RoleOps, "ops-1", 3600e9))); status != 200 || json.Unmarshal(body, &f) != nil || f.WalletID != "W-2" || f.Fees == nil || len(f.Fees) != 0 {
		t.Errorf("ops: %d %q", status, body)
	}
}

// A configured threshold of 0 is 0 (any drift is due), not "not set";
// none configured is wallet.DefaultThresholdPP (5). fakeDrift echoes the
// threshold the route passed.
func TestWalletDriftThresholdZeroIsNotUnset(t *testing.T) {
	t.Parallel()
	zero := decimal.Zero
	for _, c := range []struct {
		th   *decimal.Decimal
		want string
	}{{&zero, "0"}, {nil, "5"}} {
		e := setup(t, func(cfg *api.Config) { cfg.DriftThresholdPP = c.th })
		status, _, body := e.get(t, "/v1/wallets/W-1/drift", investor(t, "INV-1"))
		var d struct {
			Threshold string `json:"threshold_pp"`
		}
		if status != 200 || json.Unmarshal(body, &d) != nil || d.Threshold != c.want {
			t.Errorf("configured %v: %d %s, want threshold_pp %s", c.th, status, body, c.want)
		}
	}
}
