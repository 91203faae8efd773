package replay_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/jobs/replay"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/nav"
)

const head = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\r\n \r\n" +
	"Open Ended Schemes(Equity Scheme - Large Cap Fund)\r\n \r\nExample Mutual Fund\r\n \r\n"

// Two files held two different NAVs of one scheme for one day as jumps. A
// reviewer accepts both: the replay publishes the first and holds the
// second back as a conflict, although both pass validation and neither is
// stored yet when the stage sees it (the stage runs ahead of the sinks), so
// Postgres and ClickHouse keep the same NAV. The replay is a recorded run.
func TestReplayHoldsBackARowThatConflictsWithOneItPublishes(t *testing.T) {
	ctx := testkit.Ctx(t)
	_, _, app, _ := testkit.PGApp(t)
	ch, _ := testkit.CH(t)
	dir := t.TempDir()
	files := []string{
		head + "100003;INF000A01037;-;Gamma Fund - Growth;10.0000;20-Aug-2026\r\n",
		head + "100003;INF000A01037;-;Gamma Fund - Growth;14.0000;21-Aug-2026\r\n", // +40%: held
		head + "100003;INF000A01037;-;Gamma Fund - Growth;14.5000;21-Aug-2026\r\n", // +45% from the stored 10: held
	}
	t0 := time.Now().Add(-time.Hour)
	for i, f := range files {
		p := filepath.Join(dir, "NAVAll_"+string(rune('1'+i))+".txt")
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse("test.yaml", []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: "+dir+", stable_for: 0s}\n    max_reject_rate: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Pipelines.NAVIngest
	pg := &postgres.Store{Pool: app}
	d := navingest.Deps{PG: pg, CH: ch, Log: testkit.Logger(t)}
	p, err := navingest.NewFrom(ctx, d, c, file.Dir{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Run(ctx); err != nil || st.Out != 1 || st.Reasons["nav_jump"] != 2 {
		t.Fatalf("nav-ingest: %+v %v, want the first NAV published and two jumps held", st, err)
	}
	held, err := pg.Quarantine(ctx, postgres.QuarantineFilter{Status: "open"}, true)
	if err != nil || len(held) != 2 {
		t.Fatalf("held: %d rows (%v)", len(held), err)
	}
	first, second := held[0], held[1] // oldest first: the second file's row, then the third's

	sum, err := replay.Run(ctx, d, c, replay.Options{Filter: postgres.QuarantineFilter{Status: "open", IDs: []int64{first.ID, second.ID}}, Accept: true, By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Considered != 2 || sum.Published != 1 || len(sum.IDs) != 1 || sum.IDs[0] != first.ID || sum.StillOpen[nav.ReasonDuplicateConflict] != 1 || sum.MarkedAs != "accepted" {
		t.Fatalf("replay: %+v", sum)
	}
	var pgNAV, chNAV, status, detail string
	if err := app.QueryRow(ctx, `SELECT nav::text FROM navs WHERE scheme_code = '100003' AND nav_date = '2026-08-21'`).Scan(&pgNAV); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueryRow(ctx, `SELECT toString(nav) FROM nav_history FINAL WHERE scheme_code = '100003' AND nav_date = toDate('2026-08-21')`).Scan(&chNAV); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pgNAV, "14.0000") || !strings.HasPrefix(chNAV, "14") || strings.HasPrefix(chNAV, "14.5") {
		t.Fatalf("navs has %s, nav_history %s: want both the accepted 14.0000", pgNAV, chNAV)
	}
	if err := app.QueryRow(ctx, `SELECT status, coalesce(last_replay_detail, '') FROM quarantine WHERE id = $1`, second.ID).Scan(&status, &detail); err != nil {
		t.Fatal(err)
	}
	if status != "open" || !strings.HasPrefix(detail, nav.ReasonDuplicateConflict+": this replay publishes NAV 14") {
		t.Fatalf("the conflicting row: %s, %q", status, detail)
	}
	var in, out int64
	if err := app.QueryRow(ctx, `SELECT records_in, records_out FROM job_runs WHERE pipeline = $1 AND status = 'ok'`, replay.Name).Scan(&in, &out); err != nil || in != 2 || out != 1 {
		t.Fatalf("the replay's run row: in %d out %d (%v), want 2 and 1", in, out, err)
	}
}
