package ledger_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/ledger"
)

// tokenBody is a token.* webhook in the shape of Razorpay's documented
// e-mandate samples (API reference, Recurring Payments → Webhooks).
type tokenBody struct {
	ID, Event, Status, Failure, Investor, Account string
	MaxPaise                                      int64
	At, Expires                                   time.Time
}

func (b tokenBody) Body() []byte {
	fr := "null"
	if b.Failure != "" {
		fr = fmt.Sprintf("%q", b.Failure)
	}
	notes := "[]"
	if b.Investor != "" {
		notes = fmt.Sprintf(`{"investor_id":%q}`, b.Investor)
	}
	bank := ""
	if b.Account != "" {
		bank = fmt.Sprintf(`"bank_details":{"beneficiary_name":"Asha Rao","account_number":%q,"ifsc":"HDFC0000123","account_type":"savings"},`, b.Account)
	}
	exp := "null"
	if !b.Expires.IsZero() {
		exp = fmt.Sprint(b.Expires.Unix())
	}
	return []byte(fmt.Sprintf(`{"entity":"event","account_id":"acc_test","event":%q,"contains":["token"],"payload":{"token":{"entity":{"id":%q,"entity":"token","token":"x","bank":"HDFC","wallet":null,"method":"emandate","recurring":true,"recurring_details":{"status":%q,"failure_reason":%s},"auth_type":"netbanking","mrn":null,"used_at":%d,"created_at":%d,%s"max_amount":%d,"expired_at":%s,"dcc_enabled":false,"notes":%s}}},"created_at":%d}`,
		b.Event, b.ID, b.Status, fr, b.At.Unix(), b.At.Unix(), bank, b.MaxPaise, exp, notes, b.At.Unix()))
}

// mandateEvent is a verified delivery as the receiver hands it over
// (webhook.Parse; a mandate's time is the gateway's).
func mandateEvent(t *testing.T, eventID string, body []byte) ledger.InboxEvent {
	t.Helper()
	p, err := webhook.Parse(body, eventID)
	ev := ledger.InboxEvent{Source: "razorpay", EventID: eventID, EventType: p.EventType, Body: body, Payment: p.Payment, Mandate: p.Mandate}
	if err != nil {
		ev.Problem = fund.SafeText(err.Error())
	}
	return ev
}

func (m *env) token(eventID string, b tokenBody) ledger.Receipt {
	m.t.Helper()
	rc, err := m.svc.Receive(m.ctx, mandateEvent(m.t, eventID, b.Body()))
	if err != nil {
		m.t.Fatalf("token event %s: %v", eventID, err)
	}
	return rc
}

