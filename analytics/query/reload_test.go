package query

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
)

// The NAV snapshot follows a NAV load without reloading on every move of
// nav_latest (a load moves it every 30 s, navingest.LatestEvery): a move
// is loaded once the mark stood still for NAVSettle, or after NAVMaxLag of
// moving; a snapshot with nothing moved is not reloaded. The clock is the
// test's; each step is one check of Run (10 s).
func TestNAVSnapshotReloadsOnceTheLoadSettles(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	day := 0
	nav := func(code string) { // one move of a load: a scheme's next NAV
		t.Helper()
		day++
		if _, err := pool.Exec(ctx, `INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
			VALUES ($1, date '2025-01-01' + $2::int, 10, 't', 't', 1) ON CONFLICT (scheme_code) DO UPDATE
			SET nav_date = excluded.nav_date, updated_at = clock_timestamp()`, code, day); err != nil {
			t.Fatal(err)
		}
	}
	nav("100001")
	now := time.Date(2025, 6, 20, 12, 0, 0, 0, time.UTC)
	c := &Cached{Service: Service{PG: pool}, Log: testkit.Logger(t), now: func() time.Time { return now }}
	loads := 0
	check := func(want int, why string) {
		t.Helper()
		before := c.navs.Load()
		c.checkNAVs(ctx, c.Log)
		if c.navs.Load() != before {
			loads++
		}
		if loads != want {
			t.Fatalf("%s: %d loads, want %d", why, loads, want)
		}
		now = now.Add(10 * time.Second)
	}
	check(1, "first check")
	check(1, "nothing moved")
	// a load moving nav_latest every third check (30 s) for two minutes
	for i := 0; i < 12; i++ {
		if i%3 == 0 {
			nav("100002")
		}
		// moving since check i=0; NAVMaxLag (60 s) later is check i=6;
		// the mark never stands still for NAVSettle (40 s)
		want := 1
		if i >= 6 {
			want = 2
		}
		check(want, "moving")
	}
	check(2, "still for 30 s: a load's pause") // the last move was at i=9
	check(3, "settled: still for 40 s")
	check(3, "nothing moved since")
	m, err := c.Service.LatestMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cur := c.navs.Load(); !m.Equal(cur.Latest) {
		t.Fatalf("the snapshot's nav_latest mark %+v, the table's %+v", cur.Latest, m)
	}
}
