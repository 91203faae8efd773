package fraudeval_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/jobs/money"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Card testing on real traffic: failed-payment webhooks, signed, through
// the receiver and the payments pipeline into the ledger, which writes
// payments.status with each payment row; the evaluation reads the outbox
// and the shipped card-testing rule (more than 5 failed payments by one
// investor in an hour) fires on the 6th failure of INV-C, and not on
// INV-D's 5. A redelivered webhook and a stale "authorized" after a
// failure move no payment, so they emit nothing and count nothing.
func TestCardTestingFiresOnFailedPaymentWebhooks(t *testing.T) {
	const secret = "whsec_test_fraud_card"
	ctx := testkit.Ctx(t)
	owner, _, app, _ := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: ctx, Owner: owner, Read: app}
	db.Scheme("E1", "Equity Scheme - Large Cap Fund")
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// A moment inside the holiday files (they end with 2026), on every
	// clock the test touches: the ledger's, the receiver's, the intake's.
	now := time.Date(2026, 8, 20, 10, 0, 0, 0, fund.IST())
	clock := func() time.Time { return now }
	l := &ledger.Service{Store: pgstore.New(app), Calendar: cal, Audit: true, Now: clock}
	for _, o := range []struct{ id, inv, folio string }{{"C-1", "INV-C", "FC"}, {"D-1", "INV-D", "FD"}} {
		body := fmt.Sprintf(`{"order_id":%q,"type":"purchase","investor_id":%q,"folio":%q,"scheme_code":"E1","amount":"1000.00","placed_at":%q,"payment_ref":"order_%s"}`,
			o.id, o.inv, o.folio, now.Add(-20*time.Minute).Format(time.RFC3339), o.id)
		in, ok, err := fund.IntakeOf([]byte(body), fund.Receipt{Source: "http", At: now, MaxSkew: time.Hour})
		if !ok || err != nil {
			t.Fatalf("order %s: %v", o.id, err)
		}
		if p, err := l.Place(ctx, in); err != nil || p.Outcome != ledger.OutcomeAccepted {
			t.Fatalf("order %s: %+v %v", o.id, p, err)
		}
	}

	d := money.Deps{Metrics: pipelines.NewMetrics(prometheus.NewRegistry()), Now: clock, Log: testkit.Logger(t)}
	p, in := money.PaymentsPipeline(d, 64, l)
	go money.RunIntake(ctx, d, p)
	srv := httptest.NewServer(&webhook.Receiver{Secrets: [][]byte{[]byte(secret)}, Store: money.WebhookStore{In: in}, Now: clock, Log: testkit.Logger(t), MaxEventAge: time.Hour})
	t.Cleanup(srv.Close)
	send := func(eventID string, pay moneytest.Payment) {
		t.Helper()
		body := pay.Body()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(body, []byte(secret)))
		req.Header.Set(webhook.HeaderEventID, eventID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("webhook %s: HTTP %d", eventID, resp.StatusCode)
		}
	}
	// INV-C: 6 failed payments a minute apart (10 min ago .. 5 min ago);
	// INV-D: 5, at the threshold, not over it.
	for i := 1; i <= 6; i++ {
		at := now.Add(time.Duration(i-11) * time.Minute)
		send(fmt.Sprintf("evt_C%d", i), moneytest.Payment{ID: fmt.Sprintf("pay_C%d", i), OrderID: "C-1", Status: "failed", Paise: 100000, At: at})
		if i <= 5 {
			send(fmt.Sprintf("evt_D%d", i), moneytest.Payment{ID: fmt.Sprintf("pay_D%d", i), OrderID: "D-1", Status: "failed", Paise: 100000, At: at})
		}
	}
	send("evt_C1", moneytest.Payment{ID: "pay_C1", OrderID: "C-1", Status: "failed", Paise: 100000, At: now.Add(-10 * time.Minute)})
	send("evt_C1_late", moneytest.Payment{ID: "pay_C1", OrderID: "C-1", Status: "authorized", Paise: 100000, At: now.Add(-10 * time.Minute)})

	// 6 + 5 failures, one event each: the duplicate and the stale one add none.
	if n := db.Num(`SELECT count(*) FROM outbox WHERE topic = 'payments.status'`); n != 11 {
		t.Errorf("%d payments.status events, want 6 + 5 = 11", n)
	}
	var ev fund.PaymentStatusChanged
	if err := json.Unmarshal([]byte(db.Str(`SELECT payload::text FROM outbox WHERE event_id = 'payments.status:pay_C6:failed'`)), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.InvestorID != "INV-C" || ev.OrderID != "C-1" || ev.FolioNo != "FC" || ev.Amount != "1000.00" || ev.Status != "failed" {
		t.Errorf("payments.status of pay_C6: %+v", ev)
	}
	if k := db.Str(`SELECT key FROM outbox WHERE event_id = 'payments.status:pay_C6:failed'`); k != "INV-C" {
		t.Errorf("payments.status key %q, want the investor INV-C", k)
	}

	// fundflow fraud run --once: the outbox drained, 4 rows a transaction;
	// the outbox also holds the two orders' orders.status rows
	sum, err := fraudeval.DrainOutbox(ctx, fraudeval.Deps{PG: &postgres.Store{Pool: app}, Log: testkit.Logger(t)}, &config.Fraud{BatchSize: 4}, fraud.Shipped())
	if err != nil {
		t.Fatal(err)
	}
	if rows := db.Num(`SELECT count(*) FROM outbox WHERE topic IN ('payments.status', 'orders.status', 'investors.changed')`); sum.Rows != rows ||
		!slices.Equal(sum.Raised, []string{"card-testing:payments.status:pay_C6:failed"}) {
		t.Errorf("drained %+v, want %d rows and the one alert", sum, rows)
	}
	var ids []string
	rows, err := app.Query(ctx, `SELECT id FROM fraud_alerts ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id) //nolint:errcheck
		ids = append(ids, id)
	}
	if want := []string{"card-testing:payments.status:pay_C6:failed"}; !slices.Equal(ids, want) {
		t.Fatalf("alerts %v, want %v", ids, want)
	}
	var evidence []fraud.Ref
	if err := json.Unmarshal([]byte(db.Str(`SELECT evidence::text FROM fraud_alerts`)), &evidence); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range evidence {
		got = append(got, r.EventID)
		if !strings.HasPrefix(r.Lineage, "outbox:") {
			t.Errorf("evidence %+v: lineage is not an outbox row", r)
		}
	}
	want := []string{"payments.status:pay_C1:failed", "payments.status:pay_C2:failed", "payments.status:pay_C3:failed",
		"payments.status:pay_C4:failed", "payments.status:pay_C5:failed", "payments.status:pay_C6:failed"}
	if !slices.Equal(got, want) {
		t.Errorf("evidence %v\nwant %v", got, want)
	}
	if n := db.Num(`SELECT count(*) FROM outbox WHERE topic = 'fraud.alert.raised'`); n != 1 {
		t.Errorf("%d fraud.alert.raised events, want 1", n)
	}
}
