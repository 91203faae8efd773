package api_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
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
	"github.com/fundflow/fundflow/internal/testkit"
)

// The analytics routes on the sample ledger: the scheme's models after a
// refresh, and G-1's portfolio risk over NAVs chosen so that its returns
// are +10 %, −10 %, +10 % (the hand-computed series of fund/risk's tests);
// the same roles and object checks as the other folio routes.
func TestAnalyticsRoutes(t *testing.T) {
	e := setup(t, nil)
	ctx := testkit.Ctx(t)
	pool, ch := e.store.PG, e.store.CH
	// 100002: 50 (Feb 1, the sample's) → 55 → 49.5 → 54.45: returns 0.1, −0.1, 0.1
	for _, n := range []struct{ d, nav string }{{"2024-12-02", "55"}, {"2024-12-16", "49.5"}, {"2024-12-30", "54.45"}} {
		if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ('100002', $1, $2, nav_source('t', 't'), 1)`,
			n.d, n.nav); err != nil {
			t.Fatal(err)
		}
	}
	asOf := fund.NewDate(2024, 3, 11)
	if _, err := analytics.Resync(ctx, pgstore.Store{Pool: pool}, chstore.Store{Conn: ch}, fund.NewDate(2024, 1, 1), fund.NewDate(2024, 12, 31)); err != nil {
		t.Fatal(err)
	}
	if _, err := (refresh.Refresher{PG: pool, CH: ch}).All(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	s := api.New(api.Config{Auth: &api.Auth{HS256Secret: secret}, RatePerSecond: 1000, Burst: 1000,
		Now: func() time.Time { return time.Date(2024, 12, 30, 12, 0, 0, 0, time.UTC) }, Analytics: query.Service{PG: pool, CH: ch}},
		e.store, nil, testkit.Logger(t))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	e2 := &env{srv: hs}

	analyst := token(t, claims(api.RoleAnalyst, "a", time.Hour))
	status, _, body := e2.get(t, "/v1/schemes/100001/analytics", analyst)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var sa query.SchemeAnalytics
	json.Unmarshal(body, &sa)
	if sa.Rolling == nil { // a list, empty: the sample's NAVs span less than a year
		t.Errorf("no rolling list: %s", body)
	}
	// names from the scheme dimension; no risk row (two NAVs in nav_history are too few for a stdev);
	// AUM on 2024-03-11 = F-1's units × 12.5 (the NAV of the day)
	if sa.Name != "Alpha Flexi Cap Fund - Direct Growth" || sa.AMC != "Alpha MF" || sa.Risk != nil || sa.AUM == nil {
		t.Fatalf("%s", body)
	}
	var units decimal.Decimal
	pool.QueryRow(ctx, `SELECT sum(units) FROM ledger_transactions WHERE scheme_code = '100001' AND kind = 'purchase' AND nav_date <= '2024-03-11'`).Scan(&units)
	if want := units.Mul(decimal.RequireFromString("12.5")).RoundBank(2).StringFixed(2); sa.AUM.AUM != want || sa.AUM.Date != "2024-03-11" {
		t.Errorf("aum %+v, want %s on 2024-03-11", sa.AUM, want)
	}
	// 1M: from the NAV on or before 2024-02-11 (Jan 10, 10.0000) to Mar 11 (12.5000): 12.5/10 − 1 = 0.25
	if len(sa.Returns) != 1 || sa.Returns[0].Period != "1M" || sa.Returns[0].Value != "0.25000000" || sa.Returns[0].From != "2024-01-10" {
		t.Errorf("returns %+v", sa.Returns)
	}
	if status, _, _ := e2.get(t, "/v1/schemes/999999/analytics", analyst); status != 404 {
		t.Errorf("unknown scheme: %d", status)
	}

	// G-1 (INV-2) holds 100002 only: its value series is units × NAV on the four dates.
	status, _, body = e2.get(t, "/v1/folios/G-1/risk?as_of=2024-12-30", investor(t, "INV-2", "G-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var fr query.FolioRisk
	json.Unmarshal(body, &fr)
	var g1 decimal.Decimal
	pool.QueryRow(ctx, `SELECT units FROM holdings WHERE folio_no = 'G-1'`).Scan(&g1)
	value := g1.Mul(decimal.RequireFromString("54.45"))
	if fr.Risk == nil || fr.Days != 4 || fr.From != "2024-02-01" || fr.Value != value.RoundBank(2).StringFixed(2) {
		t.Fatalf("%s", body)
	}
	// volatility sqrt(3.36), Sharpe (rf 0) sqrt(21), VaR 95 the −10 % day; in rupees 0.1 × the last value
	if fr.Risk.Volatility != "1.83303028" || *fr.Risk.Sharpe != "4.58257569" || fr.Risk.VaR95 != "0.10000000" ||
		*fr.VaR95INR != value.Mul(decimal.RequireFromString("0.1")).RoundBank(2).StringFixed(2) {
		t.Errorf("%s", body)
	}
	// object-level checks: another investor's folio is 404, an analyst has no folio access (403)
	if status, _, _ := e2.get(t, "/v1/folios/F-1/risk", investor(t, "INV-2", "G-1")); status != 404 {
		t.Errorf("someone else's folio: %d", status)
	}
	if status, _, _ := e2.get(t, "/v1/folios/G-1/risk", analyst); status != 403 {
		t.Errorf("analyst on a folio route: %d", status)
	}
	// F-1 holds two schemes with one joint NAV date in the window: no risk, a reason
	status, _, body = e2.get(t, "/v1/folios/F-1/risk?as_of=2024-12-31", investor(t, "INV-1", "F-1", "F-2"))
	json.Unmarshal(body, &fr)
	if status != 200 || fr.Risk != nil || fr.Reason == "" {
		t.Errorf("%d %s", status, body)
	}
}

// Scheme analytics from memory (query.Cached) answer byte for byte what the
// ClickHouse-backed route answers, on the same data, for every scheme: the
// sample's (names and AUM from the ledger, a 1M return), six synthetic
// schemes with six years of NAVs (risk, returns, 1Y/3Y rolling returns,
// beta), two of them refreshed again at a later as_of (the latest as_of is
// per scheme, not the table's), a scheme with NAVs and no model (loaded
// after the snapshot), and an unknown code (404 from both).
func TestSchemeAnalyticsFromMemoryEqualsClickHouse(t *testing.T) {
	e := setup(t, nil)
	ctx := testkit.Ctx(t)
	pool, ch := e.store.PG, e.store.CH
	asOf := fund.NewDate(2024, 3, 11)
	if _, err := analytics.Resync(ctx, pgstore.Store{Pool: pool}, chstore.Store{Conn: ch}, fund.NewDate(2024, 1, 1), fund.NewDate(2024, 12, 31)); err != nil {
		t.Fatal(err)
	}
	// synthetic NAVs: X1…X6, business days over six years, a walk fixed by
	// the seed; two categories so that beta has averages to use
	navs := func(codes []string, from, to fund.Date, seed uint64) {
		t.Helper()
		b, err := ch.PrepareBatch(ctx, `INSERT INTO nav_history (scheme_code, nav_date, nav, amc, category, source_sha256, source_line, loaded_at)`)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 31))
		for i, c := range codes {
			nav := int64(100_0000 + rng.IntN(900_0000))
			for d := from; !d.After(to); d = d.AddDays(1) {
				if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
					continue
				}
				nav = max(1, nav+nav*int64(rng.IntN(401)-195)/10000)
				if err := b.Append(c, d.Time(), decimal.New(nav, -4), "Synth MF", []string{"Equity Scheme - Large Cap Fund", "Debt Scheme - Gilt Fund"}[i%2],
					"t", uint32(1), time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	synth := []string{"X1", "X2", "X3", "X4", "X5", "X6"}
	navs(synth, asOf.AddDays(-6*365), asOf.AddDays(60), 1)
	r := refresh.Refresher{PG: pool, CH: ch, RiskFree: decimal.RequireFromString("0.065")}
	if _, err := r.All(ctx, asOf); err != nil {
		t.Fatal(err)
	}
	// X1 and X2 go on for five more years; a refresh as of then has no NAV
	// of the others in its window: their latest rows stay on asOf (the
	// latest as_of is each scheme's, not the table's)
	asOf2 := asOf.AddDays(2000)
	navs([]string{"X1", "X2"}, asOf.AddDays(61), asOf2, 3)
	if _, err := r.ReturnsAndRisk(ctx, asOf2); err != nil {
		t.Fatal(err)
	}

	cached := &query.Cached{Service: query.Service{PG: pool, CH: ch}, Log: testkit.Logger(t)}
	now := time.Date(2024, 12, 30, 12, 0, 0, 0, time.UTC)
	fromCH, fromMem := serveAnalytics(t, e, now, query.Service{PG: pool, CH: ch}), serveAnalytics(t, e, now, cached)
	analyst := token(t, claims(api.RoleAnalyst, "a", time.Hour))
	var codes []string
	rows, err := ch.Query(ctx, `SELECT DISTINCT scheme_code FROM nav_history UNION ALL SELECT scheme_code FROM scheme_dim`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	rows.Close()
	slices.Sort(codes)
	compare := func(codes []string) (bodies map[string]query.SchemeAnalytics) {
		t.Helper()
		bodies = map[string]query.SchemeAnalytics{}
		for _, c := range codes {
			s1, _, b1 := fromCH.get(t, "/v1/schemes/"+c+"/analytics", analyst)
			s2, _, b2 := fromMem.get(t, "/v1/schemes/"+c+"/analytics", analyst)
			if s1 != s2 || !bytes.Equal(b1, b2) {
				t.Errorf("%s: ClickHouse %d\n%s\nmemory %d\n%s", c, s1, b1, s2, b2)
			}
			var a query.SchemeAnalytics
			if s1 == 200 {
				json.Unmarshal(b1, &a)
				bodies[c] = a
			}
		}
		return bodies
	}
	compare(append(codes, "999999")) // before the first load: Cached asks ClickHouse
	snap, err := cached.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cached.Current() != snap || snap.Len() < len(synth)+2 {
		t.Fatalf("snapshot of %d schemes", snap.Len())
	}
	// a scheme with NAVs loaded after the snapshot, in no model
	navs([]string{"N1"}, asOf.AddDays(-30), asOf, 2)
	bodies := compare(append(codes, "N1", "999999"))
	// the comparison covers every part of the answer: without these it
	// could pass on empty answers
	if len(bodies) != len(codes)+1 {
		t.Errorf("%d answers for %d schemes", len(bodies), len(codes)+1)
	}
	x1, x3 := bodies["X1"], bodies["X3"]
	if x1.Risk == nil || x1.Risk.Beta == nil || len(x1.Rolling) != 2 || len(x1.Returns) != 6 || x1.Risk.AsOf != asOf2.String() {
		t.Errorf("X1: %+v", x1)
	}
	if x3.Risk == nil || x3.Risk.AsOf != asOf.String() || len(x3.Returns) == 0 || x3.Returns[0].To > asOf.String() {
		t.Errorf("X3 on the first as_of: %+v", x3)
	}
	if a := bodies["100001"]; a.AUM == nil || a.Name == "" || bodies["N1"].AMC != "Synth MF" {
		t.Errorf("100001 %+v, N1 %+v", a, bodies["N1"])
	}
	if snap.Scheme("X1") == nil || snap.Scheme("N1") != nil {
		t.Errorf("the answers did not come from the snapshot")
	}

	// each refresh of a model moves the mark the API reloads on
	m0, err := chstore.Store{Conn: ch}.ModelsMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m0 != snap.Mark {
		t.Errorf("mark %d, snapshot's %d with no refresh since", m0, snap.Mark)
	}
	for i, step := range []func() error{
		func() error { _, err := r.Schemes(ctx); return err },
		func() error { _, err := r.AUMIncremental(ctx, asOf); return err },
		func() error { _, err := r.ReturnsAndRisk(ctx, asOf); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		m, err := chstore.Store{Conn: ch}.ModelsMark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m != m0+1 {
			t.Errorf("step %d: mark %d after %d", i, m, m0)
		}
		m0 = m
	}
}

// Folio risk with the schemes' NAVs from memory (query.Cached's
// NAVSnapshot) answers byte for byte what the Postgres-backed route
// answers: folios of one scheme, two schemes and none, as of the newest
// NAV, a weekend after it, dates inside the snapshot's window and one
// before it (Postgres again), and the server's today; NAVs of 8 places and
// dates one scheme misses (the joint dates). A NAV added or retracted
// moves the mark the API reloads on; until then the memory answer lacks
// it (which shows the answers come from memory).
func TestFolioRiskFromMemoryEqualsPostgres(t *testing.T) {
	e := setup(t, nil)
	ctx := testkit.Ctx(t)
	pool := e.store.PG
	rng := rand.New(rand.NewPCG(5, 9))
	newest := fund.NewDate(2025, 6, 30)
	for _, code := range []string{"100001", "100002"} {
		nav := int64(10_00000000 + rng.IntN(40_00000000)) // 8 places
		for d := fund.NewDate(2024, 1, 15); !d.After(newest); d = d.AddDays(1) {
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday || (code == "100002" && rng.IntN(10) == 0) {
				continue
			}
			nav = max(1, nav+nav*int64(rng.IntN(401)-195)/10000)
			if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
				VALUES ($1, $2, $3, nav_source('t', 't'), 1) ON CONFLICT DO NOTHING`, code, d.Time(), decimal.New(nav, -8)); err != nil {
				t.Fatal(err)
			}
		}
	}
	cached := &query.Cached{Service: query.Service{PG: pool, RiskFree: decimal.RequireFromString("0.065")}, Log: testkit.Logger(t)}
	now := time.Date(2025, 6, 20, 12, 0, 0, 0, time.UTC)
	fromPG, fromMem := serveAnalytics(t, e, now, query.Service{PG: pool, RiskFree: decimal.RequireFromString("0.065")}), serveAnalytics(t, e, now, cached)
	inv1, inv2 := investor(t, "INV-1", "F-1", "F-2"), investor(t, "INV-2", "G-1")
	asOfs := []string{"", "?as_of=2025-06-30", "?as_of=2025-07-05", "?as_of=2025-06-02", "?as_of=2025-05-20", "?as_of=2024-12-31", "?as_of=2025-07-01"}
	compare := func() map[string]query.FolioRisk {
		t.Helper()
		out := map[string]query.FolioRisk{}
		for _, f := range []struct{ folio, token string }{{"F-1", inv1}, {"F-2", inv1}, {"G-1", inv2}} {
			for _, q := range asOfs {
				s1, _, b1 := fromPG.get(t, "/v1/folios/"+f.folio+"/risk"+q, f.token)
				s2, _, b2 := fromMem.get(t, "/v1/folios/"+f.folio+"/risk"+q, f.token)
				if s1 != 200 || s1 != s2 || !bytes.Equal(b1, b2) {
					t.Errorf("%s%s: Postgres %d\n%s\nmemory %d\n%s", f.folio, q, s1, b1, s2, b2)
				}
				var fr query.FolioRisk
				json.Unmarshal(b1, &fr)
				out[f.folio+q] = fr
			}
		}
		return out
	}
	compare() // before the first load: Postgres
	snap, err := cached.LoadNAVs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// the window: a year and 31 days before the newest NAV date
	if want := newest.AddDays(-(analytics.RiskWindowDays + query.NAVWindowSlackDays)); snap.From != want || snap.Len() != 2 {
		t.Fatalf("snapshot from %s of %d schemes, want from %s", snap.From, snap.Len(), want)
	}
	if !snap.Covers(fund.NewDate(2025, 6, 2).AddDays(-analytics.RiskWindowDays)) || snap.Covers(fund.NewDate(2025, 5, 20).AddDays(-analytics.RiskWindowDays)) {
		t.Fatalf("snapshot from %s: the as_of dates do not test both routes", snap.From)
	}
	got := compare()
	// not vacuous: two schemes' joint history, with risk
	if f1 := got["F-1?as_of=2025-06-30"]; f1.Risk == nil || f1.Days < 200 || len(f1.Holdings) != 2 || f1.Holdings[1].Value == "" {
		t.Fatalf("F-1: %+v", f1)
	}
	mark := func() query.NAVsMark {
		t.Helper()
		m, err := cached.NAVsMark(ctx, snap.From)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if !mark().Equal(snap.Mark) {
		t.Fatalf("mark %+v, snapshot's %+v with no NAV loaded since", mark(), snap.Mark)
	}
	latest := func() query.NAVsMark {
		t.Helper()
		m, err := cached.LatestMark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if !latest().Equal(snap.Latest) {
		t.Fatalf("nav_latest mark %+v, snapshot's %+v with no NAV loaded since", latest(), snap.Latest)
	}
	// a new day's NAVs, written as the NAV sink writes them (navs, then
	// nav_latest moved forward): both marks move; the snapshot's answer
	// lacks them
	for _, code := range []string{"100001", "100002"} {
		if _, err := pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
			VALUES ($1, '2025-07-01', 33.12345678, nav_source('t', 't'), 1)`, code); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
			VALUES ($1, '2025-07-01', 33.12345678, 't', 't', 1) ON CONFLICT (scheme_code) DO UPDATE SET nav_date = excluded.nav_date,
			nav = excluded.nav, updated_at = now()`, code); err != nil {
			t.Fatal(err)
		}
	}
	if mark().Equal(snap.Mark) || latest().Equal(snap.Latest) {
		t.Errorf("a mark did not move with two NAVs added: window %v, nav_latest %v", !mark().Equal(snap.Mark), !latest().Equal(snap.Latest))
	}
	_, _, b1 := fromPG.get(t, "/v1/folios/F-1/risk?as_of=2025-07-01", inv1)
	_, _, b2 := fromMem.get(t, "/v1/folios/F-1/risk?as_of=2025-07-01", inv1)
	if bytes.Equal(b1, b2) {
		t.Errorf("the stale snapshot answered with the new NAVs: the answers do not come from it")
	}
	if snap, err = cached.LoadNAVs(ctx); err != nil {
		t.Fatal(err)
	}
	compare()
	// a retracted NAV (deleted): the mark moves too
	if _, err := pool.Exec(ctx, `DELETE FROM navs WHERE scheme_code = '100002' AND nav_date = '2025-06-27'`); err != nil {
		t.Fatal(err)
	}
	if mark().Equal(snap.Mark) {
		t.Errorf("the window's mark did not move with a NAV retracted")
	}
	if snap, err = cached.LoadNAVs(ctx); err != nil {
		t.Fatal(err)
	}
	compare()
}

// serveAnalytics is an API server over e's store answering the analytics
// routes with a, its clock at now.
func serveAnalytics(t *testing.T, e *env, now time.Time, a api.Analytics) *env {
	t.Helper()
	s := api.New(api.Config{Auth: &api.Auth{HS256Secret: secret}, RatePerSecond: 1000, Burst: 1000,
		Now: func() time.Time { return now }, Analytics: a}, e.store, nil, testkit.Logger(t))
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &env{srv: hs}
}
