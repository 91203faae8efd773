package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/allocate"
	"github.com/fundflow/fundflow/jobs/auditanchor"
	"github.com/fundflow/fundflow/jobs/outbox"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Every job serve runs (its schedules and its money-path loops) is in
// recordedJobs, and each, run once against the real services, leaves
// job_runs rows that all say ok and the engine's run metrics under the
// same names: fundflow_pipeline_runs_total{pipeline,outcome="ok"} counts
// exactly its rows, and fundflow_stage_records_in_total has its series.
func TestEveryJobIsRecorded(t *testing.T) {
	ctx := testkit.Ctx(t)
	navDir, rtaDir, reports := t.TempDir(), t.TempDir(), t.TempDir()
	// Three schemes' NAVs of 11 Aug 2023 for nav-ingest, and a fourth's
	// N.A. that nav-ingest quarantines and the replay reads again.
	nav := "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\n\n" +
		"Open Ended Schemes(Debt Scheme - Banking and PSU Fund)\n\nTest Mutual Fund\n\n" +
		"119551;INF209KA12Z1;INF209KA13Z9;Test Banking & PSU Debt Fund - DIRECT - IDCW;113.4328;11-Aug-2023\n" +
		"119552;INF209K01YM2;-;Test Banking & PSU Debt Fund - DIRECT - MONTHLY IDCW;114.3362;11-Aug-2023\n" +
		"119553;INF209K01YO8;-;Test Banking & PSU Debt Fund - Direct - Quarterly IDCW;112.4155;11-Aug-2023\n" +
		"119554;INF209K01YP5;-;Test Banking & PSU Debt Fund - Direct - Growth;N.A.;11-Aug-2023\n" // quarantined: the replay's row
	if err := os.WriteFile(filepath.Join(navDir, "NAVAll_2023-08-11.txt"), []byte(nav), 0o644); err != nil {
		t.Fatal(err)
	}
	anchors := filepath.Join(t.TempDir(), "anchors.jsonl")
	cfg := moneyConfig(t, `  outbox: {every: 1s}
  instalments: {}
  commissions: {}
  nav-ingest:
    schedule: "*/15 * * * *"
    source: {kind: file, path: `+navDir+`, glob: "*.txt", stable_for: 0s}
    max_reject_rate: 0.5
  nav-freshness: {schedule: "* * * * *"}
  facts-check: {days: 3660}
  folio-recon:
    schedule: "30 7 * * *"
    source: {kind: file, path: `+rtaDir+`, stable_for: 0s}
    report_dir: `+reports+`
audit:
  anchor_file: `+anchors+`
  anchor_schedule: "0 * * * *"
alerts: {webhook_url_env: FUNDFLOW_TEST_ALERT_HOOK}
`)
	// The alert webhook: alert-notify sends it the alert raised below.
	var hookPosts atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hookPosts.Add(1) }))
	t.Cleanup(hook.Close)
	t.Setenv("FUNDFLOW_TEST_ALERT_HOOK", hook.URL)
	t.Setenv("FUNDFLOW_KAFKA_BROKERS", "") // the outbox table is the bus: the facts relay only
	d, owner := testDepsAndOwner(t, cfg)
	auditRows(t, d.pg.Pool, 1, 3)
	if err := d.pg.RaiseAlert(ctx, "test", "every job", "one for alert-notify to send"); err != nil {
		t.Fatal(err)
	}
	// A small ledger and the RTAs' clean feeds of it for folio-recon (the
	// generators load as the schema's owner, as `fundflow gen` does).
	if _, err := ledgergen.Generate(ctx, owner, ledgergen.Options{Folios: 6, Schemes: 4, AMCs: 2, Days: 40,
		End: fund.NewDate(2026, 8, 14), Seed: 3, Log: d.log}); err != nil {
		t.Fatal(err)
	}
	if _, err := rtagen.Generate(ctx, owner, rtagen.Options{AsOf: fund.NewDate(2026, 8, 14), Out: rtaDir, Seed: 3, Log: d.log}); err != nil {
		t.Fatal(err)
	}

	// One transactions.completed for commission-events to read (ledgergen
	// writes no outbox), marked relayed so the other relays skip it.
	if _, err := d.pg.Pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload, published_at, facts_at)
		SELECT 'transactions.completed:' || order_id, 'transactions.completed', folio_no,
		       jsonb_build_object('event_id', 'transactions.completed:' || order_id, 'tx_id', id), now(), now()
		FROM ledger_transactions ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	// serve's job table: its schedules, then its money-path loops.
	sched, err := scheduledJobs(d)
	if err != nil {
		t.Fatal(err)
	}
	run := map[string]func(context.Context) error{}
	for _, j := range sched {
		run[j.Name] = j.Run
	}
	run[allocate.Name] = func(ctx context.Context) error {
		j, err := allocateJob(d)
		if err != nil {
			return err
		}
		_, err = j.Run(ctx)
		return err
	}
	run[outbox.Name] = func(ctx context.Context) error { _, err := outboxJob(d).Run(ctx); return err }
	// and what only an operator starts.
	run[replay.Name] = func(ctx context.Context) error {
		_, err := replay.Run(ctx, d.navDeps(), d.cfg.Pipelines.NAVIngest, replay.Options{Filter: postgres.QuarantineFilter{Status: "open"}, By: "test"})
		return err
	}
	var served []string
	for name := range run {
		served = append(served, name)
	}
	sort.Strings(served)
	listed := slices.Sorted(slices.Values(recordedJobs))
	if !slices.Equal(served, listed) {
		t.Fatalf("serve and the operator run %v, recordedJobs lists %v: keep the list next to serve's table complete", served, listed)
	}

	for _, name := range recordedJobs { // in the list's order: nav-ingest first, the anchor before the outbox
		if err := run[name](ctx); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	if hookPosts.Load() == 0 {
		t.Errorf("alert-notify sent nothing to the webhook")
	}
	mfs, err := d.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range recordedJobs {
		var ok, other int
		if err := d.pg.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status <> 'ok')
			FROM job_runs WHERE pipeline = $1`, name).Scan(&ok, &other); err != nil {
			t.Fatal(err)
		}
		if ok == 0 || other != 0 {
			t.Errorf("%s: %d ok and %d other job_runs rows, want at least one, all ok", name, ok, other)
		}
		if got := metricValue(mfs, "fundflow_pipeline_runs_total", map[string]string{"pipeline": name, "outcome": "ok"}); got != float64(ok) {
			t.Errorf("%s: fundflow_pipeline_runs_total{outcome=ok} = %v, want %d (its job_runs rows)", name, got, ok)
		}
		if !hasSeries(mfs, "fundflow_stage_records_in_total", name) || !hasSeries(mfs, "fundflow_stage_batch_seconds", name) {
			t.Errorf("%s: no fundflow_stage_* series", name)
		}
	}

	// Honest counts where the test knows them from its input: nav-freshness
	// judged every scheme with a NAV (the file's three and the generated
	// ledger's) and set no age, since every NAV is from 2023 or August 2026,
	// over dead_after_days (30) ago; the anchor verified the audit rows
	// written so far (the three above and what the jobs before it audited)
	// and published one head; the replay read the N.A. row again and left
	// it quarantined.
	var schemes, auditN int64
	if err := d.pg.Pool.QueryRow(ctx, `SELECT (SELECT count(DISTINCT scheme_code) FROM navs), (SELECT count(*) FROM audit_log)`).Scan(&schemes, &auditN); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		in, out int64
	}{{"nav-freshness", schemes, 0}, {auditanchor.Name, auditN, 1}, {replay.Name, 1, 0}} {
		var in, out int64
		if err := d.pg.Pool.QueryRow(ctx, `SELECT records_in, records_out FROM job_runs WHERE pipeline = $1 ORDER BY id DESC LIMIT 1`,
			c.name).Scan(&in, &out); err != nil {
			t.Fatal(err)
		}
		if in != c.in || out != c.out {
			t.Errorf("%s: records in %d out %d, want %d and %d", c.name, in, out, c.in, c.out)
		}
	}
}

// metricValue is the counter's value on the series with exactly labels.
func metricValue(mfs []*dto.MetricFamily, name string, labels map[string]string) float64 {
	v, _ := testkit.SeriesIn(mfs, name, labels)
	return v
}

// hasSeries reports whether the family has a series of pipeline.
func hasSeries(mfs []*dto.MetricFamily, name, pipeline string) bool {
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pipeline" && l.GetValue() == pipeline {
					return true
				}
			}
		}
	}
	return false
}
