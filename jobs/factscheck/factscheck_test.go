package factscheck_test

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/factscheck"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The scheduled job on a ledger the facts never saw: the run finds every
// key missing, raises one facts_mismatch alert saying so, repairs, and is
// recorded ok with what it compared and rewrote; the next run finds nothing
// and leaves the alert as it was. Each run then refreshes the models.
func TestJobAlertsAndRepairs(t *testing.T) {
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	end := fund.NewDate(2026, 8, 21)
	st, err := ledgergen.Generate(ctx, pool, ledgergen.Options{Folios: 10, Seed: 5, End: end, Days: 30, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	j := factscheck.Job{PG: pool, CH: ch, Days: 40, Today: func() fund.Date { return end }, Rec: pipelines.Recorder{Runs: postgres.Store{Pool: pool}},
		Models: &refresh.Refresher{PG: pool, CH: ch}}
	rep, err := j.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Diffs) == 0 || len(rep.Diffs) != rep.Keys || len(rep.After) != 0 {
		t.Fatalf("first run: %d diffs of %d keys, %d left", len(rep.Diffs), rep.Keys, len(rep.After))
	}
	// after the repair, the models were refreshed from the repaired facts
	var aum uint64
	ch.QueryRow(ctx, `SELECT count() FROM aum_daily`).Scan(&aum)
	if aum == 0 {
		t.Error("the run refreshed no aum_daily rows")
	}
	var detail string
	var alerts int
	if err := pool.QueryRow(ctx, `SELECT count(*), max(detail) FROM alerts WHERE kind = $1 AND subject = 'transactions' AND resolved_at IS NULL`,
		factscheck.AlertKind).Scan(&alerts, &detail); err != nil {
		t.Fatal(err)
	}
	if alerts != 1 || !strings.Contains(detail, "differed from the ledger") || !strings.Contains(detail, "0 keys left") {
		t.Fatalf("%d alerts: %q", alerts, detail)
	}
	var status string
	var in, out int64
	if err := pool.QueryRow(ctx, `SELECT status, records_in, records_out FROM job_runs WHERE pipeline = $1`, factscheck.Name).Scan(&status, &in, &out); err != nil {
		t.Fatal(err)
	}
	// every generated transaction was rewritten (all within the 40 days checked)
	if status != "ok" || in != int64(rep.Keys) || out != st.Transactions {
		t.Fatalf("run %s in %d out %d; want ok, %d keys, %d rows", status, in, out, rep.Keys, st.Transactions)
	}

	rep, err = j.Run(ctx)
	if err != nil || len(rep.Diffs) != 0 {
		t.Fatalf("second run: %v %+v", err, rep.Diffs)
	}
	var again string
	pool.QueryRow(ctx, `SELECT detail FROM alerts WHERE kind = $1`, factscheck.AlertKind).Scan(&again)
	if again != detail {
		t.Errorf("a clean run changed the alert: %q", again)
	}
}
