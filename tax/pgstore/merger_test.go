package pgstore_test

import (
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/tax"
	"github.com/fundflow/fundflow/tax/pgstore"
)

// mergerSpec: Zeta MF merges MA into MB on Monday 1-Jun-2026 at MA 50.0000 / MB 30.0000.
//
//	I1, F1: buys MA 2017-06-01 10000.00 at 20.0000 (no duty before 1-Jul-2020) → 500.000 units (lot 1);
//	        buys MA 2023-05-02 20001.00 at 40.0000: duty 20001 × 0.005/100.005 = 1.00 → 20000.00 → 500.000 (lot 2);
//	        redeems 200.000 MA 2024-03-01 at 45.0000 from lot 1: 300.000 left, cost 10000 × 300/500 = 6000.00
//	I2, F2: buys MA 2023-05-02 1000.05: duty 0.05 → 1000.00 → 25.000 units
//	I3, F3: buys MB 2026-06-01 3000.15 at 30.0000: duty 0.15 → 3000.00 → 100.000 units (not merged)
//
// MA's NAV of 31-Jan-2018 is 25.0000: the FMV of lot 1.
func mergerSpec() ledgerfix.Spec {
	return ledgerfix.Spec{
		Investors: []ledgerfix.Investor{
			{ID: "I1", Name: "One", TaxCountry: "IN", Folios: []string{"F1"}},
			{ID: "I2", Name: "Two", TaxCountry: "IN", Folios: []string{"F2"}},
			{ID: "I3", Name: "Three", TaxCountry: "IN", Folios: []string{"F3"}},
		},
		Schemes: []ledgerfix.Scheme{
			{Code: "MA", Name: "Zeta Bluechip Fund - Regular Plan - Growth", AMC: "Zeta MF", Category: "Equity Scheme - Large Cap Fund",
				NAVs: map[fund.Date]string{d(2017, 6, 1): "20.0000", d(2018, 1, 31): "25.0000", d(2023, 5, 2): "40.0000", d(2024, 3, 1): "45.0000", d(2026, 6, 1): "50.0000"}},
			{Code: "MB", Name: "Zeta Large Cap Fund - Regular Plan - Growth", AMC: "Zeta MF", Category: "Equity Scheme - Large Cap Fund",
				NAVs: map[fund.Date]string{d(2018, 1, 31): "11.0000", d(2026, 6, 1): "30.0000", d(2026, 8, 20): "33.0000"}},
		},
		Txs: []ledgerfix.Tx{
			{Folio: "F1", Scheme: "MA", Kind: "purchase", Date: d(2017, 6, 1), Amount: "10000.00"},
			{Folio: "F1", Scheme: "MA", Kind: "purchase", Date: d(2023, 5, 2), Amount: "20001.00"},
			{Folio: "F2", Scheme: "MA", Kind: "purchase", Date: d(2023, 5, 2), Amount: "1000.05"},
			{Folio: "F1", Scheme: "MA", Kind: "redemption", Date: d(2024, 3, 1), Units: "200.000"},
			{Folio: "F3", Scheme: "MB", Kind: "purchase", Date: d(2026, 6, 1), Amount: "3000.15"},
		},
	}
}

