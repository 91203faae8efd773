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

// bankSim onboards INV-1 and INV-2, whose accounts have one number: the
// bank (the stand-in gateway) has it as Asha's, INV-2 says it is Ravi
// Kumar's. It returns the gateway, bank verification through it, the
// webhook listener and its secret.
func (e *gateEnv) bankSim() (*gatewaysim.Server, *investors.Banks, *httptest.Server, []byte) {
	t := e.t
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
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
	return sim, banks, hook, secret
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
	sim, banks, hook, secret := e.bankSim()

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

// Payouts that are not order legs are held while the bank account is not
// verified: INV-1's redemption proceeds, allotted before any restriction,
// wait in payout:F-INV-1 (10 units at 20.0000 = 200.00); INV-2's purchase,
// held by KYC and rejected, is a refund due of 1000.00. The pass raises a
// payout hold for each with the bank restriction's reason (and no second
// one when run again); INV-1's verified account releases its hold
// (bank_verified) from the webhook; INV-2's hold stays while its account
// fails, and is released as settled once the refund is resolved.
func TestPayoutHoldsUntilBankVerified(t *testing.T) {
	e := newGateEnv(t)
	sim, banks, _, _ := e.bankSim()
	gateway := banks.Gateway
	banks.Gateway = nil // no penny drop yet: restrictions and holds only
	e.buy("P1", "INV-1")
	e.redeem("R1", "INV-1")
	if got := e.status("R1"); got != "allotted" {
		t.Fatalf("R1 before any bank restriction: %s, want allotted", got)
	}
	e.feed("kra-1.txt", kraHead+"Z|ZZZPZ9999Z|03|19-08-2026 18:00:00|address mismatch\n")
	e.buy("P2", "INV-2")
	if got := e.status("P2"); got != "pending_nav held kyc_on_hold" {
		t.Fatalf("P2: %s, want held kyc_on_hold", got)
	}
	if _, err := e.led.RejectHold(e.ctx, int64(e.db.Num(`SELECT id FROM order_holds WHERE order_id = 'P2'`)), "ops", "refund"); err != nil {
		t.Fatal(err)
	}

	open := `SELECT coalesce(string_agg(investor_id || ' ' || kind || ' ' || subject || ' ' || amount::numeric(18,2) || ' ' || reason, ', '
		ORDER BY investor_id), '') FROM payout_holds WHERE released_at IS NULL`
	out, err := banks.Pass(e.ctx, 10*time.Minute, 100)
	if err != nil || out.Restricted != 2 || out.PayoutsHeld != 2 || out.PayoutsReleased != 0 {
		t.Fatalf("first pass: %+v %v; want 2 restricted, 2 payouts held", out, err)
	}
	if got, want := e.db.Str(open), "INV-1 payout_account payout:F-INV-1 200.00 bank_unverified, INV-2 refund pay_P2 1000.00 bank_unverified"; got != want {
		t.Errorf("open holds %q, want %q", got, want)
	}
	if out, err := banks.Pass(e.ctx, 10*time.Minute, 100); err != nil || out.PayoutsHeld+out.PayoutsReleased != 0 {
		t.Errorf("second pass: %+v %v; want no hold raised or released", out, err)
	}

	banks.Gateway = gateway
	if out, err := banks.Pass(e.ctx, 10*time.Minute, 100); err != nil || out.Asked != 2 {
		t.Fatalf("asking: %+v %v", out, err)
	}
	e.now = e.now.Add(30 * time.Minute)
	if err := sim.Settle(e.ctx); err != nil { // the webhooks: INV-1 verified (100), INV-2 failed (0)
		t.Fatal(err)
	}
	if got, want := e.db.Str(open), "INV-2 refund pay_P2 1000.00 bank_unverified"; got != want {
		t.Errorf("after the webhooks, open holds %q, want %q", got, want)
	}
	if got := e.db.Str(`SELECT release_reason || ' ' || released_by || ' ' || (released_at = $1)::text FROM payout_holds WHERE investor_id = 'INV-1'`, e.now); got != "bank_verified bank-verification true" {
		t.Errorf("INV-1's hold: %q", got)
	}

	// Ops refund INV-2's payment: nothing is owed any more.
	e.db.Exec(`UPDATE alerts SET resolved_at = now() WHERE kind = 'refund_due' AND subject = 'pay_P2'`)
	if out, err := banks.Pass(e.ctx, 10*time.Minute, 100); err != nil || out.PayoutsReleased != 1 || out.PayoutsHeld != 0 {
		t.Errorf("after the refund: %+v %v; want 1 released", out, err)
	}
	if got := e.db.Str(`SELECT string_agg(investor_id || ' ' || release_reason, ', ' ORDER BY investor_id) FROM payout_holds`); got != "INV-1 bank_verified, INV-2 settled" {
		t.Errorf("holds %q", got)
	}
	if got := e.db.Str(`SELECT reason FROM investor_restrictions WHERE investor_id = 'INV-2' AND source = 'bank'`); got != "bank_verification_failed" {
		t.Errorf("INV-2's bank restriction %q: the refund's release does not lift it", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE action = 'payout_holds_synced'`); n != 3 {
		t.Errorf("%d payout hold audit rows, want 3 (raised, released by the webhook, settled)", n)
	}
}
