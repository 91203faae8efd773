package ledger_test

import (
	"errors"
	"testing"
	"time"

	"github.com/fundflow/fundflow/ledger"
)

// legState re-posts order id's request and returns its first leg as the
// investor sees it (the duplicate answer carries the legs' states).
func (m *env) legState(body string) ledger.LegState {
	m.t.Helper()
	p := m.order(body)
	if len(p.Legs) == 0 {
		m.t.Fatalf("no legs: %+v", p)
	}
	return p.Legs[0]
}

func purchaseBody(id, folio, scheme, amount, placed string) string {
	return `{"order_id":"` + id + `","type":"purchase","investor_id":"INV-` + folio + `","folio":"` + folio + `","scheme_code":"` + scheme +
		`","amount":"` + amount + `","placed_at":"` + placed + `","payment_ref":"order_` + id + `"}`
}

// A fraud hold keeps a paid purchase from its NAV; released the next day
// after the cut-off, the order gets the NAV of the day after the release,
// never the one of the day it was placed.
func TestHoldKeepsLegAndReleaseTakesNAVAfterRelease(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.nav("E1", "2026-08-03", "10.0000")
	m.nav("E1", "2026-08-04", "11.0000")

	body := purchaseBody("P1", "F1", "E1", "5000.00", "2026-08-03T10:00:00+05:30")
	m.order(body)
	h, created, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: "P1", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview,
		Detail: "rule ato_redeem", CaseRef: "ALERT-1", By: "fraud"})
	if err != nil || !created {
		t.Fatalf("place hold: %v created=%v", err, created)
	}
	again, created, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: "P1", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview, By: "fraud"})
	if err != nil || created || again.ID != h.ID {
		t.Fatalf("second hold of the same source: %+v created=%v err=%v; want hold %d as it is", again, created, err, h.ID)
	}
	m.pay("P1", "5000.00", ist("2026-08-03T10:05:00+05:30"))
	if got := m.str(`SELECT status || ' ' || nav_date FROM orders WHERE id = 'P1'`); got != "pending_nav 2026-08-03" {
		t.Fatalf("held and paid: %s, want pending_nav 2026-08-03 (NAV there, not allotted)", got)
	}
	if res, err := m.svc.AllotPending(m.ctx, 10); err != nil || res.Allotted != 0 {
		t.Fatalf("allocate pass over a held leg: %+v %v", res, err)
	}
	st := m.legState(body)
	if st.Status != "under_review" || st.Reason != "" || st.HoldReason != "" {
		t.Errorf("investor sees %+v; want status under_review and no reason", st)
	}

	// Released on 4 August at 16:00 IST: after that day's 15:00 cut-off,
	// so the NAV is 5 August's (a Wednesday, a business day).
	m.svc.Now = func() time.Time { return ist("2026-08-04T16:00:00+05:30") }
	rel, err := m.svc.ReleaseHold(m.ctx, h.ID, "ops-a")
	if err != nil || rel.Resolution != ledger.HoldReleased || rel.ClosedBy != "ops-a" {
		t.Fatalf("release: %+v %v", rel, err)
	}
	if _, err := m.svc.ReleaseHold(m.ctx, h.ID, "ops-a"); !errors.Is(err, ledger.ErrHoldClosed) {
		t.Errorf("second release: %v, want ErrHoldClosed", err)
	}
	if got := m.str(`SELECT status || ' ' || nav_date FROM orders WHERE id = 'P1'`); got != "pending_nav 2026-08-05" {
		t.Fatalf("released: %s, want pending_nav 2026-08-05", got)
	}
	m.nav("E1", "2026-08-05", "12.5000")
	if res, err := m.svc.AllotPending(m.ctx, 10); err != nil || res.Allotted != 1 {
		t.Fatalf("allocate after release: %+v %v", res, err)
	}
	_, units := expectPurchase("5000.00", "12.5000", 3)
	if got := m.str(`SELECT units::text FROM ledger_transactions WHERE order_id = 'P1'`); !decEq(got, units) {
		t.Errorf("units %s, want %s (5000 less stamp duty at the 5 August NAV)", got, units)
	}
	if n := m.num(`SELECT count(*) FROM outbox WHERE topic = 'orders.hold' AND payload->>'order_id' = 'P1'`); n != 2 {
		t.Errorf("%d orders.hold events, want 2 (placed, released)", n)
	}
	if n := m.num(`SELECT count(*) FROM audit_log WHERE entity = 'order_hold'`); n != 2 {
		t.Errorf("%d hold audit rows, want 2", n)
	}
}

