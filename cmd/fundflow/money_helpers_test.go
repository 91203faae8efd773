package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/money"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/pipelines"
)

const (
	testWebhookSecret = "whsec_test_money_path"
	testOrdersToken   = "orders-token-of-the-money-tests"
)

// moneyEnv is a test's money path: its own databases, the ledger as `serve`
// wires it, and the HTTP surface (webhooks, /v1/orders) on a test server.
type moneyEnv struct {
	t     *testing.T
	ctx   context.Context
	d     *deps
	l     *ledger.Service
	srv   *httptest.Server
	stats *webhook.Stats
}

// moneyConfig is the money tests' config; it also sets the secrets it names
// (webhook secret, orders token), so every test and benchmark built on it can
// serve what it configures.
func moneyConfig(t testing.TB, extra string) *config.Config {
	t.Setenv("FUNDFLOW_TEST_RZP_SECRET", testWebhookSecret)
	t.Setenv("FUNDFLOW_TEST_ORDERS_TOKEN", testOrdersToken)
	cfg, err := config.Parse("test.yaml", []byte(`
pipelines:
  payments:
    listen: 127.0.0.1:0
    secret_envs: [FUNDFLOW_TEST_RZP_SECRET, FUNDFLOW_TEST_RZP_SECRET_OLD]
    max_event_age: 87600h
  orders:
    http: true
    http_token_env: FUNDFLOW_TEST_ORDERS_TOKEN
    # The money tests replay orders and payments of August 2026 and trust
    # their time stamps; the receipt-time rule has its own tests
    # (TestOrderTimeIsOurs, TestWebhookTimeIsBounded).
    max_clock_skew: 87600h
  allocate:
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newMoney(t *testing.T) *moneyEnv {
	return newMoneyWith(t, moneyConfig(t, ""), nil)
}

// newMoneyWith is newMoney with a config of the test's and, when clock is
// set, our clock (receipt times) set by the test.
func newMoneyWith(t *testing.T, cfg *config.Config, clock func() time.Time) *moneyEnv {
	d := testDeps(t, cfg)
	d.clock = clock
	l, err := moneyLedger(d)
	if err != nil {
		t.Fatal(err)
	}
	stats := &webhook.Stats{}
	h, err := moneyHandler(testkit.Ctx(t), d, l, stats)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &moneyEnv{t: t, ctx: testkit.Ctx(t), d: d, l: l, srv: srv, stats: stats}
}

// db is the test's database, through moneytest.DB.
func (m *moneyEnv) db() moneytest.DB {
	return moneytest.DB{T: m.t, Ctx: m.ctx, Owner: m.d.pg.Pool, Read: m.d.pg.Pool}
}

func (m *moneyEnv) exec(q string, args ...any) { m.t.Helper(); m.db().Exec(q, args...) }

// scheme adds a scheme to the master (what nav-ingest would have done).
func (m *moneyEnv) scheme(code, category string) { m.t.Helper(); m.db().Scheme(code, category) }

// nav publishes a NAV (as nav-ingest would).
func (m *moneyEnv) nav(code, date, nav string) { m.t.Helper(); m.db().NAV(code, date, nav) }

func (m *moneyEnv) str(q string, args ...any) string { m.t.Helper(); return m.db().Str(q, args...) }

func (m *moneyEnv) num(q string, args ...any) int { m.t.Helper(); return m.db().Num(q, args...) }

// order POSTs an order request to /v1/orders.
func (m *moneyEnv) order(body string) (int, ledger.Placed) {
	m.t.Helper()
	req, err := http.NewRequest(http.MethodPost, m.srv.URL+"/v1/orders", strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testOrdersToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var p ledger.Placed
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusUnprocessableEntity {
		if err := json.Unmarshal(b, &p); err != nil {
			m.t.Fatalf("order answer %s: %v", b, err)
		}
	}
	return resp.StatusCode, p
}

// purchase places a purchase of amount at placed (RFC 3339).
func (m *moneyEnv) purchase(id, folio, scheme, amount, placed string) ledger.Placed {
	m.t.Helper()
	code, p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-%s","folio":%q,"scheme_code":%q,"amount":%q,"placed_at":%q,"payment_ref":"order_%s"}`,
		id, folio, folio, scheme, amount, placed, id))
	if code != http.StatusCreated {
		m.t.Fatalf("purchase %s: HTTP %d %+v", id, code, p)
	}
	return p
}

// webhook POSTs a body signed with secret (the test secret when nil).
func (m *moneyEnv) webhook(eventID string, body []byte, secret []byte) int {
	if secret == nil {
		secret = []byte(testWebhookSecret)
	}
	return m.webhookSig(eventID, body, webhook.Sign(body, secret))
}

func (m *moneyEnv) webhookSig(eventID string, body []byte, sig string) int {
	req, err := http.NewRequest(http.MethodPost, m.srv.URL+"/webhooks/razorpay", bytes.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(webhook.HeaderSignature, sig)
	}
	if eventID != "" {
		req.Header.Set(webhook.HeaderEventID, eventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The money tests' shared helpers (internal/moneytest) under their short
// names.
type rzPayment = moneytest.Payment

var (
	ist            = moneytest.IST
	paise          = moneytest.Paise
	expectPurchase = moneytest.ExpectPurchase
)

// pay sends a captured payment for order id of amount (rupees) at t.
func (m *moneyEnv) pay(id, amount string, at time.Time) int {
	return m.webhook("evt_cap_"+id, rzPayment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: paise(amount), At: at}.Body(), nil)
}

// checkLedger asserts the ledger's invariants over the whole database
// (ledgergen.CheckService: the rules of any ledger, those of one the
// ledger service wrote, and stored cost = what the read model shows).
func (m *moneyEnv) checkLedger() {
	m.t.Helper()
	if err := ledgergen.CheckService(m.ctx, m.d.pg.Pool); err != nil {
		m.t.Error(err)
	}
}

// decEq compares two decimal strings as numbers ("1.500" = "1.5").
func decEq(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

// moneyHandler is the money path's HTTP surface as serve builds it from d.
func moneyHandler(ctx context.Context, d *deps, l *ledger.Service, stats *webhook.Stats) (http.Handler, error) {
	return money.Handler(ctx, d.moneyDeps(), d.moneyConfig(), l, stats)
}

// ordersPipeline is the Kafka orders pipeline as serve builds it from d,
// consuming from brokers.
func ordersPipeline(d *deps, l *ledger.Service, brokers []string) (*pipelines.Pipeline[kafka.Message, fund.OrderIntake], error) {
	md := d.moneyDeps()
	md.Brokers = brokers
	return money.OrdersPipeline(md, d.cfg.Pipelines.Orders, l)
}
