package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/readmodel"
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

func (m *moneyEnv) exec(q string, args ...any) {
	m.t.Helper()
	if _, err := m.d.pg.Pool.Exec(m.ctx, q, args...); err != nil {
		m.t.Fatalf("%s: %v", q, err)
	}
}

// scheme adds a scheme to the master (what nav-ingest would have done).
func (m *moneyEnv) scheme(code, category string) {
	m.exec(`INSERT INTO schemes (code, name, category, version, valid_from) VALUES ($1, $2, $3, 1, '2020-01-01')`, code, "Fund "+code, category)
}

// nav publishes a NAV (as nav-ingest would).
func (m *moneyEnv) nav(code, date, nav string) {
	m.exec(`INSERT INTO navs (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ($1, $2, $3, 'test', 'test', 1)`,
		code, date, nav)
}

func (m *moneyEnv) str(q string, args ...any) string {
	m.t.Helper()
	var s string
	if err := m.d.pg.Pool.QueryRow(m.ctx, q, args...).Scan(&s); err != nil {
		m.t.Fatalf("%s: %v", q, err)
	}
	return s
}

func (m *moneyEnv) num(q string, args ...any) int {
	m.t.Helper()
	var n int
	if err := m.d.pg.Pool.QueryRow(m.ctx, q, args...).Scan(&n); err != nil {
		m.t.Fatalf("%s: %v", q, err)
	}
	return n
}

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

// rzPayment is the part of a Razorpay payment webhook a test varies.
type rzPayment struct {
	ID, OrderID, Status, Currency string
	Paise                         int64
	At                            time.Time
	Event                         string // default "payment."+Status
}

// body renders the payment as Razorpay sends it (the SDK fixture's shape).
func (p rzPayment) body() []byte {
	if p.Currency == "" {
		p.Currency = "INR"
	}
	if p.Event == "" {
		p.Event = "payment." + p.Status
	}
	return []byte(fmt.Sprintf(`{"entity":"event","account_id":"acc_test","event":%q,"contains":["payment"],"payload":{"payment":{"entity":{"id":%q,"entity":"payment","amount":%d,"currency":%q,"status":%q,"order_id":"order_%s","method":"upi","captured":%v,"notes":{"order_id":%q},"created_at":%d}}},"created_at":%d}`,
		p.Event, p.ID, p.Paise, p.Currency, p.Status, p.OrderID, p.Status == "captured", p.OrderID, p.At.Unix()-5, p.At.Unix()))
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

// pay sends a captured payment for order id of amount (rupees) at t.
func (m *moneyEnv) pay(id, amount string, at time.Time) int {
	return m.webhook("evt_cap_"+id, rzPayment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: paise(amount), At: at}.body(), nil)
}

func paise(amount string) int64 {
	r, ok := new(big.Rat).SetString(amount)
	if !ok {
		panic(amount)
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		panic(amount)
	}
	return r.Num().Int64()
}

func ist(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ---------------------------------------------------------------- expected values, computed independently with big.Rat

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// roundRat rounds r (≥ 0) to scale decimals: half up, or down.
func roundRat(r *big.Rat, scale int, halfUp bool) string {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(p))
	if halfUp {
		x.Add(x, big.NewRat(1, 2))
	}
	q := new(big.Int).Quo(x.Num(), x.Denom()) // floor for x ≥ 0
	return new(big.Rat).SetFrac(q, p).FloatString(scale)
}

// expectPurchase is the allotment the SEBI/Stamp Act arithmetic gives:
// duty = N × 0.005/100.005 to the nearest paisa, units = (N − duty)/NAV
// truncated to the units scale.
func expectPurchase(net, nav string, scale int) (duty, units string) {
	n := rat(net)
	d := new(big.Rat).Mul(n, big.NewRat(5, 100005))
	duty = roundRat(d, 2, true)
	inv := new(big.Rat).Sub(n, rat(duty))
	units = roundRat(new(big.Rat).Quo(inv, rat(nav)), scale, false)
	return duty, units
}