// An investor restriction holds what it blocks and nothing else; lifting
// it releases its holds. A restriction met only at allotment (no eager
// hold) is turned into a hold there, by the set-based pass too.
func TestRestrictionHoldsBlockedKindsAndLiftReleases(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.nav("E1", "2026-08-03", "10.0000")
	m.nav("E1", "2026-08-04", "10.0000")
	m.buy("B1", "F2", "E1", "10000.00", "2026-08-03", "10.0000")

	err := m.svc.SetRestriction(m.ctx, ledger.Restriction{InvestorID: "INV-F2", Source: ledger.HoldKYC, Reason: "kyc_on_hold",
		Detail: "KRA status 03 on hold", BlocksPurchase: true, By: "kra-feed"})
	if err != nil {
		t.Fatal(err)
	}
	body := purchaseBody("P2", "F2", "E1", "2000.00", "2026-08-04T10:00:00+05:30")
	m.order(body)
	m.pay("P2", "2000.00", ist("2026-08-04T10:01:00+05:30"))
	if got := m.str(`SELECT status FROM orders WHERE id = 'P2'`); got != "pending_nav" {
		t.Fatalf("blocked purchase: %s, want pending_nav (held)", got)
	}
	if got := m.str(`SELECT source || ' ' || reason || ' ' || raised_by FROM order_holds WHERE order_id = 'P2' AND closed_at IS NULL`); got != "kyc kyc_on_hold ledger" {
		t.Errorf("hold of P2: %q", got)
	}
	st := m.legState(body)
	if st.Status != "held" || st.HoldReason != "kyc_on_hold" {
		t.Errorf("investor sees %+v; want held, kyc_on_hold", st)
	}
	// The PAN turns inoperative: the same source's restriction changes its
	// reason, and the hold shows the current one.
	err = m.svc.SetRestriction(m.ctx, ledger.Restriction{InvestorID: "INV-F2", Source: ledger.HoldKYC, Reason: "pan_inoperative",
		Detail: "PAN-Aadhaar not linked", BlocksPurchase: true, By: "kra-feed"})
	if err != nil {
		t.Fatal(err)
	}
	if st := m.legState(body); st.Status != "held" || st.HoldReason != "pan_inoperative" {
		t.Errorf("after the reason changed the investor sees %+v; want held, pan_inoperative", st)
	}
	// Redemptions are not blocked by this restriction.
	if _, st := m.redeem("R2", "F2", "E1", `"units":"100.000"`, "2026-08-04T11:00:00+05:30"); st != "allotted" {
		t.Errorf("redemption under a purchase-only restriction: %s, want allotted", st)
	}

	// A restriction written without its eager holds (as if set between
	// a leg's read and its allotment) is met by the allocate pass.
	m.purchase("P3", "F2", "E1", "3000.00", "2026-08-04T10:30:00+05:30")
	m.exec(`DELETE FROM investor_restrictions`)
	m.pay("P3", "3000.00", ist("2026-08-04T16:30:00+05:30")) // after the cut-off: 5 August's NAV, not there yet
	m.exec(`INSERT INTO investor_restrictions (investor_id, source, reason, blocks_purchase, blocks_redemption, updated_by)
		VALUES ('INV-F2', 'kyc', 'kyc_on_hold', true, false, 'kra-feed')`)
	m.nav("E1", "2026-08-05", "10.0000")
	if res, err := m.svc.AllotPending(m.ctx, 10); err != nil || res.Allotted != 0 {
		t.Fatalf("allocate pass over a restricted leg: %+v %v", res, err)
	}
	if n := m.num(`SELECT count(*) FROM order_holds WHERE order_id = 'P3' AND closed_at IS NULL AND raised_by = 'ledger'`); n != 1 {
		t.Fatalf("%d open holds of P3 placed by the allotment, want 1", n)
	}

	m.svc.Now = func() time.Time { return ist("2026-08-05T11:00:00+05:30") }
	n, err := m.svc.LiftRestriction(m.ctx, "INV-F2", ledger.HoldKYC, "kra-feed")
	if err != nil || n != 2 {
		t.Fatalf("lift: released %d, %v; want 2 (P2 and P3)", n, err)
	}
	// Released on 5 August before the cut-off: both take 5 August's NAV,
	// there already, so they are allotted in the lifting transaction.
	if got := m.str(`SELECT string_agg(id || ' ' || status || ' ' || nav_date, ', ' ORDER BY id) FROM orders WHERE id IN ('P2', 'P3')`); got != "P2 allotted 2026-08-05, P3 allotted 2026-08-05" {
		t.Errorf("after the lift: %s", got)
	}
	if n := m.num(`SELECT count(*) FROM investor_restrictions`); n != 0 {
		t.Errorf("%d restrictions left", n)
	}
}

