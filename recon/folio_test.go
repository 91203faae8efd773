package recon_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// TestFolioReconRun runs the job on the real stores with a load that stages
// two CAMS holdings of folios we do not have, in a product code we do not
// map: two missing_in_ledger breaks with cause unknown_product, on the
// holdings' date (the job's default date), in the report and the history.
func TestFolioReconRun(t *testing.T) {
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	day := fund.NewDate(2026, 8, 21)
	var lines []fund.RTALine
	for i, h := range []struct{ folio, units string }{{"X-1", "5.000"}, {"X-2", "7.250"}} {
		u, err := fund.UnitsAsWritten(decimal.RequireFromString(h.units))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fund.RTALine{Layout: "test-holdings", From: fund.Origin{File: "h.csv", SHA256: "sha-h", Line: i + 2},
			Holding: fund.RTAHolding{RTA: fund.RTACAMS, Folio: h.folio, Product: "ZZZ", AsOf: day, Units: u}})
	}
	loadStats := pipelines.Stats{Batches: 1, In: 3, Out: 2, Quarantined: 1, Reasons: map[string]int64{"bad units": 1}}
	dir := t.TempDir()
	job := recon.FolioRecon{
		Load: func(ctx context.Context) (pipelines.Stats, []string, error) {
			err := postgres.RTASink{Pool: pool}.Write(ctx, pipelines.Batch[fund.RTALine]{Items: lines})
			return loadStats, []string{"half-written.csv"}, err
		},
		Store: pgstore.New(pool), History: clickhouse.BreakHistory{Conn: ch}, ReportDir: dir, Log: testkit.Logger(t),
	}
	out, err := job.Run(ctx, fund.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Date != "2026-08-21" || out.Recon.Breaks != 2 || out.Recon.NewBreaks != 2 || out.Recon.RTAHoldings != 2 ||
		out.Recon.LedgerHoldings != 0 || len(out.Load.Files) != 1 || out.Stats().Quarantined != 1 || out.Stats().In != 3 {
		t.Fatalf("outcome %+v", out)
	}
	if out.Summary.ByType[string(fund.MissingInLedger)] != 2 || out.Summary.ByCause[fund.CauseUnknownCode] != 2 {
		t.Fatalf("summary by type %v, by cause %v", out.Summary.ByType, out.Summary.ByCause)
	}
	f, err := os.Open(filepath.Join(dir, "breaks_20260821.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 3 { // header + 2 breaks
		t.Fatalf("breaks CSV: %d rows, %v", len(rows), err)
	}
	if _, err := os.Stat(out.SummaryTxt); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := ch.QueryRow(ctx, `SELECT count() FROM recon_breaks_history FINAL WHERE recon_date = toDate('2026-08-21')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("history rows %d (%v), want 2", n, err)
	}

	// A load that fails reconciles nothing.
	boom := errors.New("sftp gone")
	job.Load = func(context.Context) (pipelines.Stats, []string, error) { return pipelines.Stats{}, nil, boom }
	if _, err := job.Run(ctx, day); !errors.Is(err, boom) {
		t.Fatalf("failed load: %v", err)
	}
	var runs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM recon_runs`).Scan(&runs); err != nil || runs != 1 {
		t.Fatalf("recon runs %d (%v), want 1", runs, err)
	}
}
