package money_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/connectors/orderhttp"
	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/money"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
)

// downLedger is a ledger over a database that cannot be reached, and the
// deps an intake pipeline runs on.
func downLedger(t *testing.T) (money.Deps, *ledger.Service) {
	t.Helper()
	down, err := pgxpool.New(testkit.Ctx(t), "postgres://fundflow@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	d := money.Deps{Metrics: pipelines.NewMetrics(prometheus.NewRegistry()), Log: testkit.Logger(t)}
	return d, &ledger.Service{Store: pgstore.New(down)}
}

// A failure that a retry can cure (the database cannot be reached) is the
// one that answers 503, with Retry-After. (Moved from cmd/fundflow.)
func TestOrderIs503OnlyWhenARetryCanHelp(t *testing.T) {
	d, l := downLedger(t)
	// The orders-http pipeline as serve runs it: the engine retries the
	// batch, then hands it back to its caller.
	p, in := money.OrdersHTTPPipeline(d, 500, l)
	go money.RunIntake(testkit.Ctx(t), d, p)
	srv := httptest.NewServer(&orderhttp.Handler{Placer: money.OrderPlacer{In: in}, Log: testkit.Logger(t)})
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(
		`{"order_id":"D-1","type":"purchase","investor_id":"INV-1","folio":"F1","scheme_code":"E1","amount":"5.00","placed_at":"2026-08-20T10:00:00+05:30"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("database down: HTTP %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// A webhook is answered 503 only when a retry can help: the database
// cannot be reached, the payments pipeline retried the batch and handed it
// back. Nothing was stored, so the gateway's redelivery is the first.
// (Moved from cmd/fundflow.)
func TestWebhookIs503WhenTheDatabaseIsDown(t *testing.T) {
	const secret = "whsec_test_money_job"
	d, l := downLedger(t)
	p, in := money.PaymentsPipeline(d, 64, l)
	go money.RunIntake(testkit.Ctx(t), d, p)
	stats := &webhook.Stats{}
	srv := httptest.NewServer(&webhook.Receiver{Secrets: [][]byte{[]byte(secret)}, Store: money.WebhookStore{In: in}, Stats: stats, Log: testkit.Logger(t)})
	t.Cleanup(srv.Close)
	body := moneytest.Payment{ID: "pay_D-1", OrderID: "D-1", Status: "captured", Paise: 10000, At: moneytest.IST("2026-08-20T10:00:00+05:30")}.Body()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(body, []byte(secret)))
	req.Header.Set(webhook.HeaderEventID, "evt_D-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || stats.Unavailable.Load() != 1 || stats.Failed.Load() != 0 {
		t.Errorf("database down: HTTP %d, %d unavailable, %d failed; want 503, 1, 0", resp.StatusCode, stats.Unavailable.Load(), stats.Failed.Load())
	}
}