// Rejecting a hold rejects the leg; its captured payment is owed back
// (refund-due break), so the rupee has a home.
func TestRejectHoldRejectsLegAndRefunds(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.purchase("P4", "F4", "E1", "1000.00", "2026-08-03T10:00:00+05:30")
	m.pay("P4", "1000.00", ist("2026-08-03T10:05:00+05:30"))
	h, _, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: "P4", Source: ledger.HoldAML, Reason: ledger.ReasonUnderReview, By: "aml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.svc.RejectHold(m.ctx, h.ID, "ops-b", "sanctions hit confirmed"); err != nil {
		t.Fatal(err)
	}
	if got := m.str(`SELECT status || ' ' || reason FROM orders WHERE id = 'P4'`); got != "rejected hold_rejected:aml" {
		t.Errorf("P4: %s", got)
	}
	if n := m.num(`SELECT count(*) FROM alerts WHERE kind = 'refund_due' AND subject = 'pay_P4'`); n != 1 {
		t.Errorf("%d refund_due alerts for pay_P4, want 1", n)
	}
	if _, _, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: "P4", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview, By: "fraud"}); err == nil {
		t.Error("a hold on a rejected order was placed")
	}
	if _, _, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: "P4", Source: ledger.HoldFraud, Reason: "ato_rule_7", By: "fraud"}); err == nil {
		t.Error("a fraud hold with a rule as its public reason was accepted")
	}
}

// A leg that ends while held (cancelled by its investor, or rejected by one
// source while another holds it too) closes every hold it had: none is
// left open in operations' queue on an order that is over.
func TestEndedLegClosesItsHolds(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.purchase("P5", "F5", "E1", "1000.00", "2026-08-03T10:00:00+05:30")
	m.purchase("P6", "F5", "E1", "1000.00", "2026-08-03T10:00:00+05:30")
	var fraud6 ledger.Hold
	for _, id := range []string{"P5", "P6"} {
		h, _, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: id, Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview, By: "fraud"})
		if err != nil {
			t.Fatal(err)
		}
		fraud6 = h
		if _, _, err := m.svc.PlaceHold(m.ctx, ledger.HoldRequest{OrderID: id, Source: ledger.HoldKYC, Reason: "kyc_missing", By: "kyc"}); err != nil {
			t.Fatal(err)
		}
	}
	p := m.order(`{"order_id":"X5","type":"cancel","target_order_id":"P5","placed_at":"2026-08-03T11:00:00+05:30"}`)
	if p.Outcome != ledger.OutcomeAccepted {
		t.Fatalf("cancel: %+v", p)
	}
	if _, err := m.svc.RejectHold(m.ctx, fraud6.ID, "ops-b", "confirmed"); err != nil {
		t.Fatal(err)
	}
	if n := m.num(`SELECT count(*) FROM order_holds WHERE closed_at IS NULL`); n != 0 {
		t.Errorf("%d holds open on ended orders", n)
	}
	want := "P5 fraud released ledger, P5 kyc released ledger, P6 fraud rejected ops-b, P6 kyc released ledger"
	if got := m.str(`SELECT string_agg(order_id || ' ' || source || ' ' || resolution || ' ' || closed_by, ', ' ORDER BY order_id, source) FROM order_holds`); got != want {
		t.Errorf("holds:\n got %s\nwant %s", got, want)
	}
}

