package ledger_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/exports"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/readmodel"
)

// replaySkew lets the tests replay orders and payments of August 2026 with
// their own time stamps (fund.EffectiveTime); the receipt-time rule has its
// own tests in connectors and cmd/fundflow.
const replaySkew = 87600 * time.Hour

// env is a test's ledger: its own database, the service as cmd/fundflow
// wires it (Postgres store as the application role, the allotment rules,
// the NSE holiday calendar, the audit trail), and the ledger's invariants
// checked when the test ends.
type env struct {
	t     *testing.T
	ctx   context.Context
	owner *pgxpool.Pool // the schema owner: fixtures and migrations
	pool  *pgxpool.Pool // the application role the service runs as
	app   string        // its URL
	svc   *ledger.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	owner, _, app, appURL := testkit.PGApp(t)
	// Some tests order in 2025; a calendar covers only its files' years.
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2025.csv"), testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	m := &env{t: t, ctx: testkit.Ctx(t), owner: owner, pool: app, app: appURL,
		svc: &ledger.Service{Store: pgstore.New(app), Calendar: cal, Audit: true}}
	// Cleanups run last first: this one before the context and the pools end.
	t.Cleanup(m.checkLedger)
	return m
}

// checkLedger asserts the ledger's invariants over the whole database
// (ledgergen.CheckService: every transaction balances per asset; holdings
// = open lots = the folio account, never negative; every allotted leg one
// transaction, announced on the outbox; every captured rupee allotted,
// refund-due or waiting; a switch's clearing account zero after both legs;
// no lot consumed before its NAV date; stored cost = fund.LotCost = what
// the read model shows).
func (m *env) checkLedger() {
	m.t.Helper()
	if err := ledgergen.CheckService(context.WithoutCancel(m.ctx), m.pool); err != nil {
		m.t.Error(err)
	}
}

// db is the test's database, through moneytest.DB.
func (m *env) db() moneytest.DB {
	return moneytest.DB{T: m.t, Ctx: m.ctx, Owner: m.owner, Read: m.pool}
}

func (m *env) exec(q string, args ...any) { m.t.Helper(); m.db().Exec(q, args...) }

// scheme adds a scheme to the master (what nav-ingest would have done).
func (m *env) scheme(code, category string) { m.t.Helper(); m.db().Scheme(code, category) }

// nav publishes a NAV (as nav-ingest would).
func (m *env) nav(code, date, nav string) { m.t.Helper(); m.db().NAV(code, date, nav) }

func (m *env) str(q string, args ...any) string { m.t.Helper(); return m.db().Str(q, args...) }

func (m *env) num(q string, args ...any) int { m.t.Helper(); return m.db().Num(q, args...) }

// order places one order request (JSON, as POST /v1/orders receives it)
// through the service.
func (m *env) order(body string) ledger.Placed {
	m.t.Helper()
	in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "http", At: time.Now(), MaxSkew: replaySkew})
	if !ok {
		m.t.Fatalf("order %s: not an order request: %v", body, err)
	}
	p, err := m.svc.Place(m.ctx, in)
	if err != nil {
		m.t.Fatalf("order %s: %v", in.Req.ID, err)
	}
	return p
}

// purchase places a purchase of amount at placed (RFC 3339).
func (m *env) purchase(id, folio, scheme, amount, placed string) ledger.Placed {
	m.t.Helper()
	p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":"INV-%s","folio":%q,"scheme_code":%q,"amount":%q,"placed_at":%q,"payment_ref":"order_%s"}`,
		id, folio, folio, scheme, amount, placed, id))
	if p.Outcome != ledger.OutcomeAccepted {
		m.t.Fatalf("purchase %s: %+v", id, p)
	}
	return p
}

// buy places and pays a purchase at a NAV date, returning the units the
// arithmetic says it got.
func (m *env) buy(id, folio, scheme, amount, date, nav string) string {
	m.t.Helper()
	m.purchase(id, folio, scheme, amount, date+"T10:00:00+05:30")
	m.pay(id, amount, ist(date+"T10:05:00+05:30"))
	if got := m.str(`SELECT status FROM orders WHERE id = $1`, id); got != "allotted" {
		m.t.Fatalf("%s: %s, want allotted", id, got)
	}
	_, units := expectPurchase(amount, nav, 3)
	return units
}

