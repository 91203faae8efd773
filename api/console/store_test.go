package console_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The console's reads over the fixture, counted by hand from what it seeded.
func TestConsoleStoreReads(t *testing.T) {
	f := newFixture(t)
	ctx := testkit.Ctx(t)

	o, err := f.store.Overview(ctx, f.now)
	if err != nil {
		t.Fatal(err)
	}
	// One nav_jump row held; one break; alerts: feed_rejected and refund_due;
	// one payment break; one refund due. Three live schemes; Gamma's NAV of
	// the 21st is held, so at Mon 09:00 Gamma is stale (that NAV was due Fri
	// 23:00) and one NAV is missing for the 21st; Alpha's two owe Mon's NAV,
	// due Mon 23:00: on time.
	if o.OpenQuarantine != 1 || o.OpenBreaks != 1 || o.ExplainedBreaks != 0 || o.OpenAlerts != 2 || o.PaymentBreaks != 1 || o.RefundsDue != 1 ||
		o.LiveSchemes != 3 || o.StaleSchemes != 1 || o.CompletenessDay != "2026-08-21" || o.CompletenessMiss != 1 || o.FreshnessErr != "" {
		t.Fatalf("overview %+v", o)
	}
	if len(o.LastRunByJob) != 1 || o.LastRunByJob[0].Pipeline != "nav-ingest" || o.LastRunByJob[0].In != 6 || o.LastRunByJob[0].Out != 5 {
		t.Fatalf("last runs %+v", o.LastRunByJob)
	}

	// Breaks by type and age: first seen 10-Aug, 14 days before 24-Aug: the
	// 8–30 d bucket.
	types, list, err := f.store.Breaks(ctx, fund.NewDate(2026, 8, 24), "", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != len(fund.BreakTypes) {
		t.Fatalf("%d types, want every break type", len(types))
	}
	for _, ty := range types {
		want := []int64{0, 0, 0, 0}
		open := int64(0)
		if ty.Type == "units_mismatch" {
			want, open = []int64{0, 0, 1, 0}, 1
		}
		for i := range want {
			if ty.ByAge[i] != want[i] || ty.Open != open || ty.Explained != 0 {
				t.Fatalf("%s: open %d explained %d by age %v, want open %d by age %v", ty.Type, ty.Open, ty.Explained, ty.ByAge, open, want)
			}
		}
	}
	if len(list) != 1 || list[0].ID != f.breakID || list[0].AgeDays != 14 || list[0].UnitsDiff == nil || !list[0].UnitsDiff.Equal(decimal.RequireFromString("0.5")) {
		t.Fatalf("breaks %+v", list)
	}
	// Age bucket edges: first seen 1, 2, 7, 8, 30 and 31 days ago.
	for _, c := range []struct {
		days   int
		bucket int
	}{{1, 0}, {2, 1}, {7, 1}, {8, 2}, {30, 2}, {31, 3}} {
		today := fund.NewDate(2026, 8, 10).AddDays(c.days)
		types, _, err := f.store.Breaks(ctx, today, "open", "units_mismatch", 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, ty := range types {
			if ty.Type == "units_mismatch" && ty.ByAge[c.bucket] != 1 {
				t.Errorf("%d days old: by age %v, want bucket %d", c.days, ty.ByAge, c.bucket)
			}
		}
	}

	breaks, refunds, err := f.store.Payments(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(breaks) != 1 || breaks[0].PaymentID != "pay_T1" || breaks[0].Reason != "amount_mismatch" || breaks[0].Amount.StringFixed(2) != "5000.00" {
		t.Fatalf("payment breaks %+v", breaks)
	}
	if len(refunds) != 1 || refunds[0].PaymentID != "pay_T2" || refunds[0].Amount == nil || refunds[0].Amount.StringFixed(2) != "2500.50" ||
		refunds[0].OrderID == nil || *refunds[0].OrderID != "ORD-7" {
		t.Fatalf("refunds due %+v", refunds)
	}
	alerts, byKind, err := f.store.OpenAlerts(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 2 || len(byKind) != 2 {
		t.Fatalf("alerts %+v by kind %+v", alerts, byKind)
	}

	// Freshness by AMC: Alpha 2 live schemes, Gamma 1; at Tue 25-Aug 09:00
	// the NAVs of Mon the 24th were due Mon 23:00 and none came: every
	// scheme is 10 h late, over the 15 min SLA.
	fr, err := f.store.FreshnessByAMC(ctx, time.Date(2026, 8, 25, 9, 0, 0, 0, fund.IST()), fund.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Live != 3 || fr.Stale != 3 || len(fr.ByAMC) != 2 {
		t.Fatalf("freshness %+v", fr)
	}
	// The last day due at Tue 09:00 is Mon the 24th: two expected (Alpha's
	// NAVs of Fri; Gamma's is held), none present, both missing (due Mon 23:00).
	if c := fr.Completeness; c.Date != "2026-08-24" || c.Expected != 2 || c.Present != 0 || c.MissingCount != 2 || fr.Today.String() != "2026-08-25" {
		t.Fatalf("completeness of the last day due: %+v (today %s)", c, fr.Today)
	}
	// Today's, asked for by date at Mon 09:00: Alpha's two NAVs of Mon are
	// not due until 23:00: pending, not missing.
	today, err := f.store.FreshnessByAMC(ctx, f.now, fund.NewDate(2026, 8, 24))
	if err != nil {
		t.Fatal(err)
	}
	if c := today.Completeness; c.Date != "2026-08-24" || c.Expected != 2 || c.PendingCount != 2 || c.MissingCount != 0 || today.LastDue.String() != "2026-08-21" {
		t.Fatalf("completeness of today: %+v (last due %s)", c, today.LastDue)
	}
	for _, a := range fr.ByAMC {
		want := map[string]int{"Alpha Mutual Fund": 2, "Gamma Mutual Fund": 1}[a.AMC]
		if a.Live != want || a.Stale != want || a.MaxLate < 10*time.Hour {
			t.Fatalf("%s: %+v, want %d live and stale", a.AMC, a, want)
		}
	}
}
