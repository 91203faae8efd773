package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
)

// A body that is not an order request (no order id, not JSON) is 400 and
// stored nowhere: there is no id to record it under. (What the ledger does
// with well-formed requests, refused or not, is tested in package ledger.)
func TestOrderWithoutAnIDIs400(t *testing.T) {
	m := newMoney(t)
	for name, body := range map[string]string{"no order id": `{"type":"purchase"}`, "not JSON": `order please`} {
		if code, _ := m.order(body); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", name, code)
		}
	}
	if n := m.num(`SELECT count(*) FROM order_requests`); n != 0 {
		t.Errorf("%d requests stored", n)
	}
}

// Orders that can never be stored (issue 11, item 5) are refused with 422
// and a stable reason before any transaction, recorded under their id, and
// answered as duplicates when sent again; they never get the 503 "send it
// again" that a client would retry forever. Good orders around them land.
func TestPoisonOrdersAre422NotRetryForever(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	good := func(id string) string {
		return fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.00","placed_at":"2026-08-20T10:00:00+05:30"}`, id)
	}
	poison := []struct{ name, id, body, reason string }{
		{"amount beyond numeric(18,2)", "P-1", `{"order_id":"P-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"10000000000000000.00","placed_at":"2026-08-20T10:00:00+05:30"}`, "out_of_range"},
		{"NUL in payment_ref", "P-2", `{"order_id":"P-2","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","payment_ref":"order_\u0000","placed_at":"2026-08-20T10:00:00+05:30"}`, "bad_encoding"},
		{"NUL in folio", "P-3", `{"order_id":"P-3","type":"purchase","investor_id":"INV-1","folio":"F\u00001","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`, "bad_encoding"},
		{"NUL in an unknown field", "P-4", `{"order_id":"P-4","type":"purchase","note":"\u0000"}`, "bad_json"},
		{"Latin-1 byte", "P-5", "{\"order_id\":\"P-5\",\"type\":\"purchase\",\"investor_id\":\"INV-1\",\"folio\":\"F1\",\"scheme_code\":\"E1\",\"amount\":\"5.00\",\"payment_ref\":\"caf\xe9\",\"placed_at\":\"2026-08-20T10:00:00+05:30\"}", "bad_encoding"},
		{"units beyond numeric(24,9)", "P-6", `{"order_id":"P-6","type":"redemption","investor_id":"INV-1","folio":"F1","scheme_code":"E1","units":"1000000000000000","placed_at":"2026-08-20T10:00:00+05:30"}`, "out_of_range"},
	}
	n := 0
	for i, p := range poison {
		n++
		if code, pl := m.order(good(fmt.Sprintf("G-%d", i))); code != http.StatusCreated {
			t.Fatalf("good order before %s: HTTP %d %+v", p.name, code, pl)
		}
		for try, want := range []struct {
			code    int
			outcome string
		}{{http.StatusUnprocessableEntity, "rejected"}, {http.StatusOK, "duplicate"}, {http.StatusOK, "duplicate"}} {
			code, pl := m.order(p.body)
			if code != want.code || pl.Outcome != want.outcome || pl.Reason != p.reason {
				t.Errorf("%s, try %d: HTTP %d %q %q (%s); want %d %q %q", p.name, try+1, code, pl.Outcome, pl.Reason, pl.Detail, want.code, want.outcome, p.reason)
			}
		}
	}
	if code, pl := m.order(good("G-last")); code != http.StatusCreated {
		t.Fatalf("good order after the poison: HTTP %d %+v", code, pl)
	}
	if got := m.num(`SELECT count(*) FROM orders`); got != n+1 {
		t.Errorf("%d order legs, want the %d good orders", got, n+1)
	}
	if got := m.num(`SELECT count(*) FROM order_requests WHERE status = 'rejected'`); got != len(poison) {
		t.Errorf("%d rejected requests stored, want %d", got, len(poison))
	}
}