// SetRestrictions and LiftRestrictions do for a batch of investors, in one
// transaction, what SetRestriction and LiftRestriction do for one: the
// pending legs each restriction blocks are held with its reason, a bad
// restriction refuses the batch with nothing written, and lifting one
// source releases only its holds.
func TestBulkRestrictions(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.nav("E1", "2026-08-03", "10.0000")
	m.buy("B2", "F2", "E1", "10000.00", "2026-08-03", "10.0000")
	m.buy("B3", "F3", "E1", "10000.00", "2026-08-03", "10.0000")
	// Pending on 4 August (no NAV yet): F2's paid purchase, F3's redemption.
	m.purchase("P2", "F2", "E1", "2000.00", "2026-08-04T10:00:00+05:30")
	m.pay("P2", "2000.00", ist("2026-08-04T10:01:00+05:30"))
	if _, st := m.redeem("R3", "F3", "E1", `"units":"100.000"`, "2026-08-04T11:00:00+05:30"); st != "pending_nav" {
		t.Fatalf("R3 %s", st)
	}
	kycF2 := ledger.Restriction{InvestorID: "INV-F2", Source: ledger.HoldKYC, Reason: "kyc_on_hold", BlocksPurchase: true, By: "kra-feed"}
	kycF3 := ledger.Restriction{InvestorID: "INV-F3", Source: ledger.HoldKYC, Reason: "kyc_rejected", BlocksPurchase: true, BlocksRedemption: true, By: "kra-feed"}
	bankF3 := ledger.Restriction{InvestorID: "INV-F3", Source: ledger.HoldBank, Reason: "bank_unverified", BlocksRedemption: true, By: "bank-verification"}
	bad := ledger.Restriction{InvestorID: "INV-F9", Source: ledger.HoldBank, Reason: "bank_unverified", BlocksPurchase: true, By: "x"}

	if err := m.svc.SetRestrictions(m.ctx, []ledger.Restriction{kycF2, bad}); err == nil {
		t.Fatal("a batch with a bad restriction was accepted")
	}
	if n := m.num(`SELECT count(*) FROM investor_restrictions`); n != 0 {
		t.Fatalf("%d restrictions written by a refused batch", n)
	}
	if err := m.svc.SetRestrictions(m.ctx, []ledger.Restriction{kycF2, kycF2}); err == nil {
		t.Fatal("the same investor and source twice was accepted")
	}
	if err := m.svc.SetRestrictions(m.ctx, []ledger.Restriction{kycF2, kycF3, bankF3}); err != nil {
		t.Fatal(err)
	}
	holds := `SELECT coalesce(string_agg(order_id || ' ' || source || ' ' || reason, ', ' ORDER BY order_id, source), '') FROM order_holds WHERE closed_at IS NULL`
	if got, want := m.str(holds), "P2 kyc kyc_on_hold, R3 bank bank_unverified, R3 kyc kyc_rejected"; got != want {
		t.Fatalf("open holds %q, want %q", got, want)
	}
	// One audit row for the batch: its three restrictions, the two that
	// say different things in groups of their own.
	if n := m.num(`SELECT count(*) FROM audit_log WHERE entity = 'investor_restriction'`); n != 1 {
		t.Errorf("%d audit rows, want 1", n)
	}
	if got, want := m.str(`SELECT entity_id || ' ' || action || ' ' || (payload->>'count') || ' ' || (SELECT string_agg((g->>'Source') || ':' || (g->>'Reason') || ':' || (g->'investors')::text, ' ' ORDER BY n)
		FROM jsonb_array_elements(payload->'groups') WITH ORDINALITY AS x(g, n)) FROM audit_log WHERE entity = 'investor_restriction'`),
		`INV-F2..INV-F3 (2) set_many 3 kyc:kyc_on_hold:["INV-F2"] kyc:kyc_rejected:["INV-F3"] bank:bank_unverified:["INV-F3"]`; got != want {
		t.Errorf("audit row %q, want %q", got, want)
	}
	// The same batch again: nothing new (one open hold per leg and source).
	if err := m.svc.SetRestrictions(m.ctx, []ledger.Restriction{kycF2, kycF3, bankF3}); err != nil {
		t.Fatal(err)
	}
	if n := m.num(`SELECT count(*) FROM order_holds`); n != 3 {
		t.Errorf("%d holds after the batch again, want 3", n)
	}

	// 5 August's NAV, 11:00 IST: lifting kyc releases P2 (allotted) and
	// R3's kyc hold; R3 waits for the bank.
	m.nav("E1", "2026-08-05", "10.0000")
	m.svc.Now = func() time.Time { return ist("2026-08-05T11:00:00+05:30") }
	n, err := m.svc.LiftRestrictions(m.ctx, []string{"INV-F2", "INV-F3", "INV-NONE"}, ledger.HoldKYC, "kra-feed")
	if err != nil || n != 2 {
		t.Fatalf("lift kyc: %d %v, want 2", n, err)
	}
	if got := m.str(`SELECT string_agg(id || ' ' || status, ', ' ORDER BY id) FROM orders WHERE id IN ('P2', 'R3')`); got != "P2 allotted, R3 pending_nav" {
		t.Errorf("after lifting kyc: %s", got)
	}
	if got := m.str(holds); got != "R3 bank bank_unverified" {
		t.Errorf("open holds after lifting kyc: %q", got)
	}
	if n, err := m.svc.LiftRestrictions(m.ctx, []string{"INV-F3"}, ledger.HoldBank, "bank-verification"); err != nil || n != 1 {
		t.Fatalf("lift bank: %d %v", n, err)
	}
	if got := m.str(`SELECT status FROM orders WHERE id = 'R3'`); got != "allotted" {
		t.Errorf("R3 after the bank lift: %s", got)
	}
	if n := m.num(`SELECT count(*) FROM investor_restrictions`); n != 0 {
		t.Errorf("%d restrictions left", n)
	}
}