// expectAmountRedemption is what an amount-based redemption from one lot
// at one load rate takes, by the RTAs' rule: the fewest units u at scale with
// u × NAV ≥ asked + load(u), load(u) = u × NAV × rate/100 to the nearest
// paisa. Found from the closed form asked / (NAV × (1 − rate/100)) rounded
// up, then stepped down while one unit step fewer still covers and up while
// it does not.
func expectAmountRedemption(asked, nav, ratePct string, scale int) (units, load string) {
	step := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	loadOf := func(u *big.Rat) *big.Rat {
		return rat(roundRat(new(big.Rat).Quo(new(big.Rat).Mul(new(big.Rat).Mul(u, rat(nav)), rat(ratePct)), rat("100")), 2, true))
	}
	covers := func(u *big.Rat) bool {
		return new(big.Rat).Mul(u, rat(nav)).Cmp(new(big.Rat).Add(rat(asked), loadOf(u))) >= 0
	}
	keep := new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).Quo(rat(ratePct), rat("100")))
	u := new(big.Rat).Quo(rat(asked), new(big.Rat).Mul(rat(nav), keep))
	down := rat(roundRat(u, scale, false))
	if down.Cmp(u) < 0 {
		down.Add(down, step) // round up
	}
	u = down
	for prev := new(big.Rat).Sub(u, step); prev.Sign() > 0 && covers(prev); prev = new(big.Rat).Sub(u, step) {
		u = prev
	}
	for !covers(u) {
		u = new(big.Rat).Add(u, step)
	}
	return u.FloatString(scale), loadOf(u).FloatString(2)
}

// checkLedger asserts the ledger's invariants over the whole database:
// every transaction balances per asset; every holding equals the sum of
// its open lots and the balance of its folio account; nothing is negative;
// every allotted leg has exactly one ledger transaction and vice versa; and
// ledgergen.Check's rules for any ledger: every captured rupee is allotted,
// refund-due or waiting; a switch's clearing account is zero after both
// legs; no lot is consumed before its NAV date; stored cost = fund.LotCost
// (and checkShownCost: = what the read model shows).
func (m *moneyEnv) checkLedger() {
	m.t.Helper()
	checks := []struct{ what, q string }{
		{"unbalanced transactions", `SELECT count(*) FROM (SELECT tx_id, asset FROM ledger_postings GROUP BY 1, 2 HAVING sum(amount) <> 0) x`},
		{"transactions without postings", `SELECT count(*) FROM ledger_transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.tx_id = t.id)`},
		{"holdings that differ from their lots", `SELECT count(*) FROM holdings h FULL JOIN
			(SELECT folio_no, scheme_code, sum(units_remaining) u FROM holding_lots GROUP BY 1, 2) l USING (folio_no, scheme_code)
			WHERE coalesce(h.units, 0) <> coalesce(l.u, 0)`},
		{"holdings that differ from the folio account", `SELECT count(*) FROM holdings h FULL JOIN
			(SELECT substr(account, 7) folio_no, substr(asset, 7) scheme_code, sum(amount) u FROM ledger_postings
			 WHERE account LIKE 'folio:%' GROUP BY 1, 2) p USING (folio_no, scheme_code)
			WHERE coalesce(h.units, 0) <> coalesce(p.u, 0)`},
		{"negative units", `SELECT (SELECT count(*) FROM holdings WHERE units < 0) + (SELECT count(*) FROM holding_lots WHERE units_remaining < 0)`},
		{"allotted legs without one ledger transaction", `SELECT count(*) FROM orders o WHERE o.status = 'allotted'
			AND (SELECT count(*) FROM ledger_transactions t WHERE t.order_id = o.id) <> 1`},
		{"ledger transactions of legs not allotted", `SELECT count(*) FROM ledger_transactions t JOIN orders o ON o.id = t.order_id
			WHERE t.kind <> 'switch_payout' AND (o.status <> 'allotted' OR o.ledger_tx_id <> t.id)`},
		{"paid orders that ended unallotted without a refund-due break", `SELECT count(*) FROM orders o
			WHERE o.kind = 'purchase' AND o.payment_id IS NOT NULL AND o.status IN ('rejected', 'cancelled') AND o.reason <> 'payment_refunded'
			AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = o.payment_id AND b.reason IN ('rejected_after_payment', 'cancelled_after_payment'))`},
		{"lot consumptions that do not add up", `SELECT count(*) FROM ledger_transactions t WHERE t.kind IN ('redemption', 'switch_out')
			AND t.units <> (SELECT coalesce(sum(units), 0) FROM lot_consumptions c WHERE c.ledger_tx_id = t.id)`},
		{"transactions without their outbox event", `SELECT count(*) FROM ledger_transactions t
			WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE event_id = 'transactions.completed:' || t.order_id)`},
	}
	for _, c := range checks {
		if n := m.num(c.q); n != 0 {
			m.t.Errorf("ledger invariant broken: %d %s", n, c.what)
		}
	}
	m.checkShownCost()
	// The generator's checker (genrecon) holds the same rules for any ledger.
	if err := ledgergen.Check(m.ctx, m.d.pg.Pool); err != nil {
		m.t.Errorf("ledgergen.Check: %v", err)
	}
}

