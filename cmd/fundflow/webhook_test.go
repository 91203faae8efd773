package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The same signed webhook delivered 1,000 times at once is one inbox row,
// one payment and one allotment; every delivery is answered 200.
func TestSameWebhook1000TimesConcurrently(t *testing.T) {
	m := newMoney(t)
	m.scheme("119551", "Equity Scheme - Large Cap Fund")
	m.nav("119551", "2026-08-20", "42.4242")
	m.purchase("DUP-1", "F1", "119551", "10000.00", "2026-08-20T09:00:00+05:30")
	body := rzPayment{ID: "pay_DUP-1", OrderID: "DUP-1", Status: "captured", Paise: 1000000, At: ist("2026-08-20T10:00:00+05:30")}.Body()

	const n = 1000
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			codes[i] = m.webhook("evt_DUP-1", body, nil)
		}(i)
	}
	close(start)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("delivery %d: HTTP %d", i, c)
		}
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM inbox`:                                         1,
		`SELECT count(*) FROM payments`:                                      1,
		`SELECT count(*) FROM ledger_transactions`:                           1,
		`SELECT count(*) FROM holding_lots`:                                  1,
		`SELECT count(*) FROM outbox WHERE topic = 'transactions.completed'`: 1,
	} {
		if got := m.num(q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	if s, d := m.stats.Stored.Load(), m.stats.Duplicate.Load(); s != 1 || d != n-1 {
		t.Errorf("stored %d, duplicates %d; want 1 and %d", s, d, n-1)
	}
	// They ran through the engine's payments pipeline: every delivery one
	// record written by its sink, counted under the engine's metric names.
	mfs, err := m.d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(mfs, "fundflow_stage_records_in_total", map[string]string{"pipeline": "payments", "stage": "postgres-webhooks"}); got != n {
		t.Errorf("fundflow_stage_records_in_total{pipeline=payments,stage=postgres-webhooks} = %v, want %d", got, n)
	}
	m.checkLedger()
}

// 1,000 deliveries whose signature does not verify (forged, altered body,
// wrong secret, missing, truncated) are each answered 401, and nothing of
// them is stored; the genuine delivery afterwards is.
func TestForgedWebhooksAre401AndStoreNothing(t *testing.T) {
	t.Setenv("FUNDFLOW_TEST_RZP_SECRET_OLD", "whsec_previous")
	m := newMoney(t)
	m.scheme("119551", "Equity Scheme - Large Cap Fund")
	m.nav("119551", "2026-08-20", "42.4242")
	m.purchase("SIG-1", "F1", "119551", "10000.00", "2026-08-20T09:00:00+05:30")
	body := rzPayment{ID: "pay_SIG-1", OrderID: "SIG-1", Status: "captured", Paise: 1000000, At: ist("2026-08-20T10:00:00+05:30")}.Body()
	good := webhook.Sign(body, []byte(testWebhookSecret))

	type forged struct {
		body []byte
		sig  string
	}
	variants := []func(i int) forged{
		func(i int) forged { // random signature
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			return forged{body, hex.EncodeToString(b)}
		},
		func(i int) forged { // the body altered by one byte, the genuine signature
			c := append([]byte(nil), body...)
			c[i%len(c)] ^= byte(1 + i%7)
			return forged{c, good}
		},
		func(i int) forged { // signed with a secret that is not ours
			return forged{body, webhook.Sign(body, []byte(fmt.Sprintf("attacker-%d", i)))}
		},
		func(i int) forged { return forged{body, ""} },                 // no signature
		func(i int) forged { return forged{body, good[:i%64]} },        // truncated
		func(i int) forged { return forged{body, good + "00"} },        // too long
		func(i int) forged { return forged{body[:len(body)-1], good} }, // truncated body
		func(i int) forged { // a tampered amount, re-signed with a wrong secret
			c := bytes.Replace(body, []byte(`"amount":1000000`), []byte(`"amount":1`), 1)
			return forged{c, webhook.Sign(c, []byte(testWebhookSecret+"x"))}
		},
	}
	const n = 1000
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f := variants[i%len(variants)](i)
			codes[i] = m.webhookSig(fmt.Sprintf("evt_forged_%d", i), f.body, f.sig)
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusUnauthorized {
			t.Fatalf("forged delivery %d: HTTP %d, want 401", i, c)
		}
	}
	for _, q := range []string{`SELECT count(*) FROM inbox`, `SELECT count(*) FROM payments`, `SELECT count(*) FROM payment_breaks`,
		`SELECT count(*) FROM ledger_transactions`, `SELECT count(*) FROM quarantine`} {
		if got := m.num(q); got != 0 {
			t.Errorf("%s = %d after forged deliveries, want 0", q, got)
		}
	}
	if got := m.stats.Unauthorized.Load(); got != n {
		t.Errorf("%d counted unauthorized, want %d", got, n)
	}
	// During a rotation the previous secret is accepted too.
	if code := m.webhook("evt_SIG-1", body, []byte("whsec_previous")); code != http.StatusOK {
		t.Fatalf("genuine delivery signed with the previous secret: HTTP %d", code)
	}
	if got := m.str(`SELECT status FROM orders WHERE id = 'SIG-1'`); got != "allotted" {
		t.Errorf("order after the genuine delivery: %s", got)
	}
}

// The receiver's edges: size limit, method, a missing event id, a body that
// is signed but not a payment, and the real SDK fixture signed with our
// secret (its entity status "captured" wins over its event name).
func TestWebhookEdges(t *testing.T) {
	m := newMoney(t)
	big := bytes.Repeat([]byte("x"), 2<<20)
	if code := m.webhook("evt_big", big, nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: HTTP %d, want 413", code)
	}
	resp, err := http.Get(m.srv.URL + "/webhooks/razorpay")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d, want 405", resp.StatusCode)
	}
	if code := m.webhook("evt_settle", []byte(`{"entity":"event","event":"settlement.processed","payload":{},"created_at":1755590400}`), nil); code != http.StatusOK {
		t.Errorf("settlement event: HTTP %d", code)
	}
	if got := m.str(`SELECT status FROM inbox WHERE event_id = 'evt_settle'`); got != "ignored" {
		t.Errorf("settlement event stored as %s, want ignored", got)
	}
	if code := m.webhook("evt_junk", []byte(`{"not":"razorpay"}`), nil); code != http.StatusOK {
		t.Errorf("signed junk: HTTP %d", code)
	}
	if got := m.str(`SELECT status || ': ' || reason FROM inbox WHERE event_id = 'evt_junk'`); got[:6] != "failed" {
		t.Errorf("signed junk stored as %q, want failed with a reason", got)
	}
	fx, err := os.ReadFile(testkit.Fixture(t, "payments/razorpay/fake_payment_authorized_webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	if code := m.webhook("", fx, nil); code != http.StatusOK {
		t.Fatalf("SDK fixture without an event id: HTTP %d", code)
	}
	if code := m.webhook("", fx, nil); code != http.StatusOK {
		t.Fatalf("SDK fixture again: HTTP %d", code)
	}
	if n := m.num(`SELECT count(*) FROM inbox WHERE event_id LIKE 'sha256:%'`); n != 1 {
		t.Errorf("%d inbox rows for the fixture sent twice without an event id, want 1", n)
	}
	if got := m.str(`SELECT status || ' ' || amount::text || ' ' || match_status FROM payments WHERE id = 'pay_6koWN7bvxujzxM'`); got != "captured 10000.00 unmatched" {
		t.Errorf("fixture payment %q", got)
	}
}

// Signed webhooks that can never be applied (issue 11, item 5) are stored
// as failed with their reason and acknowledged 200, so the gateway stops
// redelivering; before, each redelivery got 503 and was sent again for
// days. A non-UTF-8 event id header is replaced by the body's hash and the
// payment applies. Good payments around them land.
func TestPoisonWebhooksAreStoredAsFailedNot503(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	m.nav("E1", "2026-08-20", "20.0000")
	at := ist("2026-08-20T10:00:00+05:30")
	for _, id := range []string{"W-1", "W-2", "W-3"} {
		m.purchase(id, "F"+id, "E1", "100.00", "2026-08-20T09:00:00+05:30")
	}
	good := func(id string) []byte {
		return rzPayment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: 10000, At: at}.Body()
	}
	nulID := bytes.Replace(good("X-1"), []byte(`"id":"pay_X-1"`), []byte(`"id":"pay_\u0000X-1"`), 1)
	nulEvent := bytes.Replace(good("X-2"), []byte(`"event":"payment.captured"`), []byte(`"event":"payment.\u0000captured"`), 1)
	huge := rzPayment{ID: "pay_X-3", OrderID: "X-3", Status: "captured", Paise: 1_000_000_000_000_000_000, At: at}.Body() // ₹10^16: beyond numeric(18,2)

	deliveries := []struct {
		name, eventID string
		body          []byte
		status        string // the inbox row's status
		reason        string // a substring of its reason
	}{
		{"good", "evt_W-1", good("W-1"), "applied", ""},
		{"NUL in the signed payment id", "evt_X-1", nulID, "failed", "bad_encoding"},
		{"NUL in the event name", "evt_X-2", nulEvent, "failed", "bad_encoding"},
		{"amount beyond numeric(18,2)", "evt_X-3", huge, "failed", "out_of_range"},
		{"non-UTF-8 event id header", "evt_\xff\xfe", good("W-2"), "applied", ""},
		{"good after the poison", "evt_W-3", good("W-3"), "applied", ""},
	}
	for _, d := range deliveries {
		for try := 1; try <= 3; try++ {
			if code := m.webhook(d.eventID, d.body, nil); code != http.StatusOK {
				t.Errorf("%s, delivery %d: HTTP %d, want 200", d.name, try, code)
			}
		}
		sum := sha256.Sum256(d.body)
		var status, reason string
		if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT status, reason FROM inbox WHERE event_id = $1 OR event_id = $2`,
			fund.SafeText(d.eventID), "sha256:"+hex.EncodeToString(sum[:])).Scan(&status, &reason); err != nil {
			t.Errorf("%s: not stored: %v", d.name, err)
			continue
		}
		if status != d.status || !strings.Contains(reason, d.reason) {
			t.Errorf("%s: stored %s %q, want %s with %q", d.name, status, reason, d.status, d.reason)
		}
	}
	if n := m.num(`SELECT count(*) FROM inbox`); n != len(deliveries) {
		t.Errorf("%d inbox rows, want one per delivery (%d)", n, len(deliveries))
	}
	if got := m.str(`SELECT string_agg(id || '=' || status, ',' ORDER BY id) FROM orders`); got != "W-1=allotted,W-2=allotted,W-3=allotted" {
		t.Errorf("orders %s", got)
	}
	if got := m.stats.Unavailable.Load(); got != 0 {
		t.Errorf("%d deliveries answered 503", got)
	}
	m.checkLedger()
}

