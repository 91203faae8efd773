// Package fraudtest holds what the fraud tests of several packages share
// (fraud/pgstore, fraud/review, api/console): the money path over a test's
// own database (testkit), orders and captured payments through it, and a
// one-rule hold rule set.
package fraudtest

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
)

// replaySkew lets the tests place orders and payments of 2026 with their
// own time stamps.
const replaySkew = 87600 * time.Hour

// Ledger is the ledger as serve wires it (the application role, the NSE
// 2026 calendar, the audit trail) over a fresh database, its fixtures
// (moneytest.DB) and the application role's pool.
func Ledger(t *testing.T) (*ledger.Service, moneytest.DB, *pgxpool.Pool) {
	t.Helper()
	svc, db, app, _ := LedgerURL(t)
	return svc, db, app
}

// LedgerURL is Ledger plus the application role's URL of the database,
// for a child process (a crash test's `fundflow fraud run`) on it.
func LedgerURL(t *testing.T) (*ledger.Service, moneytest.DB, *pgxpool.Pool, string) {
	t.Helper()
	owner, _, app, appURL := testkit.PGApp(t)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return &ledger.Service{Store: lpg.New(app), Calendar: cal, Audit: true}, moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}, app, appURL
}

// Place places one order request (JSON, as POST /v1/orders takes it); the
// test fails unless it is accepted.
func Place(t *testing.T, l *ledger.Service, body string) {
	t.Helper()
	in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "http", At: time.Now(), MaxSkew: replaySkew})
	if !ok {
		t.Fatalf("%s: %v", body, err)
	}
	if p, err := l.Place(testkit.Ctx(t), in); err != nil || p.Outcome != ledger.OutcomeAccepted {
		t.Fatalf("%s: %+v %v", body, p, err)
	}
}

// Capture receives a captured Razorpay payment webhook pay_<order> of
// paise for order at at, as the payments pipeline would.
func Capture(t *testing.T, l *ledger.Service, order string, paise int64, at time.Time) {
	t.Helper()
	body := moneytest.Payment{ID: "pay_" + order, OrderID: order, Status: "captured", Paise: paise, At: at}.Body()
	ev := ledger.InboxEvent{Source: "razorpay", EventID: "evt_" + order, Body: body}
	var err error
	if ev.EventType, ev.Payment, err = webhook.ParseRazorpay(body, ev.EventID); err != nil {
		t.Fatal(err)
	}
	ev.Payment.EventAt, ev.Payment.TimeSource = fund.EffectiveTime(ev.Payment.EventAt, time.Now(), replaySkew)
	if _, err := l.Receive(testkit.Ctx(t), ev); err != nil {
		t.Fatal(err)
	}
}

// HoldJustUnder is one structuring rule that holds any purchase in
// [45,000, 50,000) (one is enough).
func HoldJustUnder(t *testing.T) *fraud.RuleSet {
	t.Helper()
	rs, err := fraud.ParseRules("r.yaml", []byte(`version: 1
rules:
  - {id: just-under, kind: structuring, scope: investor, window: 24h, action: hold, thresholds: {min_count: 1, amount: 50000, band: 5000}}
`))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
