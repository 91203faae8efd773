package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/pii"
)

// clock is the stand-in gateway's clock (its events' created_at).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// Mandates end to end through the serve wiring: the stand-in gateway
// confirms, pauses and cancels a mandate and debits it, delivering
// signed webhooks to the real receiver (HMAC, inbox, the payments
// pipeline, the ledger). A forged delivery stores nothing; a replay, a
// late older event and a confirm after the cancel change nothing; the
// account number is sealed under the PII key.
func TestMandateWebhooksEndToEnd(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))
	t.Setenv(pii.KeyEnv, key)
	m := newMoney(t)
	ctx := context.Background()
	m.exec(`INSERT INTO investors (id, name) VALUES ('INV-E', 'Esha')`)
	clk := &clock{t: time.Date(2026, 11, 2, 4, 30, 0, 0, time.UTC)}
	sim := &gatewaysim.Server{KeyID: "rzp_test_e2e", KeySecret: "key-secret", WebhookURL: m.srv.URL + "/webhooks/razorpay",
		WebhookSecret: []byte(testWebhookSecret), Now: clk.now}
	gw := httptest.NewServer(sim)
	defer gw.Close()
	sim.AddToken(gatewaysim.Token{ID: "token_E", CustomerID: "cust_E", InvestorID: "INV-E", MaxAmount: fund.AmountFromPaise(1000000),
		Bank: "HDFC", AccountNumber: "918020012345678", IFSC: "UTIB0000001", Beneficiary: "Esha"})
	status := func() string {
		return m.str(`SELECT concat_ws('|', status, coalesce(investor_id, 'NULL'), max_amount, bank_account_mask) FROM mandates WHERE id = 'token_E'`)
	}
	settle := func() {
		t.Helper()
		if err := sim.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	if err := sim.ConfirmMandate("token_E"); err != nil {
		t.Fatal(err)
	}
	settle()
	if got := status(); got != "confirmed|INV-E|10000.00|XXXXXXXXXXX5678" {
		t.Fatalf("after token.confirmed: %s", got)
	}
	var enc []byte
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT bank_account_enc FROM mandates WHERE id = 'token_E'`).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	sealer, err := pii.FromEnv(os.Getenv, pii.KeyEnv)
	if err != nil {
		t.Fatal(err)
	}
	if clear, err := sealer.Open("token_E", "bank_account", enc); err != nil || clear != "918020012345678" {
		t.Fatalf("sealed account: %q, %v", clear, err)
	}
	if n := m.num(`SELECT count(*) FROM mandates m WHERE position('918020012345678' in m::text) > 0`); n != 0 {
		t.Fatal("the account number is stored in clear")
	}
	confirmed := sim.Delivered()[0]

	// A forged cancel: 401, nothing stored.
	inbox := m.num(`SELECT count(*) FROM inbox`)
	clk.add(time.Hour)
	if err := sim.CancelMandate("token_E"); err != nil {
		t.Fatal(err)
	}
	good := sim.WebhookSecret
	sim.WebhookSecret = []byte("not-the-secret")
	if err := sim.Settle(ctx); err == nil {
		t.Fatal("a forged delivery was acknowledged")
	}
	sim.WebhookSecret = good
	if got := m.num(`SELECT count(*) FROM inbox`); got != inbox || status() != "confirmed|INV-E|10000.00|XXXXXXXXXXX5678" {
		t.Fatalf("forged delivery stored something: inbox %d → %d, mandate %s", inbox, got, status())
	}
	sim.ConfirmMandate("token_E") // the stand-in's token is cancelled now; bring it back for the debit below
	if err := sim.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	// That cancel (queued again, now genuine) was applied, then the later
	// confirm was ignored: cancelled is final.
	if got := status(); got != "cancelled|INV-E|10000.00|XXXXXXXXXXX5678" {
		t.Fatalf("after cancel then confirm: %s", got)
	}
	if got := m.str(`SELECT status FROM inbox WHERE event_id = $1`, sim.Delivered()[2].EventID); got != "ignored" {
		t.Fatalf("confirm after cancel: inbox %s", got)
	}
	// The first confirm replayed: a duplicate, nothing changes.
	if err := gatewaysim.Deliver(ctx, nil, sim.WebhookURL, good, confirmed.EventID, confirmed.Body); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != "cancelled|INV-E|10000.00|XXXXXXXXXXX5678" {
		t.Fatalf("after a replay: %s", got)
	}

	// A second mandate: paused, then an older confirm delivered late.
	sim.AddToken(gatewaysim.Token{ID: "token_P", CustomerID: "cust_E", MaxAmount: fund.AmountFromPaise(500000)})
	t1 := clk.now()
	clk.add(2 * time.Hour)
	sim.ConfirmMandate("token_P")
	clk.add(time.Hour)
	sim.PauseMandate("token_P")
	settle()
	clk.set(t1.Add(30 * time.Minute)) // before the pause
	sim.ConfirmMandate("token_P")
	settle()
	if got := m.str(`SELECT status FROM mandates WHERE id = 'token_P'`); got != "paused" {
		t.Fatalf("token_P after a late older confirm: %s", got)
	}

	// A debit on a confirmed mandate, refused by the bank: the payment
	// keeps the reason; the mandate learns its customer.
	clk.add(24 * time.Hour)
	sim.ConfirmMandate("token_P")
	settle()
	sim.FailToken("token_P", "BAD_REQUEST_ERROR", "Payment failed due to insufficient balance")
	c := &razorpay.Client{BaseURL: gw.URL, KeyID: "rzp_test_e2e", KeySecret: "key-secret"}
	p, err := c.Present(ctx, razorpay.Debit{Key: "PLN-1/2026-11-07", TokenID: "token_P", CustomerID: "cust_E", Amount: fund.AmountFromPaise(250000)})
	if err != nil {
		t.Fatal(err)
	}
	settle()
	if got := m.str(`SELECT concat_ws('|', status, amount, error_code, error_description, token_id, gateway_order_id) FROM payments WHERE id = $1`, p.GatewayPaymentID); got != "failed|2500.00|BAD_REQUEST_ERROR|Payment failed due to insufficient balance|token_P|"+p.GatewayOrderID {
		t.Fatalf("failed debit: %s", got)
	}
	if got := m.str(`SELECT customer_id FROM mandates WHERE id = 'token_P'`); got != "cust_E" {
		t.Fatalf("token_P customer %q", got)
	}
	// Presented again with the same key: the same payment, no second debit.
	if p2, err := c.Present(ctx, razorpay.Debit{Key: "PLN-1/2026-11-07", TokenID: "token_P", CustomerID: "cust_E", Amount: fund.AmountFromPaise(250000)}); err != nil || p2 != p {
		t.Fatalf("second Present %+v %v, first %+v", p2, err, p)
	}
	if n := sim.Calls(gatewaysim.CreateRecurring); n != 1 {
		t.Fatalf("%d debits presented", n)
	}
	if n := m.stats.Unauthorized.Load(); n != 1 {
		t.Errorf("%d unauthorized deliveries, want 1", n)
	}
}