func testSealer(t *testing.T) *pii.Sealer {
	t.Helper()
	s, err := pii.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const account = "50100012345678"

func TestMandateConfirmedIsStoredSealed(t *testing.T) {
	m := newEnv(t)
	sealer := testSealer(t)
	m.svc.Sealer = sealer
	m.exec(`INSERT INTO investors (id, name) VALUES ('INV-7', 'Asha Rao')`)
	at := ist("2026-11-02T10:00:00+05:30")
	// expired_at 2031-03-31 23:59:59 IST is 18:29:59 UTC: the IST date.
	exp := ist("2031-03-31T23:59:59+05:30")
	rc := m.token("evt_tc1", tokenBody{ID: "token_M1", Event: "token.confirmed", Status: "confirmed", Investor: "INV-7",
		Account: account, MaxPaise: 2500000, At: at, Expires: exp})
	if rc.Status != "applied" || rc.Duplicate {
		t.Fatalf("receipt %+v", rc)
	}
	got := m.str(`SELECT concat_ws('|', status, investor_id, method, max_amount, expires_on, bank_name, bank_account_mask, last_event_id,
		to_char(last_event_at AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM-DD HH24:MI'), gateway) FROM mandates WHERE id = 'token_M1'`)
	if want := "confirmed|INV-7|emandate|25000.00|2031-03-31|HDFC|XXXXXXXXXX5678|evt_tc1|2026-11-02 10:00|razorpay"; got != want {
		t.Fatalf("mandate row\n got %s\nwant %s", got, want)
	}
	// The number is nowhere in the row in clear, and it opens with the key
	// under the mandate's id.
	if n := m.num(`SELECT count(*) FROM mandates m WHERE position($1 in m::text) > 0 OR position(convert_to($1, 'UTF8') in coalesce(bank_account_enc, '')) > 0`, account); n != 0 {
		t.Fatal("the account number is stored in clear")
	}
	var enc []byte
	if err := m.pool.QueryRow(m.ctx, `SELECT bank_account_enc FROM mandates WHERE id = 'token_M1'`).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	if clear, err := sealer.Open("token_M1", ledger.FieldBankAccount, enc); err != nil || clear != account {
		t.Fatalf("sealed account opens to %q, %v", clear, err)
	}
	// The one-call read others use.
	md, ok, err := m.svc.Mandate(m.ctx, "token_M1")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if md.Status != fund.MandateConfirmed || md.MaxAmount.String() != "25000.00" || md.InvestorID != "INV-7" ||
		!md.Active(fund.AmountFromPaise(2500000), fund.NewDate(2026, 12, 7)) || md.Active(fund.AmountFromPaise(2500001), fund.NewDate(2026, 12, 7)) ||
		md.Active(fund.AmountFromPaise(100), fund.NewDate(2031, 4, 1)) {
		t.Fatalf("Mandate %+v", md)
	}
	if _, ok, err := m.svc.Mandate(m.ctx, "token_none"); ok || err != nil {
		t.Fatal("a mandate that does not exist", ok, err)
	}
	if got := m.str(`SELECT status FROM inbox WHERE event_id = 'evt_tc1'`); got != "applied" {
		t.Fatalf("inbox %s", got)
	}
	if n := m.num(`SELECT count(*) FROM audit_log WHERE entity = 'mandate' AND entity_id = 'token_M1'`); n != 1 {
		t.Errorf("%d audit rows for the mandate", n)
	}
}

// Forward by the gateway's time: a replay changes nothing; an older event
// never undoes a newer state; a cancelled mandate is never revived.
func TestMandateMovesForwardOnly(t *testing.T) {
	m := newEnv(t)
	m.svc.Sealer = testSealer(t)
	t0 := ist("2026-11-02T10:00:00+05:30")
	row := func() string {
		return m.str(`SELECT concat_ws('|', status, last_event_id, max_amount) FROM mandates WHERE id = 'token_F'`)
	}
	step := func(eventID, event, status string, at time.Time, wantInbox, wantRow string) {
		t.Helper()
		rc := m.token(eventID, tokenBody{ID: "token_F", Event: event, Status: status, MaxPaise: 1000000, At: at, Account: account})
		st := rc.Status
		if rc.Duplicate {
			st = "duplicate"
		}
		if st != wantInbox {
			t.Fatalf("%s: %s (%s), want %s", eventID, st, rc.Reason, wantInbox)
		}
		if got := row(); got != wantRow {
			t.Fatalf("after %s: %s, want %s", eventID, got, wantRow)
		}
	}
	step("e1", "token.confirmed", "confirmed", t0, "applied", "confirmed|e1|10000.00")
	step("e1", "token.confirmed", "confirmed", t0, "duplicate", "confirmed|e1|10000.00")
	step("e2", "token.paused", "paused", t0.Add(2*time.Hour), "applied", "paused|e2|10000.00")
	// A confirmed from before the pause, delivered late.
	step("e3", "token.confirmed", "confirmed", t0.Add(time.Hour), "ignored", "paused|e2|10000.00")
	if r := m.str(`SELECT reason FROM inbox WHERE event_id = 'e3'`); !strings.HasPrefix(r, fund.MandateStale+":") {
		t.Fatalf("e3 reason %q", r)
	}
	step("e4", "token.confirmed", "confirmed", t0.Add(3*time.Hour), "applied", "confirmed|e4|10000.00")
	step("e5", "token.cancelled", "cancelled", t0.Add(4*time.Hour), "applied", "cancelled|e5|10000.00")
	// Later events never revive it.
	step("e6", "token.confirmed", "confirmed", t0.Add(5*time.Hour), "ignored", "cancelled|e5|10000.00")
	step("e7", "token.paused", "paused", t0.Add(6*time.Hour), "ignored", "cancelled|e5|10000.00")
	if r := m.str(`SELECT reason FROM inbox WHERE event_id = 'e6'`); !strings.HasPrefix(r, fund.MandateFinal+":") {
		t.Fatalf("e6 reason %q", r)
	}
	// A rejected registration is final too.
	m.token("r1", tokenBody{ID: "token_R", Event: "token.rejected", Status: "rejected", Failure: "Rejected by bank", MaxPaise: 1000000, At: t0})
	m.token("r2", tokenBody{ID: "token_R", Event: "token.confirmed", Status: "confirmed", MaxPaise: 1000000, At: t0.Add(time.Hour)})
	if got := m.str(`SELECT status || '|' || failure_reason FROM mandates WHERE id = 'token_R'`); got != "rejected|Rejected by bank" {
		t.Fatalf("token_R %s", got)
	}
}

// The same events in one group commit, in an order the gateway's times
// contradict, end where the times say.
func TestMandateEventsInOneBatch(t *testing.T) {
	m := newEnv(t)
	t0 := ist("2026-11-02T10:00:00+05:30")
	ev := func(id, tok, event, status string, at time.Time) ledger.InboxEvent {
		return mandateEvent(t, id, tokenBody{ID: tok, Event: event, Status: status, MaxPaise: 500000, At: at}.Body())
	}
	batch := []ledger.InboxEvent{
		ev("b1", "token_B", "token.paused", "paused", t0.Add(time.Hour)),
		ev("b2", "token_A", "token.confirmed", "confirmed", t0),
		ev("b3", "token_B", "token.confirmed", "confirmed", t0),
		ev("b4", "token_A", "token.cancelled", "cancelled", t0.Add(time.Hour)),
		ev("b2", "token_A", "token.confirmed", "confirmed", t0),
	}
	rcs, err := m.svc.ReceiveMany(m.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rc := range rcs {
		s := rc.Status
		if rc.Duplicate {
			s = "duplicate"
		}
		got = append(got, s)
	}
	if strings.Join(got, ",") != "applied,applied,ignored,applied,duplicate" {
		t.Fatalf("receipts %v", got)
	}
	if s := m.str(`SELECT string_agg(id || '=' || status, ',' ORDER BY id) FROM mandates`); s != "token_A=cancelled,token_B=paused" {
		t.Fatalf("mandates %s", s)
	}
	// Without a sealer the account number is not stored at all, only masked.
	m.token("b9", tokenBody{ID: "token_C", Event: "token.confirmed", Status: "confirmed", MaxPaise: 500000, At: t0, Account: account})
	if s := m.str(`SELECT bank_account_mask || '|' || (bank_account_enc IS NULL) FROM mandates WHERE id = 'token_C'`); s != "XXXXXXXXXX5678|true" {
		t.Fatalf("token_C %s", s)
	}
}

// A recurring debit's payment.failed keeps the gateway's reason and token on
// the payment, and tells the mandate its customer and investor; an unknown
// investor leaves the mandate unlinked, which is not an error.
func TestRecurringPaymentLinksMandate(t *testing.T) {
	m := newEnv(t)
	m.exec(`INSERT INTO investors (id, name) VALUES ('INV-9', 'Ravi')`)
	t0 := ist("2026-12-07T09:00:00+05:30")
	failed := func(id, token, investor string, at time.Time) []byte {
		return []byte(fmt.Sprintf(`{"entity":"event","account_id":"acc_test","event":"payment.failed","contains":["payment"],"payload":{"payment":{"entity":{"id":%q,"entity":"payment","amount":500000,"currency":"INR","status":"failed","order_id":"order_%s","invoice_id":null,"international":false,"method":"emandate","amount_refunded":0,"refund_status":null,"captured":false,"description":"SIP","card_id":null,"bank":"HDFC","wallet":null,"vpa":null,"email":"r@example.com","contact":"+919800000000","customer_id":"cust_9","token_id":%q,"notes":{"plan_id":"PLN-9","investor_id":%q},"fee":null,"tax":null,"error_code":"BAD_REQUEST_ERROR","error_description":"Payment failed due to insufficient balance","error_source":"customer","error_step":"payment_debit_request","error_reason":"insufficient_funds","acquirer_data":{},"created_at":%d}}},"created_at":%d}`,
			id, id, token, investor, at.Unix(), at.Unix()))
	}
	// The payment first: the mandate is created, linked, not yet confirmed.
	rc := m.webhook("pf1", failed("pay_F1", "token_L", "INV-9", t0))
	if rc.Status != "applied" {
		t.Fatalf("pf1 %+v", rc)
	}
	if got := m.str(`SELECT concat_ws('|', status, error_code, error_description, token_id) FROM payments WHERE id = 'pay_F1'`); got != "failed|BAD_REQUEST_ERROR|Payment failed due to insufficient balance|token_L" {
		t.Fatalf("payment %s", got)
	}
	if got := m.str(`SELECT concat_ws('|', status, customer_id, investor_id, method) FROM mandates WHERE id = 'token_L'`); got != "created|cust_9|INV-9|emandate" {
		t.Fatalf("mandate after the payment %s", got)
	}
	// Then its confirmation (no customer in the token entity): kept.
	m.token("tl1", tokenBody{ID: "token_L", Event: "token.confirmed", Status: "confirmed", MaxPaise: 1000000, At: t0.Add(-time.Hour)})
	if got := m.str(`SELECT concat_ws('|', status, customer_id, investor_id) FROM mandates WHERE id = 'token_L'`); got != "confirmed|cust_9|INV-9" {
		t.Fatalf("mandate after token.confirmed %s", got)
	}
	// An investor we do not know: stored, unlinked, applied.
	rc = m.webhook("pf2", failed("pay_F2", "token_U", "INV-NOBODY", t0))
	if rc.Status != "applied" {
		t.Fatalf("pf2 %+v", rc)
	}
	if got := m.str(`SELECT concat_ws('|', status, customer_id, coalesce(investor_id, 'NULL')) FROM mandates WHERE id = 'token_U'`); got != "created|cust_9|NULL" {
		t.Fatalf("unknown investor's mandate %s", got)
	}
	rc = m.token("tu1", tokenBody{ID: "token_U2", Event: "token.confirmed", Status: "confirmed", Investor: "INV-NOBODY", MaxPaise: 1000, At: t0})
	if rc.Status != "applied" || m.num(`SELECT count(*) FROM mandates WHERE id = 'token_U2' AND investor_id IS NULL`) != 1 {
		t.Fatalf("token of an unknown investor: %+v", rc)
	}
	// A payment with no token touches no mandate.
	m.pay("NOTOK", "10.00", t0)
	if n := m.num(`SELECT count(*) FROM mandates`); n != 3 {
		t.Fatalf("%d mandates", n)
	}
}

// A token event whose body cannot be used is stored as failed and changes
// no mandate.
func TestBadMandateEventIsFailed(t *testing.T) {
	m := newEnv(t)
	body := bytes.Replace(tokenBody{ID: "token_X", Event: "token.confirmed", Status: "confirmed", MaxPaise: 100, At: ist("2026-11-02T10:00:00+05:30")}.Body(),
		[]byte(`"max_amount":100`), []byte(`"max_amount":1.5`), 1)
	rc, err := m.svc.Receive(m.ctx, mandateEvent(t, "bad1", body))
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != "failed" || m.num(`SELECT count(*) FROM mandates`) != 0 {
		t.Fatalf("receipt %+v", rc)
	}
}