// A payment's event time is bounded by our receipt time (issue 11, item
// 10): the gateway's created_at is used only within max_event_age before
// the receipt and never after it. A created_at of year 5138 made its order
// wait for a NAV of 5138-11-17.
func TestWebhookTimeIsBounded(t *testing.T) {
	received := ist("2026-08-20T14:00:00+05:30")
	cfg := moneyConfig(t, "")
	cfg.Pipelines.Payments.MaxEventAge = 24 * time.Hour
	m := newMoneyWith(t, cfg, func() time.Time { return received })
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	cases := []struct {
		name     string
		at       time.Time // the envelope's created_at
		realised time.Time
		nav      string // the business day the funds were realised, before the 3 PM cut-off
		source   string // payments.realised_time_source: whose clock realised_at is
	}{
		{"an hour before receipt: the gateway's", ist("2026-08-20T13:00:00+05:30"), ist("2026-08-20T13:00:00+05:30"), "2026-08-20", "client"},
		{"exactly a day before: the gateway's", ist("2026-08-19T14:00:00+05:30"), ist("2026-08-19T14:00:00+05:30"), "2026-08-19", "client"},
		{"a day and a second before: ours", ist("2026-08-19T13:59:59+05:30"), received, "2026-08-20", "received"},
		{"half an hour after receipt: ours", ist("2026-08-20T14:30:00+05:30"), received, "2026-08-20", "received"},
		{"year 5138: ours", time.Date(5138, 11, 17, 6, 0, 0, 0, time.UTC), received, "2026-08-20", "received"},
	}
	for i, c := range cases {
		id := fmt.Sprintf("WT-%d", i)
		m.purchase(id, "F"+id, "E1", "100.00", "2026-08-19T09:00:00+05:30")
		if code := m.pay(id, "100.00", c.at); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d", c.name, code)
		}
		var realised time.Time
		var navDate, source string
		if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT p.realised_at, o.nav_date::text, coalesce(p.realised_time_source, '') FROM payments p JOIN orders o ON o.id = p.order_id WHERE p.id = $1`, "pay_"+id).
			Scan(&realised, &navDate, &source); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !realised.Equal(c.realised) || navDate != c.nav || source != c.source {
			t.Errorf("%s: realised %v (%q), NAV date %s; want %v (%q), %s", c.name, realised, source, navDate, c.realised, c.source, c.nav)
		}
	}
}