// TestMergerInTheLedger: the merger moves every holder's lots of MA to MB
// lot by lot, each with its tax date and cost, in one transaction per
// folio, exactly once; plans follow; the ledger's invariants hold; and a
// redemption after it has the gains of the original lots.
func TestMergerInTheLedger(t *testing.T) {
	t.Parallel()
	ctx := testkit.Ctx(t)
	owner, _, app, _ := testkit.PGApp(t)
	if _, err := ledgerfix.Load(ctx, owner, mergerSpec()); err != nil {
		t.Fatal(err)
	}
	// the ledger's lot cost rule (fund.LotCost) on the redeemed lot, as migration 008 does
	if _, err := owner.Exec(ctx, `UPDATE holding_lots l SET cost = round(t.amount * l.units_remaining / l.units, 2)
		FROM ledger_transactions t WHERE t.id = l.ledger_tx_id AND l.units_remaining < l.units`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `UPDATE holdings h SET invested = (SELECT coalesce(sum(cost), 0) FROM holding_lots l
		WHERE l.folio_no = h.folio_no AND l.scheme_code = h.scheme_code AND l.units_remaining > 0)`); err != nil {
		t.Fatal(err)
	}
	// a live SWP of MA, an STP into it, and a cancelled SWP of MA (left alone)
	for _, p := range []struct{ id, kind, scheme, to, status string }{
		{"pl_swp", "swp", "MA", "", "active"}, {"pl_stp", "stp", "MB", "MA", "paused"}, {"pl_old", "swp", "MA", "", "cancelled"},
	} {
		var to any
		if p.to != "" {
			to = p.to
		}
		if _, err := owner.Exec(ctx, `INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, to_scheme_code,
			frequency, start_date, status) VALUES ($1, $1, 'x', $2, 'I1', 'F1', $3, $4, 'monthly', '2026-01-01', $5)`, p.id, p.kind, p.scheme, to, p.status); err != nil {
			t.Fatal(err)
		}
	}
	if err := ledgergen.Check(ctx, owner); err != nil {
		t.Fatalf("the fixture: %v", err)
	}

	svc := &tax.Mergers{Store: &pgstore.Store{Pool: app}}
	m, created, err := svc.Declare(ctx, tax.MergerDecl{From: "MA", To: "MB", Date: d(2026, 6, 1), NAVFrom: fund.MustNAV("50.0000"), NAVTo: fund.MustNAV("30.0000"), Source: "test"})
	if err != nil || !created {
		t.Fatal(created, err)
	}
	res, err := svc.Run(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	// the STP MB → MA became MB → MB: completed, not redirected into itself; the SWP redirected
	if res.Folios != 2 || res.Merged != 2 || res.Redirected != 2 {
		t.Fatalf("run: %+v", res)
	}
	// F1: 300 × 50/30 = 500.000 (exact), 500 × 50/30 = 833.333|3; Σ 800 × 50/30 = 1333.333, residue 40000 − 39999.99 = 0.01;
	//     cost 6000.00 + 20001.00 = 26001.00 (the cost the two lots had); lot 1's FMV 25 × 300/500 = 15.0000 per unit of MB
	// F2: 25 × 50/30 = 41.666|6 → 41.666; residue 1250 − 1249.98 = 0.02; cost 1000.05
	type lotRow struct{ folio, acquired, units, cost, fmv string }
	rows, err := owner.Query(ctx, `SELECT l.folio_no, l.acquired_on::text, l.units::numeric(24,3)::text, l.cost::text, coalesce(l.fmv_2018::text, '')
		FROM holding_lots l WHERE l.scheme_code = 'MB' AND l.carried_from IS NOT NULL ORDER BY l.folio_no, l.acquired_on`)
	if err != nil {
		t.Fatal(err)
	}
	var got []lotRow
	for rows.Next() {
		var r lotRow
		if err := rows.Scan(&r.folio, &r.acquired, &r.units, &r.cost, &r.fmv); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []lotRow{{"F1", "2017-06-01", "500.000", "6000.00", "15.0000"}, {"F1", "2023-05-02", "833.333", "20001.00", ""}, {"F2", "2023-05-02", "41.666", "1000.05", ""}}
	if len(got) != len(want) {
		t.Fatalf("carried lots %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("carried lot %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, c := range []struct{ folio, from, to, cost, residue string }{{"F1", "800.000", "1333.333", "26001.00", "0.01"}, {"F2", "25.000", "41.666", "1000.05", "0.02"}} {
		var from, to, cost, residue string
		if err := owner.QueryRow(ctx, `SELECT units_from::numeric(24,3)::text, units_to::numeric(24,3)::text, cost::text, residue::text
			FROM merger_folios WHERE merger_id = $1 AND folio_no = $2`, m.ID, c.folio).Scan(&from, &to, &cost, &residue); err != nil ||
			from != c.from || to != c.to || cost != c.cost || residue != c.residue {
			t.Errorf("%s: %s %s %s %s %v", c.folio, from, to, cost, residue, err)
		}
	}
	// holdings: nothing of MA left; MB = the carried units at their cost, F3's untouched (100.000, 3000.15);
	// the residue account holds 0.01 + 0.02
	for _, c := range []struct{ folio, scheme, units, invested string }{
		{"F1", "MA", "0.000", "0.00"}, {"F1", "MB", "1333.333", "26001.00"}, {"F2", "MA", "0.000", "0.00"}, {"F2", "MB", "41.666", "1000.05"}, {"F3", "MB", "100.000", "3000.15"},
	} {
		var units, invested string
		if err := owner.QueryRow(ctx, `SELECT units::numeric(24,3)::text, invested::text FROM holdings WHERE folio_no = $1 AND scheme_code = $2`,
			c.folio, c.scheme).Scan(&units, &invested); err != nil || units != c.units || invested != c.invested {
			t.Errorf("holding %s %s: %s %s %v", c.folio, c.scheme, units, invested, err)
		}
	}
	var residue, plans, completed string
	if err := owner.QueryRow(ctx, `SELECT (SELECT sum(amount)::numeric(18,2)::text FROM ledger_postings WHERE account = 'merger:' || $1 || ':residue'),
		(SELECT string_agg(id || ':' || scheme_code || '>' || coalesce(to_scheme_code, '') || ':' || status, ' ' ORDER BY id) FROM plans),
		(SELECT count(*)::text FROM outbox WHERE topic = 'transactions.completed' AND event_id LIKE 'transactions.completed:MRG-%')`, m.ID).Scan(&residue, &plans, &completed); err != nil {
		t.Fatal(err)
	}
	// events: F1's out leg and two in legs, F2's out and in: 5
	if residue != "0.03" || plans != "pl_old:MA>:cancelled pl_stp:MB>MB:completed pl_swp:MB>:active" || completed != "5" {
		t.Errorf("residue %s, plans %s, events %s", residue, plans, completed)
	}
	if err := ledgergen.Check(ctx, owner); err != nil {
		t.Errorf("after the merger: %v", err)
	}
	// exactly once: a second run merges nothing; a different merger of MA is refused
	if res, err := svc.Run(ctx, m.ID); err != nil || res.Merged != 0 || res.Folios != 0 {
		t.Errorf("again: %+v %v", res, err)
	}
	if _, _, err := svc.Declare(ctx, tax.MergerDecl{ID: "other", From: "MA", To: "MC", Date: d(2026, 6, 1), NAVFrom: fund.MustNAV("1"), NAVTo: fund.MustNAV("1")}); err == nil {
		t.Error("a second merger of MA was accepted")
	}

	// a redemption after the merger, through the ledger: 600.000 MB on Thursday 20-Aug-2026 at 33.0000,
	// FIFO by ledger date: F1's carried lots (both on 1-Jun-2026), the older acquisition first
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	now := moneytest.IST("2026-08-20T10:00:00+05:30")
	led := &ledger.Service{Store: ledgerpg.New(app), Calendar: cal, Audit: true, Now: func() time.Time { return now }}
	units := fund.MustUnits("600.000", 3).Decimal()
	req := fund.OrderRequest{ID: "R-1", Kind: fund.ReqRedemption, InvestorID: "I1", Folio: "F1", SchemeCode: "MB", Units: &units, Currency: "INR", PlacedAt: now.Add(-time.Minute)}
	if p, err := led.Place(ctx, fund.OrderIntake{Req: req, Source: "test", ReceivedAt: req.PlacedAt, At: req.PlacedAt}); err != nil || p.Outcome != ledger.OutcomeAccepted {
		t.Fatalf("redemption: %+v %v", p, err)
	}
	if _, err := led.AllotPending(ctx, 10); err != nil {
		t.Fatal(err)
	}
	// Gains, FY 2026-27, by hand:
	//   500.000 of the lot bought 2017-06-01: sale 500 × 33 = 16500.00; cost 6000.00; FMV 500 × 15 = 7500.00;
	//     grandfathered cost max(6000.00, min(7500.00, 16500.00)) = 7500.00 (fmv); gain 9000.00, long-term, 112A
	//   100.000 of the lot bought 2023-05-02: sale 3300.00; cost 20001.00 − round(20001 × 733.333/833.333 = 17600.879…, 2)
	//     = 20001.00 − 17600.88 = 2400.12 (as 60 units of MA would have cost: 20001 × 60/500); gain 899.88, long-term
	//     (held from 2023: more than 12 months; the merger date would have made it short-term)
	//   MB's own NAV of 31-Jan-2018 (11.0000) must not be the FMV of units carried into it
	st, err := tax.NewAPI(&pgstore.Store{Pool: app}, cal).Statement(ctx, "I1", ftax.FY{Start: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Schemes) != 1 || len(st.Schemes[0].Lots) != 2 || len(st.Problems) != 0 {
		t.Fatalf("statement %+v", st)
	}
	for i, w := range []struct{ bought, units, costUsed, grand, sale, gain, term, section string }{
		{"2017-06-01", "500.000", "7500.00", "fmv", "16500.00", "9000.00", "long", "112A"},
		{"2023-05-02", "100.000", "2400.12", "", "3300.00", "899.88", "long", "112A"},
	} {
		l := st.Schemes[0].Lots[i]
		if l.Bought.String() != w.bought || l.Units.String() != w.units || l.CostUsed.String() != w.costUsed || l.Grandfathered != w.grand ||
			l.SaleValue.String() != w.sale || l.Gain.String() != w.gain || string(l.Term) != w.term || l.RateSection != w.section {
			t.Errorf("lot %d: %+v, want %+v", i, l.LotGain, w)
		}
	}
	// (CheckService's outbox rule does not hold for ledgerfix's rows; the merger's legs were counted above)
	if err := ledgergen.Check(ctx, owner); err != nil {
		t.Errorf("after the redemption: %v", err)
	}
}
