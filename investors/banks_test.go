package investors_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kycbank"
	"github.com/fundflow/fundflow/ledger"
)

// redeem places a redemption of 10 units from folio F-<investor>.
func (e *gateEnv) redeem(id, investor string) {
	e.t.Helper()
	u := decimal.RequireFromString("10.000")
	req := fund.OrderRequest{ID: id, Kind: fund.ReqRedemption, InvestorID: investor, Folio: "F-" + investor, SchemeCode: "E1", Units: &u,
		PlacedAt: e.now.Add(-time.Minute)}
	if p, err := e.led.Place(e.ctx, fund.OrderIntake{Req: req, Source: "test", ReceivedAt: req.PlacedAt, At: req.PlacedAt}); err != nil || p.Outcome != ledger.OutcomeAccepted {
		e.t.Fatalf("redemption %s: %+v %v", id, p, err)
	}
}

// Penny drop end to end, through the stand-in gateway's wire format and the
// webhook handler: an onboarded investor's payouts wait (bank_unverified)
// while the default account is not verified, purchases do not; the
// completed validation with a matching name (score 100 ≥ 80) verifies it
// and releases the held redemption; a name that does not match (score 0)
// fails it (bank_verification_failed); a redelivered webhook changes
// nothing; a bad signature is refused; an unknown reference is
// acknowledged and stores nothing.
func TestBankVerificationHoldsPayouts(t *testing.T) {
	e := newGateEnv(t)
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
	// INV-2 says the account is Ravi Kumar's; the bank has it as Asha's.
	if _, _, err := e.inv.Patch(e.ctx, "INV-2", []byte(`{"bank_accounts":[{"account_no":"50100012345678","ifsc":"HDFC0001234","holder_name":"Ravi Kumar","type":"savings","default":true}]}`),
		"onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	secret := []byte("x-secret")
	sim := &gatewaysim.Server{KeyID: "rzp_x", KeySecret: "s"}
	gw := httptest.NewServer(sim)
	t.Cleanup(gw.Close)
	sim.AddBank(gatewaysim.Bank{IFSC: "HDFC0001234", AccountNumber: "50100012345678", RegisteredName: "ASHA K RAO"})
	store := pgstore.Store{Pool: e.db.Read}
	banks := &investors.Banks{Store: store, Ledger: e.led, PII: e.gate.PII, SourceAccount: "7878780080316316",
		Gateway: &razorpay.Client{BaseURL: gw.URL, KeyID: "rzp_x", KeySecret: "s"}, Now: func() time.Time { return e.now }, Log: testkit.Logger(t)}
	hook := httptest.NewServer(&kycbank.Handler{Secrets: [][]byte{secret}, Banks: banks, Log: testkit.Logger(t)})
	t.Cleanup(hook.Close)
	sim.WebhookURL, sim.WebhookSecret = hook.URL, secret

	// Before any penny drop: both restricted, redemptions only.
	if n, err := banks.Reconcile(e.ctx, nil); err != nil || n != 2 {
		t.Fatalf("reconcile: %d %v, want 2", n, err)
	}
	e.buy("P1", "INV-1") // 1000 at 20.0000 = 49.997 units after stamp duty: enough for 10
	if got := e.status("P1"); got != "allotted" {
		t.Fatalf("purchase of an unverified investor: %s, want allotted (only payouts wait)", got)
	}
	e.redeem("R1", "INV-1")
	if got := e.status("R1"); got != "pending_nav held bank_unverified" {
		t.Fatalf("redemption to an unverified account: %s", got)
	}

	out, err := banks.Pass(e.ctx, 10*time.Minute, 100)
	if err != nil || out.Asked != 2 || out.Restricted != 0 {
		t.Fatalf("pass: %+v %v; want 2 asked, nothing changed", out, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM investor_bank_accounts WHERE verification = 'pending'`); n != 2 {
		t.Errorf("%d pending accounts, want 2", n)
	}
	// Asked again at once: nothing (pending, with a gateway id).
	if n, err := banks.RequestPending(e.ctx, 10*time.Minute, 100); err != nil || n != 0 {
		t.Errorf("asked again: %d %v", n, err)
	}
	e.now = e.now.Add(30 * time.Minute) // 10:30 IST, before the cut-off
	if err := sim.Settle(e.ctx); err != nil {
		t.Fatal(err)
	}
	// "Asha Rao" against "ASHA K RAO": both words found, 2/2 = 100.
	// "Ravi Kumar" against it: 0/2 = 0.
	got := e.db.Str(`SELECT string_agg(investor_id || ' ' || verification || ' ' || name_match_score || ' ' || verify_reason, ', ' ORDER BY investor_id)
		FROM investor_bank_accounts`)
	if want := "INV-1 verified 100 , INV-2 failed 0 name_mismatch"; got != want {
		t.Errorf("accounts: %q, want %q", got, want)
	}
	// INV-1's restriction lifted and R1 released at 10:30 IST: today's NAV.
	if got := e.status("R1"); got != "allotted" {
		t.Errorf("R1 after verification: %s, want allotted", got)
	}
	if got := e.db.Str(`SELECT string_agg(investor_id || ' ' || reason, ', ' ORDER BY investor_id) FROM investor_restrictions WHERE source = 'bank'`); got != "INV-2 bank_verification_failed" {
		t.Errorf("bank restrictions: %q", got)
	}
	if got := e.db.Str(`SELECT string_agg(status || ' ' || account_status || ' ' || (registered_name_enc IS NOT NULL)::text, ', ' ORDER BY investor_id) FROM bank_validations`); got != "completed valid true, completed valid true" {
		t.Errorf("validations: %q", got)
	}

	// A redelivery changes nothing.
	sent := sim.Delivered()
	if len(sent) != 2 {
		t.Fatalf("%d webhooks delivered, want 2", len(sent))
	}
	before := e.db.Str(`SELECT string_agg(reference_id || status || event_id, ',' ORDER BY reference_id) FROM bank_validations`)
	if err := gatewaysim.Deliver(e.ctx, nil, hook.URL, secret, sent[0].EventID, sent[0].Body); err != nil {
		t.Fatal(err)
	}
	if after := e.db.Str(`SELECT string_agg(reference_id || status || event_id, ',' ORDER BY reference_id) FROM bank_validations`); after != before {
		t.Errorf("redelivery changed the validations")
	}
	// A bad signature: 401.
	if err := gatewaysim.Deliver(e.ctx, nil, hook.URL, []byte("wrong"), "evt_x", sent[0].Body); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad signature: %v, want status 401", err)
	}
	// An unknown reference: acknowledged, nothing stored.
	unknown := strings.Replace(string(sent[0].Body), `"reference_id":"bv_`, `"reference_id":"zz_`, 1)
	if err := gatewaysim.Deliver(e.ctx, nil, hook.URL, secret, "evt_unknown", []byte(unknown)); err != nil {
		t.Errorf("unknown reference: %v, want acknowledged", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM bank_validations`); n != 2 {
		t.Errorf("%d validations, want 2", n)
	}
	// A new holder name is verified again: unverified, payouts held.
	if _, _, err := e.inv.Patch(e.ctx, "INV-1", []byte(`{"bank_accounts":[{"account_no":"50100012345678","ifsc":"HDFC0001234","holder_name":"Asha K Rao","type":"savings","default":true}]}`),
		"onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := banks.Reconcile(e.ctx, []string{"INV-1"}); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT reason FROM investor_restrictions WHERE investor_id = 'INV-1' AND source = 'bank'`); got != "bank_unverified" {
		t.Errorf("after a new holder name: %q", got)
	}
}
