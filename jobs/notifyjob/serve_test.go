package notifyjob_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/notifyjob"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/notify/twiliosim"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// serve's notifications (Service.Serve, no Kafka): events written to the
// outbox while it runs are planned, sent by email through Mailpit and by
// SMS through the Twilio stand-in, and the two SMS whose status callbacks
// were lost get their receipts from the poll (one delivered, one
// undelivered: failed with a dead letter). Each loop is a job in the job
// metrics, and the service stops with its context.
func TestServeSchedulesNotifications(t *testing.T) {
	pool, _ := testkit.PG(t)
	m := testkit.Mailpit(t)
	ctx := testkit.Ctx(t)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO investors (id, name, email, phone) VALUES ('INV1', 'Asha Rao', 'asha@%s', '+919800000001')`, m.Domain),
		`INSERT INTO folios (folio_no, investor_id) VALUES ('1234567890', 'INV1')`,
		`INSERT INTO notify_preferences (investor_id, event_type, channels) VALUES ('INV1', '*', '{email,sms}')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sim := twiliosim.New("ACserve", "token")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	tw := &notify.Twilio{BaseURL: srv.URL, AccountSid: "ACserve", AuthToken: "token", From: "+15005550006", Client: srv.Client()}
	smtp := &notify.SMTP{Addr: m.SMTPAddr, User: m.User, Password: m.Password, TLS: m.TLSConfig(t), From: "notify@fundflow.test", Timeout: 5 * time.Second}
	t.Cleanup(func() { smtp.Close() })

	st := pgstore.Store{Pool: pool}
	pg := &postgres.Store{Pool: pool}
	reg := prometheus.NewRegistry()
	metrics := pipelines.NewMetrics(reg)
	svc := notifyjob.Service{
		PG:      pg,
		Planner: notifyjob.Planner{PG: pg, Planner: planner(t, pool)},
		Sender: notifyjob.Sender{Store: st, D: &notify.Deliverer{Store: st,
			Senders: map[notify.Channel]notify.Sender{notify.Email: smtp, notify.SMS: tw}}},
		Receipts:      &notifyjob.Receipts{Store: st, Poller: tw, After: time.Millisecond},
		Every:         100 * time.Millisecond,
		ReceiptsEvery: 100 * time.Millisecond,
		Metrics:       metrics,
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Serve(sctx) }()

	a, b := m.Domain+":serve-1", m.Domain+":serve-2" // event ids are global: Mailpit is shared
	for _, id := range []string{a, b} {
		if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, 'transactions.completed', 'k', $2)`,
			id, txEvent(id, "INV1", "1234567890")); err != nil {
			t.Fatal(err)
		}
	}
	// Two events × (email, SMS): four rows sent.
	waitFor(t, done, func() bool { return countRows(t, pool, `status = 'sent'`) == 4 })
	sms := sim.Messages()
	if len(sms) != 2 {
		t.Fatalf("the gateway has %d SMS, want 2", len(sms))
	}
	// The carrier's answers, whose callbacks never reach us.
	sim.SetStatus(sms[0].Sid, "delivered", 0)
	sim.SetStatus(sms[1].Sid, "undelivered", 30003)
	waitFor(t, done, func() bool {
		return countRows(t, pool, `channel = 'sms' AND status = 'delivered' AND delivered_at IS NOT NULL`) == 1 &&
			countRows(t, pool, `channel = 'sms' AND status = 'failed'`) == 1
	})
	var reason string
	if err := pool.QueryRow(ctx, `SELECT reason FROM notify_dead_letters`).Scan(&reason); err != nil || reason != "receipt: 30003 undelivered" {
		t.Fatalf("dead letter of the undelivered SMS: %q %v", reason, err)
	}
	if got := m.CountByMessageID(t); got[notify.MessageID(a, notify.Email)] != 1 || got[notify.MessageID(b, notify.Email)] != 1 {
		t.Fatalf("mailpit: %v", got)
	}

	stop()
	if err := <-done; err != nil {
		t.Fatalf("serve stopped with %v, want nil when its context ends", err)
	}
	for _, job := range []string{notifyjob.PlanName, notifyjob.Name, notifyjob.DLRName} {
		if ok := jobRuns(t, reg, job); ok < 1 {
			t.Errorf("fundflow_job_runs_total{job=%q,outcome=\"ok\"} = %v, want at least one run", job, ok)
		}
	}
}

// jobRuns is fundflow_job_runs_total{job, outcome="ok"}.
func jobRuns(t *testing.T, reg *prometheus.Registry, job string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fundflow_job_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["job"] == job && labels["outcome"] == "ok" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func countRows(t *testing.T, pool *pgxpool.Pool, where string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(testkit.Ctx(t), `SELECT count(*) FROM notifications WHERE `+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, done <-chan error, cond func() bool) {
	t.Helper()
	ctx := testkit.Ctx(t)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v", err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
