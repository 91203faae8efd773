package refresh_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/analytics/chstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// chstore.NAVHistory reads nav_history without FINAL and reads again with
// FINAL only the schemes with a repeated (scheme, date) key. Its answer
// must be FINAL's, by cases:
//   - A: loaded once, in two blocks (two unmerged parts), out of order;
//   - B: a NAV of 2026-08-03 reloaded later with another value (and a later
//     category): FINAL keeps the later load's 11.0 and "Debt";
//   - C: reloaded with the same loaded_at: FINAL keeps the last inserted;
//   - D: only outside the range: absent.
func TestNAVHistoryEqualsFinal(t *testing.T) {
	ch, _ := testkit.CH(t)
	ctx := testkit.Ctx(t)
	t0 := time.Date(2026, 8, 10, 10, 0, 0, 0, time.UTC)
	insert := func(rows ...[]any) {
		t.Helper()
		b, err := ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := b.Append(r...); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d int) time.Time { return time.Date(2026, 8, d, 0, 0, 0, 0, time.UTC) }
	dec := decimal.RequireFromString
	row := func(code string, d int, nav, cat string, at time.Time) []any {
		return []any{code, day(d), dec(nav), "AMC", cat, "t", uint32(d), at}
	}
	insert(row("A", 5, "10.5", "Equity", t0), row("A", 3, "10.0", "Equity", t0), row("B", 3, "10.0", "Equity", t0), row("B", 4, "10.2", "Equity", t0),
		row("C", 3, "20.0", "Gilt", t0), row("D", 20, "1.0", "Liquid", t0))
	insert(row("A", 4, "10.25", "Equity", t0), row("B", 3, "11.0", "Debt", t0.Add(time.Hour)), row("C", 3, "20.5", "Gilt", t0))
	from, to := fund.NewDate(2026, 8, 1), fund.NewDate(2026, 8, 10)
	navs, cats, err := chstore.Store{Conn: ch}.NAVHistory(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"A": {"2026-08-03 10", "2026-08-04 10.25", "2026-08-05 10.5"},
		"B": {"2026-08-03 11", "2026-08-04 10.2"},
		"C": {"2026-08-03 20.5"},
	}
	wantCats := map[string]string{"A": "Equity", "B": "Equity", "C": "Gilt"} // B's latest date (08-04) is still Equity
	if len(navs) != len(want) {
		t.Errorf("schemes %v, want A, B, C", len(navs))
	}
	for code, w := range want {
		var got []string
		for _, p := range navs[code] {
			got = append(got, p.Date.String()+" "+p.NAV.String())
		}
		if len(got) != len(w) {
			t.Errorf("%s: %v, want %v", code, got, w)
			continue
		}
		for i := range w {
			if got[i] != w[i] {
				t.Errorf("%s: %v, want %v", code, got, w)
				break
			}
		}
		if cats[code] != wantCats[code] {
			t.Errorf("%s category %q, want %q", code, cats[code], wantCats[code])
		}
	}
	// and the same as FINAL itself says, row for row
	rows, err := ch.Query(ctx, `SELECT scheme_code, toString(nav_date), toString(nav) FROM nav_history FINAL
		WHERE nav_date >= toDate(?) AND nav_date <= toDate(?) ORDER BY scheme_code, nav_date`, from.String(), to.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := map[string]int{}
	for rows.Next() {
		var code, d, nav string
		if err := rows.Scan(&code, &d, &nav); err != nil {
			t.Fatal(err)
		}
		i := n[code]
		n[code]++
		if i >= len(navs[code]) || navs[code][i].Date.String() != d || !navs[code][i].NAV.Equal(dec(nav)) {
			t.Errorf("FINAL has %s %s %s as row %d of the scheme; NAVHistory does not", code, d, nav, i)
		}
	}
}