// A restriction that blocks only opening a folio (a registered, not
// validated, KYC) holds a purchase into a folio with no allotment yet and
// lets one into a folio the investor already holds go through.
func TestRestrictionBlocksNewFolioOnly(t *testing.T) {
	m := newEnv(t)
	m.scheme("E1", "Equity Scheme - Flexi Cap Fund")
	m.nav("E1", "2026-08-03", "10.0000")
	m.buy("B1", "F1", "E1", "10000.00", "2026-08-03", "10.0000") // F1 has an allotment
	m.exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F1-NEW', 'INV-F1')`)
	r := ledger.Restriction{InvestorID: "INV-F1", Source: ledger.HoldKYC, Reason: "kyc_on_hold", BlocksNewFolio: true, By: "kra-feed"}
	if err := m.svc.SetRestrictions(m.ctx, []ledger.Restriction{r}); err != nil {
		t.Fatal(err)
	}
	m.order(`{"order_id":"P-OLD","type":"purchase","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","amount":"1000.00","placed_at":"2026-08-03T10:30:00+05:30","payment_ref":"order_P-OLD"}`)
	m.pay("P-OLD", "1000.00", ist("2026-08-03T10:31:00+05:30"))
	m.order(`{"order_id":"P-NEW","type":"purchase","investor_id":"INV-F1","folio":"F1-NEW","scheme_code":"E1","amount":"1000.00","placed_at":"2026-08-03T10:30:00+05:30","payment_ref":"order_P-NEW"}`)
	m.pay("P-NEW", "1000.00", ist("2026-08-03T10:31:00+05:30"))
	got := m.str(`SELECT string_agg(o.id || ' ' || o.status || coalesce(' ' || h.reason, ''), ', ' ORDER BY o.id) FROM orders o
		LEFT JOIN order_holds h ON h.order_id = o.id AND h.closed_at IS NULL WHERE o.id IN ('P-OLD', 'P-NEW')`)
	if want := "P-NEW pending_nav kyc_on_hold, P-OLD allotted"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
	if got := m.str(`SELECT blocks_new_folio::text FROM investor_restrictions WHERE investor_id = 'INV-F1'`); got != "true" {
		t.Errorf("blocks_new_folio %s", got)
	}
}
