package refresh_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics"
	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/analytics/pgstore"
	"github.com/fundflow/fundflow/analytics/query"
	"github.com/fundflow/fundflow/analytics/refresh"
	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
)

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// Every query of docs/analytics.md runs against demo-like data (a
// generated ledger, its facts, its NAVs in nav_history, a refresh) and
// returns rows: the guide cannot rot.
func TestGuideQueriesRun(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testkit.Root(t), "docs", "analytics.md"))
	if err != nil {
		t.Fatal(err)
	}
	queries := sqlBlock.FindAllStringSubmatch(string(doc), -1)
	if len(queries) < 10 {
		t.Fatalf("the guide has %d queries, want at least 10", len(queries))
	}
	pool, _ := testkit.PG(t)
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	end := fund.NewDate(2026, 8, 21)
	if _, err := ledgergen.Generate(ctx, pool, ledgergen.Options{Folios: 60, Seed: 9, End: end, Days: 500, Log: testkit.Logger(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := analytics.Resync(ctx, pgstore.Store{Pool: pool}, chstore.Store{Conn: ch}, end.AddDays(-600), end); err != nil {
		t.Fatal(err)
	}
	// the generated NAVs into nav_history, as nav-ingest would have loaded them
	rows, err := pool.Query(ctx, `SELECT n.scheme_code, n.nav_date, n.nav, s.amc, s.category FROM navs n JOIN schemes s ON s.code = n.scheme_code`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var code, amc, cat string
		var d time.Time
		var nav decimal.Decimal
		if err := rows.Scan(&code, &d, &nav, &amc, &cat); err != nil {
			t.Fatal(err)
		}
		if err := b.Append(code, d, nav, amc, cat, "gen", uint32(1), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	st, err := refresh.Refresher{PG: pool, CH: ch}.All(ctx, end)
	if err != nil {
		t.Fatal(err)
	}
	if st.AUMRows == 0 || st.RiskSchemes == 0 || st.Returns == 0 {
		t.Fatalf("refresh wrote %+v", st)
	}
	// The chart's series (fundflow ch chart): each month end's total AUM,
	// and the net inflow to the last day equal to the facts' own sum.
	pts, err := query.Service{PG: pool, CH: ch}.AUMSeries(ctx)
	if err != nil || len(pts) < 12 {
		t.Fatalf("aum series %d points: %v", len(pts), err)
	}
	last := pts[len(pts)-1]
	var net string
	if err := ch.QueryRow(ctx, `SELECT toString(sumIf(amount, direction = 1) - sumIf(amount, direction = -1)) FROM transactions FINAL
		WHERE kind != 'switch_payout' AND nav_date <= toDate(?)`, last.Date.String()).Scan(&net); err != nil {
		t.Fatal(err)
	}
	if last.Date != end || !last.Invested.Equal(decimal.RequireFromString(net)) || last.Value.Sign() <= 0 {
		t.Errorf("last point %+v, want %s with net invested %s", last, end, net)
	}
	var pdf bytes.Buffer
	if err := api.RenderAUMChart(&pdf, "t", nil, pts); err != nil || !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF")) {
		t.Errorf("chart: %v", err)
	}
	for i, q := range queries {
		sql := strings.TrimSpace(q[1])
		r, err := ch.Query(ctx, sql)
		if err != nil {
			t.Errorf("query %d:\n%s\n%v", i+1, sql, err)
			continue
		}
		n := 0
		for r.Next() {
			n++
		}
		if err := r.Err(); err != nil {
			t.Errorf("query %d: %v", i+1, err)
		}
		r.Close()
		if n == 0 {
			t.Errorf("query %d returned no rows on the demo-like data:\n%s", i+1, sql)
		}
	}
}
