package opsmetrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The DB-state gauges against the real Postgres, read as the application's
// role, over rows the test writes and counts by hand; then the cache (a
// new row shows only after MaxAge), a cleared label (0, not gone), a
// locked table (its gauge keeps its value, its error counts, the others
// still refresh) and Postgres gone (the scrape still answers).
func TestCollectorCountsOpenRows(t *testing.T) {
	owner, _, app, _ := testkit.PGApp(t)
	ctx := testkit.Ctx(t)
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := owner.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec(
		// alerts: nav_stale 2 open (1 resolved), allot_failed 1 open.
		`INSERT INTO alerts (kind, subject, detail, resolved_at) VALUES
			('nav_stale', 'Alpha MF', '', NULL), ('nav_stale', 'Beta MF', '', NULL), ('nav_stale', 'Gamma MF', '', now()),
			('allot_failed', 'ORD-1', '', NULL)`,
		// quarantine: nav-ingest 3 open (1 replayed), orders 1 open, payments only accepted.
		`INSERT INTO quarantine (pipeline, pos_key, raw, reason, detail, status) VALUES
			('nav-ingest', 'a:1', '', 'bad_nav', '', 'open'), ('nav-ingest', 'a:2', '', 'bad_nav', '', 'open'),
			('nav-ingest', 'a:3', '', 'nav_jump', '', 'open'), ('nav-ingest', 'a:4', '', 'bad_nav', '', 'replayed'),
			('orders', 'o/0/1', '', 'not_storable', '', 'open'), ('payments', 'evt_1', '', 'bad', '', 'accepted')`,
		// recon: units_mismatch 2 open (1 explained), missing_at_rta 1 open, duplicate only resolved.
		`INSERT INTO recon_runs (id, recon_date, holdings_rtas, transactions_rtas) VALUES (1, '2026-08-14', '{CAMS}', '{CAMS}')`,
		`INSERT INTO recon_breaks (break_key, scope, type, rta, folio, status, first_seen, last_seen, last_run) VALUES
			('h|u|1', 'holding', 'units_mismatch', 'CAMS', 'F-1', 'open', '2026-08-14', '2026-08-14', 1),
			('h|u|2', 'holding', 'units_mismatch', 'CAMS', 'F-2', 'open', '2026-08-14', '2026-08-14', 1),
			('h|u|3', 'holding', 'units_mismatch', 'CAMS', 'F-3', 'explained', '2026-08-14', '2026-08-14', 1),
			('t|m|1', 'transaction', 'missing_at_rta', 'CAMS', 'F-1', 'open', '2026-08-14', '2026-08-14', 1),
			('t|d|1', 'transaction', 'duplicate', 'CAMS', 'F-1', 'resolved', '2026-08-14', '2026-08-14', 1)`,
		// payment breaks: amount_mismatch 1 open (1 resolved), refunded_after_allotment 1 open.
		`INSERT INTO payments (id, gateway, amount, currency, status, status_rank, last_event_id, last_event_at) VALUES
			('pay_1', 'razorpay', 1, 'INR', 'captured', 3, 'e1', now()), ('pay_2', 'razorpay', 1, 'INR', 'refunded', 4, 'e2', now()),
			('pay_3', 'razorpay', 1, 'INR', 'captured', 3, 'e3', now())`,
		`INSERT INTO payment_breaks (payment_id, reason, detail, resolved_at) VALUES
			('pay_1', 'amount_mismatch', '', NULL), ('pay_2', 'refunded_after_allotment', '', NULL), ('pay_3', 'amount_mismatch', '', now())`,
		// outbox: a transaction 10 min old and a SIP event 5 min old neither
		// relay has sent; an order status 20 min old Kafka has not sent
		// (the facts relay never takes it); an old transaction both sent.
		`INSERT INTO outbox (event_id, topic, key, payload, created_at, published_at, facts_at) VALUES
			('t1', 'transactions.completed', 'F-1', '{}', now() - interval '600 seconds', NULL, NULL),
			('s1', 'sip.instalment.due', 'F-1', '{}', now() - interval '300 seconds', NULL, NULL),
			('o1', 'orders.status', 'F-1', '{}', now() - interval '1200 seconds', NULL, NULL),
			('t0', 'transactions.completed', 'F-1', '{}', now() - interval '3600 seconds', now(), now())`,
	)
	now := time.Now()
	c := &Collector{Pool: app, Relays: []string{postgres.RelayKafka, postgres.RelayFacts}, Timeout: 500 * time.Millisecond,
		Log: testkit.Logger(t), Now: func() time.Time { return now }}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	type want struct {
		name, label, value string
		v                  float64
	}
	check := func(when string, ws []want) {
		t.Helper()
		for _, w := range ws {
			got, ok := testkit.Series(t, reg, w.name, map[string]string{w.label: w.value})
			if w.v < 0 {
				if ok {
					t.Errorf("%s: %s{%s=%q} = %v, want no series", when, w.name, w.label, w.value, got)
				}
				continue
			}
			if !ok || got != w.v {
				t.Errorf("%s: %s{%s=%q} = %v (present %v), want %v", when, w.name, w.label, w.value, got, ok, w.v)
			}
		}
	}
	counts := []want{
		{"fundflow_alerts_open", "kind", "nav_stale", 2},
		{"fundflow_alerts_open", "kind", "allot_failed", 1},
		{"fundflow_quarantine_rows", "source", "nav-ingest", 3},
		{"fundflow_quarantine_rows", "source", "orders", 1},
		{"fundflow_quarantine_rows", "source", "payments", -1},
		{"fundflow_recon_breaks_open", "type", "units_mismatch", 2},
		{"fundflow_recon_breaks_open", "type", "missing_at_rta", 1},
		{"fundflow_recon_breaks_open", "type", "duplicate", -1},
		{"fundflow_payment_breaks_open", "kind", "amount_mismatch", 1},
		{"fundflow_payment_breaks_open", "kind", "refunded_after_allotment", 1},
		{"fundflow_outbox_pending_events", "relay", "kafka", 3},
		{"fundflow_outbox_pending_events", "relay", "facts", 2},
	}
	check("first scrape", counts)
	for relay, age := range map[string]float64{"kafka": 1200, "facts": 600} {
		got, _ := testkit.Series(t, reg, "fundflow_outbox_lag_seconds", map[string]string{"relay": relay})
		if got < age || got > age+60 { // written age seconds before the scrape, by Postgres's clock
			t.Errorf("lag of %s: %v s, want %v s and a little", relay, got, age)
		}
	}
	for _, col := range []string{"outbox", "alerts", "quarantine", "recon_breaks", "payment_breaks"} {
		if got, ok := testkit.Series(t, reg, "fundflow_metrics_collect_errors_total", map[string]string{"collector": col}); !ok || got != 0 {
			t.Errorf("errors of %s: %v (present %v), want 0", col, got, ok)
		}
	}

	// Cached: a new alert shows only once MaxAge (15 s) has passed.
	exec(`INSERT INTO alerts (kind, subject, detail) VALUES ('nav_stale', 'Delta MF', '')`,
		`UPDATE alerts SET resolved_at = now() WHERE kind = 'allot_failed'`,
		`UPDATE outbox SET published_at = now(), facts_at = now()`)
	now = now.Add(14 * time.Second)
	check("14 s later", counts)
	now = now.Add(time.Second)
	check("15 s later", []want{
		{"fundflow_alerts_open", "kind", "nav_stale", 3},
		{"fundflow_alerts_open", "kind", "allot_failed", 0}, // seen, now cleared: 0, not gone
		{"fundflow_outbox_pending_events", "relay", "kafka", 0},
		{"fundflow_outbox_pending_events", "relay", "facts", 0},
		{"fundflow_outbox_lag_seconds", "relay", "kafka", 0},
		{"fundflow_outbox_lag_seconds", "relay", "facts", 0},
	})

	// A locked alerts table: its query times out, its gauges keep their
	// values and its error counts; the quarantine still refreshes.
	tx, err := owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE quarantine SET status = 'dismissed' WHERE pipeline = 'orders'`)
	now = now.Add(15 * time.Second)
	check("alerts locked", []want{
		{"fundflow_alerts_open", "kind", "nav_stale", 3},
		{"fundflow_quarantine_rows", "source", "orders", 0},
		{"fundflow_metrics_collect_errors_total", "collector", "alerts", 1},
		{"fundflow_metrics_collect_errors_total", "collector", "quarantine", 0},
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// Postgres gone: the scrape answers with the last values and counts
	// an error per query.
	app.Close()
	now = now.Add(15 * time.Second)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	check("postgres gone", []want{
		{"fundflow_alerts_open", "kind", "nav_stale", 3},
		{"fundflow_recon_breaks_open", "type", "units_mismatch", 2},
		{"fundflow_metrics_collect_errors_total", "collector", "alerts", 2},
		{"fundflow_metrics_collect_errors_total", "collector", "outbox", 1},
		{"fundflow_metrics_collect_errors_total", "collector", "payment_breaks", 1},
	})
}