// Orders posted at once are placed in shared transactions (the orders-http
// pipeline's batches), each answered for itself: 40 distinct orders are 40
// × 201 and 40 order legs, and the same order sent 40 times at once is one
// 201, 39 duplicates answering the same order, and one leg.
func TestConcurrentHTTPOrdersAreEachAnswered(t *testing.T) {
	m := newMoney(t)
	m.scheme("E1", "Equity Scheme - Large Cap Fund")
	body := func(id string) string {
		return fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"500.00","placed_at":"2026-08-20T10:00:00+05:30"}`, id)
	}
	const n = 40
	post := func(id func(i int) string) (codes []int, placed []ledger.Placed) {
		codes, placed = make([]int, n), make([]ledger.Placed, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i], placed[i] = m.order(body(id(i))) }()
		}
		wg.Wait()
		return codes, placed
	}
	codes, placed := post(func(i int) string { return fmt.Sprintf("C-%d", i) })
	for i := range codes {
		if codes[i] != http.StatusCreated || placed[i].ID != fmt.Sprintf("C-%d", i) || placed[i].Outcome != "accepted" {
			t.Errorf("distinct order %d: HTTP %d %+v", i, codes[i], placed[i])
		}
	}
	codes, placed = post(func(int) string { return "SAME-1" })
	count := map[string]int{}
	for i := range codes {
		count[fmt.Sprintf("%d %s %s", codes[i], placed[i].ID, placed[i].Outcome)]++
	}
	if want := map[string]int{"201 SAME-1 accepted": 1, "200 SAME-1 duplicate": n - 1}; fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("the same order %d times at once: %v, want %v", n, count, want)
	}
	if got := m.num(`SELECT count(*) FROM orders`); got != n+1 {
		t.Errorf("%d order legs, want %d", got, n+1)
	}
	mfs, err := m.d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got := metricValue(mfs, "fundflow_stage_records_in_total", map[string]string{"pipeline": "orders-http", "stage": "postgres-orders"}); got != 2*n {
		t.Errorf("fundflow_stage_records_in_total{pipeline=orders-http,stage=postgres-orders} = %v, want the %d requests", got, 2*n)
	}
}

// The time an order counts as placed is ours (issue 11, item 10): the
// client's placed_at is used only within max_clock_skew (5 minutes) before
// our receipt and never after it; otherwise the receipt time is, and
// orders.time_source says which. Redemptions get their NAV date at once, so
// the cut-off decision on the effective time shows in nav_date.
func TestOrderTimeIsOurs(t *testing.T) {
	received := ist("2026-08-20T14:50:00+05:30") // before the 3 PM cut-off of Thursday 20-Aug
	cfg := moneyConfig(t, "")
	cfg.Pipelines.Orders.MaxClockSkew = 5 * time.Minute
	m := newMoneyWith(t, cfg, func() time.Time { return received })
	m.scheme("E1", "Equity Scheme - Large Cap Fund") // no NAVs: the redemptions wait with their NAV date
	cases := []struct {
		name, placed string
		source       string
		placedAt     time.Time // the effective time stored
		navDate      string
	}{
		{"3 minutes before receipt: the client's", "2026-08-20T14:47:00+05:30", "client", ist("2026-08-20T14:47:00+05:30"), "2026-08-20"},
		{"exactly 5 minutes before: the client's", "2026-08-20T14:45:00+05:30", "client", ist("2026-08-20T14:45:00+05:30"), "2026-08-20"},
		{"6 minutes before: ours", "2026-08-20T14:44:00+05:30", "received", received, "2026-08-20"},
		{"the day before (its own cut-off): ours", "2026-08-19T11:00:00+05:30", "received", received, "2026-08-20"},
		{"16-Jun-2025, the stale NAV of the report: ours", "2025-06-16T10:00:00+05:30", "received", received, "2026-08-20"},
		{"after receipt, past the cut-off: ours", "2026-08-20T15:10:00+05:30", "received", received, "2026-08-20"},
		{"a second after receipt: ours", "2026-08-20T14:50:01+05:30", "received", received, "2026-08-20"},
	}
	for i, c := range cases {
		id := fmt.Sprintf("T-%d", i)
		code, p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"redemption","investor_id":"INV-1","folio":"F1","scheme_code":"E1","units":"1","placed_at":%q}`, id, c.placed))
		if code != http.StatusCreated {
			t.Fatalf("%s: HTTP %d %+v", c.name, code, p)
		}
		var src, nav string
		var placed, client, rcv time.Time
		if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT time_source, placed_at, client_placed_at, received_at, nav_date::text FROM orders WHERE id = $1`, id).
			Scan(&src, &placed, &client, &rcv, &nav); err != nil {
			t.Fatal(err)
		}
		if src != c.source || !placed.Equal(c.placedAt) || nav != c.navDate {
			t.Errorf("%s: time_source %s, placed_at %v, NAV date %s; want %s, %v, %s", c.name, src, placed, nav, c.source, c.placedAt, c.navDate)
		}
		if !client.Equal(ist(c.placed)) || !rcv.Equal(received) {
			t.Errorf("%s: client_placed_at %v received_at %v; want %v and %v", c.name, client, rcv, ist(c.placed), received)
		}
	}
}

// /v1/orders with a token (issue 11, items 14 and 15): a wrong token is 401,
// and after serve.api.failed_auth_burst failures from one address every
// request from it is 429 rate_limited with Retry-After until the limit
// refills (one a second).
func TestOrdersHTTPFailedAuthIsLimited(t *testing.T) {
	now := ist("2026-08-20T10:00:00+05:30")
	m := newMoneyWith(t, moneyConfig(t, ""), func() time.Time { return now })
	burst := m.d.cfg.Serve.API.FailedAuthBurst // the default, 20
	post := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, m.srv.URL+"/v1/orders", strings.NewReader(`{"order_id":"A-1","type":"cancel","target_order_id":"B","placed_at":"2026-08-20T10:00:00+05:30"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	counts := map[int]int{}
	for i := 0; i < 200; i++ {
		code, ra := post(fmt.Sprintf("guess-%d", i))
		counts[code]++
		if code == http.StatusTooManyRequests && ra != "1" {
			t.Fatalf("429 with Retry-After %q", ra)
		}
	}
	if counts[http.StatusUnauthorized] != burst || counts[http.StatusTooManyRequests] != 200-burst {
		t.Errorf("answers %v; want %d × 401 then %d × 429", counts, burst, 200-burst)
	}
	now = now.Add(time.Second)
	if code, _ := post(testOrdersToken); code != http.StatusUnprocessableEntity { // a cancel of an unknown order: refused, but authenticated
		t.Errorf("the right token a second later: HTTP %d", code)
	}
	if n := m.num(`SELECT count(*) FROM order_requests`); n != 1 {
		t.Errorf("%d requests stored, want only the authenticated one", n)
	}
}