// redeem places a redemption; it returns the leg's status, or
// "rejected:REASON" when the request was refused.
func (m *env) redeem(id, folio, scheme, qty, placed string) (ledger.Placed, string) {
	m.t.Helper()
	p := m.order(fmt.Sprintf(`{"order_id":%q,"type":"redemption","investor_id":"INV-%s","folio":%q,"scheme_code":%q,%s,"placed_at":%q}`,
		id, folio, folio, scheme, qty, placed))
	st := ""
	if len(p.Legs) > 0 {
		st = p.Legs[0].Status
	}
	if p.Outcome == ledger.OutcomeRejected {
		st = "rejected:" + p.Reason
	}
	return p, st
}

// The money tests' shared helpers (internal/moneytest) under their short
// names.
type rzPayment = moneytest.Payment

var (
	ist            = moneytest.IST
	paise          = moneytest.Paise
	rat            = moneytest.Rat
	roundRat       = moneytest.RoundRat
	expectPurchase = moneytest.ExpectPurchase
)

// event is a verified webhook delivery as the receiver hands it to the
// ledger (connectors/webhook: parsed, its time bounded).
func event(t *testing.T, eventID string, body []byte) ledger.InboxEvent {
	t.Helper()
	ev := ledger.InboxEvent{Source: "razorpay", EventID: eventID, Body: body}
	typ, p, err := webhook.ParseRazorpay(body, eventID)
	ev.EventType, ev.Payment = typ, p
	if err != nil {
		ev.Problem = fund.SafeText(err.Error())
	}
	if p != nil {
		p.EventAt, p.TimeSource = fund.EffectiveTime(p.EventAt, time.Now(), replaySkew)
	}
	return ev
}

// webhook receives one event through the service.
func (m *env) webhook(eventID string, body []byte) ledger.Receipt {
	m.t.Helper()
	rc, err := m.svc.Receive(m.ctx, event(m.t, eventID, body))
	if err != nil {
		m.t.Fatalf("webhook %s: %v", eventID, err)
	}
	return rc
}

// pay receives a captured payment for order id of amount (rupees) at t.
func (m *env) pay(id, amount string, at time.Time) ledger.Receipt {
	m.t.Helper()
	return m.webhook("evt_cap_"+id, rzPayment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: paise(amount), At: at}.Body())
}

const time1 = time.Minute

// shown is what the platform shows for one holding: the read model (API,
// statement) and the holdings export.
type shown struct {
	apiInvested, apiNAV, apiValue          string
	exportInvested, exportNAV, exportValue string
}

// show reads folio's holding in scheme as of date (YYYY-MM-DD) from the
// read model and from the holdings export.
func (m *env) show(folio, scheme, date string) shown {
	m.t.Helper()
	tm, err := time.Parse(time.DateOnly, date)
	if err != nil {
		m.t.Fatal(err)
	}
	d := fund.DateOf(tm)
	var s shown
	p, err := (&readmodel.Store{PG: m.pool}).Portfolio(m.ctx, folio, &d)
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
	if _, err := (&exports.Exporter{PG: m.pool}).Export(m.ctx, "holdings", "csv", d, d, &buf); err != nil {
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

// ---------------------------------------------------------------- expected values, computed independently with big.Rat

func ratSub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }

func mulRat(xs ...string) *big.Rat {
	r := big.NewRat(1, 1)
	for _, x := range xs {
		r.Mul(r, rat(x))
	}
	return r
}

// decEq compares two decimal strings as numbers ("1.500" = "1.5").
func decEq(a, b string) bool {
	x, ok1 := new(big.Rat).SetString(a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}

func decPairEq(got, a, b string) bool {
	f := strings.Fields(got)
	return len(f) == 2 && decEq(f[0], a) && decEq(f[1], b)
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
