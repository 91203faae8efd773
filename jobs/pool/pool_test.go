package pool_test

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	jobpool "github.com/fundflow/fundflow/jobs/pool"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/pool/pgstore"
)

// A pool that cannot be priced (its folio holds a scheme with no NAV that
// day) is reported and skipped; the others are priced; once the NAV lands
// a second run prices it and leaves the others as they were.
func TestJobSkipsAPoolItCannotPrice(t *testing.T) {
	owner, _, app, _ := testkit.PGApp(t)
	db := moneytest.DB{T: t, Ctx: testkit.Ctx(t), Owner: owner, Read: app}
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &pool.Service{Store: pgstore.Store{Pool: app}, Calendar: cal}
	db.Exec(`INSERT INTO investors (id) VALUES ('INV-P')`)
	db.Exec(`INSERT INTO folios (folio_no, investor_id) VALUES ('F-A', 'INV-P')`)
	db.Exec(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('F-A', 'S1', 10)`)
	for _, p := range []pool.Pool{{ID: "A", Name: "a", Launch: fund.MustNAV("10.0000"), Folio: "F-A"}, {ID: "B", Name: "b", Launch: fund.MustNAV("20.0000")}} {
		if err := svc.Create(testkit.Ctx(t), p); err != nil {
			t.Fatal(err)
		}
	}
	day, _ := fund.ParseISODate("2026-08-20")
	j := jobpool.Job{Pools: svc, Day: day}
	st, err := j.Run(testkit.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Pools) != 1 || st.Pools[0].Pool != "B" || st.Pools[0].NAV.String() != "20.0000" || !strings.Contains(st.Failed["A"], "S1") {
		t.Fatalf("first run %+v", st)
	}
	db.NAV("S1", "2026-08-20", "12.5")
	if st, err = j.Run(testkit.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	// A: no units, so the launch NAV (its holdings, 10 × 12.5 = 125.00,
	// are recorded with it); B: computed before, not again.
	if len(st.Pools) != 2 || st.Failed != nil || !st.Pools[0].Fresh || st.Pools[0].NAV.String() != "10.0000" || st.Pools[1].Fresh {
		t.Fatalf("second run %+v", st)
	}
	if got := db.Str(`SELECT string_agg(pool_id || ' ' || holdings, ',' ORDER BY pool_id) FROM pool_navs`); got != "A 125.00,B 0.00" {
		t.Errorf("NAV rows %s", got)
	}
}