// insecure_no_auth opens /v1/orders without a token, and every start says
// so in the log (issue 11, item 14).
func TestOrdersInsecureNoAuthWarnsAtStart(t *testing.T) {
	cfg := moneyConfig(t, "")
	cfg.Pipelines.Orders.HTTPTokenEnv, cfg.Pipelines.Orders.InsecureNoAuth = "", true
	t.Setenv("FUNDFLOW_TEST_RZP_SECRET", testWebhookSecret)
	d := testDeps(t, cfg)
	var logs bytes.Buffer
	d.log = slog.New(slog.NewTextHandler(&logs, nil))
	l, err := moneyLedger(d)
	if err != nil {
		t.Fatal(err)
	}
	h, err := moneyHandler(testkit.Ctx(t), d, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "insecure_no_auth") {
		t.Errorf("no warning at start; log:\n%s", logs.String())
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/v1/orders", "application/json", strings.NewReader(`{"order_id":"A-1","type":"cancel","target_order_id":"B","placed_at":"2026-08-20T10:00:00+05:30"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("no token with insecure_no_auth: HTTP %d, want the order's own answer (422 unknown target)", resp.StatusCode)
	}
	// A config built without either is refused at start too.
	cfg.Pipelines.Orders.InsecureNoAuth = false
	if _, err := moneyHandler(testkit.Ctx(t), d, l, nil); err == nil {
		t.Error("/v1/orders without a token and without insecure_no_auth was served")
	}
}

// The limits of fund's storability check are the database's columns: read
// their precision and scale from the schema (issue 11, item 5: one place).
func TestStorableLimitsMatchColumns(t *testing.T) {
	m := newMoney(t)
	for _, c := range []struct {
		table, column    string
		precision, scale int
	}{
		{"orders", "amount", fund.AmountPrecision, fund.AmountScale},
		{"payments", "amount", fund.AmountPrecision, fund.AmountScale},
		{"ledger_transactions", "amount", fund.AmountPrecision, fund.AmountScale},
		{"orders", "units", fund.UnitsPrecision, fund.UnitsColumnScale},
		{"holding_lots", "units", fund.UnitsPrecision, fund.UnitsColumnScale},
	} {
		var p, s int
		if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT numeric_precision, numeric_scale FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, c.table, c.column).Scan(&p, &s); err != nil {
			t.Fatalf("%s.%s: %v", c.table, c.column, err)
		}
		if p != c.precision || s != c.scale {
			t.Errorf("%s.%s is numeric(%d,%d); fund checks against numeric(%d,%d)", c.table, c.column, p, s, c.precision, c.scale)
		}
	}
	// And the largest value each check lets through is stored as it is.
	var amount, units string
	if err := m.d.pg.Pool.QueryRow(m.ctx, `SELECT $1::numeric(18,2)::text, $2::numeric(24,9)::text`, fund.MaxAmount, fund.MaxUnits).Scan(&amount, &units); err != nil {
		t.Fatal(err)
	}
	if amount != "9999999999999999.99" || units != "999999999999999.999999999" {
		t.Errorf("largest values stored as %s and %s", amount, units)
	}
}