// checkShownCost asserts that what the API shows as invested (the read
// model's replay of every folio) is what the ledger stores in holdings.
func (m *moneyEnv) checkShownCost() {
	m.t.Helper()
	rows, err := m.d.pg.Pool.Query(m.ctx, `SELECT folio_no, scheme_code, invested::text FROM holdings WHERE units > 0 ORDER BY 1, 2`)
	if err != nil {
		m.t.Fatal(err)
	}
	stored := map[[2]string]string{}
	for rows.Next() {
		var f, s, inv string
		if err := rows.Scan(&f, &s, &inv); err != nil {
			m.t.Fatal(err)
		}
		stored[[2]string{f, s}] = inv
	}
	rows.Close()
	store := &readmodel.Store{PG: m.d.pg.Pool}
	folios := map[string]bool{}
	for k := range stored {
		folios[k[0]] = true
	}
	for f := range folios {
		l, err := store.LoadFolio(m.ctx, f)
		if err != nil {
			m.t.Fatal(err)
		}
		for _, p := range l.PositionsAt(nil) {
			want, ok := stored[[2]string{f, p.Scheme}]
			if p.Units.Sign() > 0 && (!ok || !decEq(p.Invested.String(), want)) {
				m.t.Errorf("folio %s %s: shown invested %s, stored %s", f, p.Scheme, p.Invested, want)
			}
		}
	}
}

// decEq compares two decimal strings as numbers ("1.500" = "1.5").
func decEq(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

func ratSub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }

const time1 = time.Minute

// shown is what the platform shows for one holding: the read model (API,
// statement) and the holdings export.
type shown struct {
	apiInvested, apiNAV, apiValue          string
	exportInvested, exportNAV, exportValue string
}

// show reads folio's holding in scheme as of date (YYYY-MM-DD) from the
// read model and from the holdings export.
func (m *moneyEnv) show(folio, scheme, date string) shown {
	m.t.Helper()
	tm, err := time.Parse(time.DateOnly, date)
	if err != nil {
		m.t.Fatal(err)
	}
	d := fund.DateOf(tm)
	var s shown
	p, err := (&readmodel.Store{PG: m.d.pg.Pool}).Portfolio(m.ctx, folio, &d)
	if err != nil {
		m.t.Fatal(err)
	}
	for _, h := range p.Holdings {
		if h.Scheme == scheme {
			s.apiInvested = h.Invested.String()
			if h.NAV != nil {
				s.apiNAV, s.apiValue = h.NAV.String(), h.Value.String()
			}
		}
	}
	var buf bytes.Buffer
	if _, err := (&exports.Exporter{PG: m.d.pg.Pool}).Export(m.ctx, "holdings", "csv", d, d, &buf); err != nil {
		m.t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) == 0 {
		m.t.Fatalf("holdings export: %v", err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, r := range recs[1:] {
		if r[col["folio_no"]] == folio && r[col["scheme_code"]] == scheme {
			s.exportInvested, s.exportNAV, s.exportValue = r[col["invested"]], r[col["nav"]], r[col["value"]]
		}
	}
	return s
}
