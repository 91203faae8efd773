package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/transforms/freshness"
)

// freshScheme is a constructed scheme: its category and AMC, and the dates
// it has NAVs for (the last one is its nav_latest).
type freshScheme struct {
	code, amc, category string
	dates               []string
}

func seedNAVs(t *testing.T, e opsEnv, schemes []freshScheme) {
	t.Helper()
	ctx := context.Background()
	for _, s := range schemes {
		last := s.dates[len(s.dates)-1]
		if _, err := e.d.pg.Pool.Exec(ctx, `INSERT INTO schemes (code, name, category, amc, version, valid_from) VALUES ($1, $1, $2, $3, 1, $4)`,
			s.code, s.category, s.amc, s.dates[0]); err != nil {
			t.Fatal(err)
		}
		for i, d := range s.dates {
			if _, err := e.d.pg.Pool.Exec(ctx, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ($1, $2, 10, nav_source('f', 's'), $3)`,
				s.code, d, i+1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.d.pg.Pool.Exec(ctx, `INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line) VALUES ($1, $2, 10, 'f', 's', 1)`,
			s.code, last); err != nil {
			t.Fatal(err)
		}
	}
}

// Freshness on the real 2026 holiday calendar, at 23:20 IST on Tuesday
// 18-Aug-2026 (NAVs of the 18th were due at 23:00; Saturday the 15th is a
// holiday anyway, Monday 14-Sep is one):
//
//	A equity, NAVs to the 18th: on time
//	B equity, to the 17th: the 18th's NAV is 20 min late (SLA 15 min): stale
//	C fund of funds, to the 17th: its 18th NAV is due 10:00 on the 19th: not late
//	D liquid, to Sunday the 16th (published with Friday's file): Monday's NAV, due the 17th 23:00, is 24h20m late
//	E equity, last NAV on 1-Jun: dead (more than 30 days), not late
//	F equity, to Friday the 14th: Monday's NAV 24h20m late
func TestNAVFreshnessMetricsAlertsAndCompleteness(t *testing.T) {
	e := newOpsEnv(t, `  nav-ingest:
    source: {kind: file, path: /tmp}
    freshness_sla: 15m
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
  nav-freshness: {}
`)
	seedNAVs(t, e, []freshScheme{
		{"A", "Alpha MF", "Equity Scheme - Large Cap Fund", []string{"2026-08-14", "2026-08-17", "2026-08-18"}},
		{"B", "Alpha MF", "Equity Scheme - Mid Cap Fund", []string{"2026-08-14", "2026-08-17"}},
		{"C", "Beta MF", "Other Scheme - FoF Overseas", []string{"2026-08-14", "2026-08-17"}},
		{"D", "Beta MF", "Debt Scheme - Liquid Fund", []string{"2026-08-14", "2026-08-15", "2026-08-16"}},
		{"E", "Gamma MF", "Equity Scheme - Value Fund", []string{"2026-06-01"}},
		{"F", "Gamma MF", "Equity Scheme - Value Fund", []string{"2026-08-14"}},
	})
	f, err := newNAVFreshness(e.d)
	if err != nil {
		t.Fatal(err)
	}
	ist := fund.IST()
	f.Now = func() time.Time { return time.Date(2026, 8, 18, 23, 20, 0, 0, ist) }
	ctx := context.Background()
	res, err := f.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	// Per AMC, the oldest live scheme's lateness and the stale count:
	// Alpha's B (20 min), Beta's D and Gamma's F (24h20m; Gamma's dead E
	// counts for nothing).
	checkAMCs := func(when string, want map[string][2]float64) {
		t.Helper()
		for amc, w := range want {
			if got := testutil.ToFloat64(f.Age.WithLabelValues(amc)); got != w[0] {
				t.Errorf("%s: fundflow_nav_age_seconds{amc=%q} = %v, want %v", when, amc, got, w[0])
			}
			if got := testutil.ToFloat64(f.Stale.WithLabelValues(amc)); got != w[1] {
				t.Errorf("%s: fundflow_nav_stale_schemes{amc=%q} = %v, want %v", when, amc, got, w[1])
			}
		}
		if n := testutil.CollectAndCount(f.Age); n != len(want) {
			t.Errorf("%s: %d age series, want %d (one per AMC, none per scheme)", when, n, len(want))
		}
		if n := testutil.CollectAndCount(f.Stale); n != len(want) {
			t.Errorf("%s: %d stale series, want %d", when, n, len(want))
		}
	}
	checkAMCs("23:20", map[string][2]float64{
		"Alpha MF": {(20 * time.Minute).Seconds(), 1},
		"Beta MF":  {(day + 20*time.Minute).Seconds(), 1},
		"Gamma MF": {(day + 20*time.Minute).Seconds(), 1},
	})
	if res.Live != 5 || res.Dead != 1 || res.Stale != 3 || res.AlertsRaised != 3 || res.AlertsResolved != 0 ||
		res.StaleByAMC["Alpha MF"] != 1 || res.StaleByAMC["Beta MF"] != 1 || res.StaleByAMC["Gamma MF"] != 1 {
		t.Fatalf("result %+v", res)
	}
	// Completeness of the 18th: A, B, C had a NAV on the 17th; A has the
	// 18th's, B's is missing, C's is not due yet.
	c := res.Completeness
	if c.Date != "2026-08-18" || c.Previous != "2026-08-17" || c.Expected != 3 || c.Present != 1 || c.MissingCount != 1 ||
		c.PendingCount != 1 || c.Missing[0].Code != "B" || c.Pending[0].Code != "C" || c.MissingByAMC["Alpha MF"] != 1 {
		t.Fatalf("completeness %+v", c)
	}
	if got := testutil.ToFloat64(f.Missing); got != 1 {
		t.Errorf("missing gauge %v", got)
	}
	if n := count(t, e.d, `SELECT count(*) FROM alerts WHERE kind = 'nav_stale' AND resolved_at IS NULL`); n != 3 {
		t.Fatalf("%d open alerts", n)
	}

	// B's NAV arrives: Alpha's alert resolves, the others stay (and are not raised twice).
	seedMore := `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ('B', '2026-08-18', 10, nav_source('f', 's'), 9);
		UPDATE nav_latest SET nav_date = '2026-08-18' WHERE scheme_code = 'B'`
	if _, err := e.d.pg.Pool.Exec(ctx, seedMore); err != nil {
		t.Fatal(err)
	}
	f.Now = func() time.Time { return time.Date(2026, 8, 18, 23, 25, 0, 0, ist) }
	if res, err = f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if res.Stale != 2 || res.AlertsRaised != 0 || res.AlertsResolved != 1 || res.Completeness.MissingCount != 0 {
		t.Fatalf("after B arrived: %+v", res)
	}
	// Alpha is on time again: its series stay, at 0.
	checkAMCs("23:25", map[string][2]float64{
		"Alpha MF": {0, 0},
		"Beta MF":  {(day + 25*time.Minute).Seconds(), 1},
		"Gamma MF": {(day + 25*time.Minute).Seconds(), 1},
	})
	var open []string
	rows, _ := e.d.pg.Pool.Query(ctx, `SELECT subject FROM alerts WHERE kind = 'nav_stale' AND resolved_at IS NULL ORDER BY subject`)
	for rows.Next() {
		var s string
		rows.Scan(&s)
		open = append(open, s)
	}
	if len(open) != 2 || open[0] != "Beta MF" || open[1] != "Gamma MF" {
		t.Fatalf("open alerts %v", open)
	}

	// A holiday is not a missing NAV: on the evening of Monday 14-Sep-2026
	// (a holiday) a scheme whose last NAV is Friday the 11th owes nothing
	// until Tuesday 23:00.
	f.Now = func() time.Time { return time.Date(2026, 9, 14, 23, 30, 0, 0, ist) }
	rep, err := freshness.Evaluate([]freshness.Latest{{Code: "G", AMC: "x", Category: "Equity Scheme - Flexi Cap Fund", Date: fund.NewDate(2026, 9, 11)}}, f.Now(), f.Options)
	if err != nil || rep.StaleCount() != 0 || rep.Live[0].Late != 0 || rep.Live[0].Next != fund.NewDate(2026, 9, 15) {
		t.Fatalf("holiday: %+v", rep.Live)
	}
}

// `fundflow check completeness`: the CLI over the same constructed state,
// for a business day whose previous business day is across a weekend, and
// for a holiday.
func TestCheckCompletenessCommand(t *testing.T) {
	e := newOpsEnv(t, `  nav-ingest:
    source: {kind: file, path: /tmp}
    holidays: [`+testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv")+`]
`)
	seedNAVs(t, e, []freshScheme{
		{"A", "Alpha MF", "Equity Scheme - Large Cap Fund", []string{"2026-08-14", "2026-08-17", "2026-08-18"}},
		{"D", "Beta MF", "Debt Scheme - Liquid Fund", []string{"2026-08-14", "2026-08-15", "2026-08-16"}},
		{"E", "Gamma MF", "Equity Scheme - Value Fund", []string{"2026-06-01"}},
		{"F", "Gamma MF", "Equity Scheme - Value Fund", []string{"2026-08-14"}},
	})
	check := func(args ...string) freshness.Completeness {
		t.Helper()
		out, stderr, err := e.cli(t, append([]string{"check", "completeness"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		var c freshness.Completeness
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		return c
	}
	// Monday the 17th: the business day before is Friday the 14th (the
	// 15th and 16th are a weekend). A, D, F had the 14th; D and F lack the
	// 17th.
	c := check("--date", "2026-08-17", "--at", "2026-08-19T09:00:00+05:30")
	if !c.BusinessDay || c.Previous != "2026-08-14" || c.Expected != 3 || c.Present != 1 || c.MissingCount != 2 ||
		c.Missing[0].Code != "D" || c.Missing[1].Code != "F" || c.MissingByAMC["Gamma MF"] != 1 {
		t.Fatalf("17th: %+v", c)
	}
	// Saturday 15-Aug-2026 (a holiday too): nothing expected.
	if c := check("--date", "2026-08-15"); c.BusinessDay || c.Expected != 0 || c.MissingCount != 0 || c.Note == "" {
		t.Fatalf("15th: %+v", c)
	}
	// Without --date: the last business day whose NAVs were due at --at.
	if c := check("--at", "2026-08-18T22:00:00+05:30"); c.Date != "2026-08-17" {
		t.Fatalf("default day %s", c.Date)
	}
	if _, _, err := e.cli(t, "check", "completeness", "--date", "18-08-2026"); !isExit(err, 2) {
		t.Fatalf("bad date: %v", err)
	}
}
