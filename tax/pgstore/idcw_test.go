package pgstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/tax"
	"github.com/fundflow/fundflow/tax/pgstore"
)

// idcwSpec: Epsilon MF's payout scheme IDP and reinvestment scheme IDR.
//
//	R1 (resident), RF-1: buys IDP 2024-04-01 100000.00 at 10.0000: duty 5.00 → 99995.00 → 9999.500 units;
//	   redeems 4999.500 on 2024-09-16 (after D2's record date: D2 still counts 9999.500)
//	N1 (UAE, 196A), NF-1: buys IDP 2024-06-17 (after D1's record date) 10000.00 at 10.5000: duty 0.50 → 952.333 units
//	R2 (resident), RF-2a and RF-2b: buy IDR 2025-04-01 50000.00 and 40000.00 at 20.0000:
//	   duty 2.50 → 2499.875 units; duty 2.00 → 1999.900 units
func idcwSpec() ledgerfix.Spec {
	return ledgerfix.Spec{
		Investors: []ledgerfix.Investor{
			{ID: "R1", Name: "R", TaxCountry: "IN", Folios: []string{"RF-1"}},
			{ID: "N1", Name: "N", TaxCountry: "AE", Folios: []string{"NF-1"}},
			{ID: "R2", Name: "S", TaxCountry: "IN", Folios: []string{"RF-2a", "RF-2b"}},
		},
		Schemes: []ledgerfix.Scheme{
			{Code: "IDP", Name: "Epsilon Large Cap Fund - Regular Plan - IDCW Payout", AMC: "Epsilon MF", Category: "Equity Scheme - Large Cap Fund",
				NAVs: map[fund.Date]string{d(2024, 4, 1): "10.0000", d(2024, 6, 14): "10.4000", d(2024, 6, 17): "10.5000", d(2024, 9, 13): "10.8000", d(2024, 9, 16): "10.6000"}},
			{Code: "IDR", Name: "Epsilon Large Cap Fund - Regular Plan - IDCW Reinvestment", AMC: "Epsilon MF", Category: "Equity Scheme - Large Cap Fund",
				NAVs: map[fund.Date]string{d(2025, 4, 1): "20.0000", d(2025, 8, 14): "24.5000", d(2025, 8, 18): "22.0000"}},
		},
		Txs: []ledgerfix.Tx{
			{Folio: "RF-1", Scheme: "IDP", Kind: "purchase", Date: d(2024, 4, 1), Amount: "100000.00"},
			{Folio: "NF-1", Scheme: "IDP", Kind: "purchase", Date: d(2024, 6, 17), Amount: "10000.00"},
			{Folio: "RF-1", Scheme: "IDP", Kind: "redemption", Date: d(2024, 9, 16), Units: "4999.500"},
			{Folio: "RF-2a", Scheme: "IDR", Kind: "purchase", Date: d(2025, 4, 1), Amount: "50000.00"},
			{Folio: "RF-2b", Scheme: "IDR", Kind: "purchase", Date: d(2025, 4, 1), Amount: "40000.00"},
		},
	}
}

type creditRow struct {
	folio, units, gross, section, tds, net, option, kind, txUnits, duty string
}

func credits(t *testing.T, ctx context.Context, pool *pgxpool.Pool, decl string) []creditRow {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT c.folio_no, c.units::text, c.gross::text, c.tds_section, c.tds::text, c.net::text, c.option,
		t.kind, t.units::text, t.stamp_duty::text
		FROM idcw_credits c JOIN ledger_transactions t ON t.id = c.ledger_tx_id WHERE c.declaration_id = $1 ORDER BY c.folio_no`, decl)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []creditRow
	for rows.Next() {
		var c creditRow
		if err := rows.Scan(&c.folio, &c.units, &c.gross, &c.section, &c.tds, &c.net, &c.option, &c.kind, &c.txUnits, &c.duty); err != nil {
			t.Fatal(err)
		}
		for _, p := range []*string{&c.units, &c.txUnits} { // numeric(24,9) as text: drop the scale's zeros
			*p = decimal.RequireFromString(*p).StringFixed(3)
		}
		out = append(out, c)
	}
	return out
}

func TestIDCWPayoutReinvestAndTDS(t *testing.T) {
	t.Parallel()
	ctx := testkit.Ctx(t)
	owner, _, app, _ := testkit.PGApp(t)
	if _, err := ledgerfix.Load(ctx, owner, idcwSpec()); err != nil {
		t.Fatal(err)
	}
	// ledgerfix leaves a redeemed lot's cost as paid: bring it to the
	// ledger's rule (fund.LotCost, as migration 008 does) so the ledger's
	// invariants can be checked at the end
	if _, err := owner.Exec(ctx, `UPDATE holding_lots l SET cost = round(t.amount * l.units_remaining / l.units, 2)
		FROM ledger_transactions t WHERE t.id = l.ledger_tx_id AND l.units_remaining < l.units`); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `UPDATE holdings h SET invested = (SELECT coalesce(sum(cost), 0) FROM holding_lots l
		WHERE l.folio_no = h.folio_no AND l.scheme_code = h.scheme_code AND l.units_remaining > 0)`); err != nil {
		t.Fatal(err)
	}
	if err := ledgergen.Check(ctx, owner); err != nil {
		t.Fatalf("the fixture: %v", err)
	}
	store := &pgstore.Store{Pool: app}
	svc := &tax.IDCW{Store: store}
	cal := fund.HolidayCalendar(d(2024, 8, 15), d(2025, 8, 15), d(2025, 8, 27)) // Independence Day: 15-Aug-2025 is a Friday
	declare := func(scheme string, rec, ex fund.Date, perUnit string, opt tax.Option) tax.Declared {
		dd, created, err := svc.Declare(ctx, ftax.Declaration{Scheme: scheme, RecordDate: rec, ExDate: ex, PerUnit: decimal.RequireFromString(perUnit)}, opt, "test", cal)
		if err != nil || !created {
			t.Fatalf("declare %s %s: %v %v", scheme, rec, created, err)
		}
		return dd
	}
	run := func(id string) tax.RunResult {
		res, err := svc.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// D1: IDP, record 14-Jun-2024, ₹0.30: only R1 holds (N1 bought on the 17th):
	// 9999.500 × 0.30 = 2999.85, the FY's first: ≤ 5,000, no TDS
	d1 := declare("IDP", d(2024, 6, 14), d(2024, 6, 14), "0.30", tax.Payout)
	if res := run(d1.ID); res.Holders != 1 || res.Credited != 1 {
		t.Fatalf("D1: %+v", res)
	}
	// D2: IDP, record 13-Sep-2024, ₹0.25: R1 9999.500 × 0.25 = 2499.875 → 2499.88; with D1's 2999.85 the FY's
	// 5499.73 > 5,000: 10 % × 2499.88 = 249.988 → 249.99, net 2249.89 (the redemption of the 16th is after the record date);
	// N1 952.333 × 0.25 = 238.08325 → 238.08; 196A 20.8 % = 49.52064 → 49.52, net 188.56
	d2 := declare("IDP", d(2024, 9, 13), d(2024, 9, 13), "0.25", tax.Payout)
	if res := run(d2.ID); res.Holders != 2 || res.Credited != 2 {
		t.Fatalf("D2: %+v", res)
	}
	// D3: IDR, record 14-Aug-2025, ex-date 15-Aug-2025 (a holiday): reinvested at Monday 18-Aug's 22.0000, ₹2.50:
	// RF-2a 2499.875 × 2.5 = 6249.6875 → 6249.69, the FY's first: ≤ 10,000, no TDS; duty 6249.69 × 0.005/100.005 =
	//   0.3124… → 0.31; 6249.38 / 22 = 284.0627… → 284.062 units
	// RF-2b 1999.900 × 2.5 = 4999.75; R2's FY from the AMC 6249.69 + 4999.75 = 11249.44 > 10,000: 10 % = 499.975
	//   → 499.98, net 4499.77; duty 0.224… → 0.22; 4499.55 / 22 = 204.525 units
	d3 := declare("IDR", d(2025, 8, 14), d(2025, 8, 15), "2.50", tax.Reinvest)
	if d3.NAVDate != d(2025, 8, 18) {
		t.Fatalf("D3's NAV date %s", d3.NAVDate)
	}
	if res := run(d3.ID); res.Holders != 2 || res.Credited != 2 {
		t.Fatalf("D3: %+v", res)
	}
	for _, c := range []struct {
		decl string
		want []creditRow
	}{
		{d1.ID, []creditRow{{"RF-1", "9999.500", "2999.85", "194K", "0.00", "2999.85", "payout", "idcw_payout", "0.000", "0.00"}}},
		{d2.ID, []creditRow{
			{"NF-1", "952.333", "238.08", "196A", "49.52", "188.56", "payout", "idcw_payout", "0.000", "0.00"},
			{"RF-1", "9999.500", "2499.88", "194K", "249.99", "2249.89", "payout", "idcw_payout", "0.000", "0.00"},
		}},
		{d3.ID, []creditRow{
			{"RF-2a", "2499.875", "6249.69", "194K", "0.00", "6249.69", "reinvest", "idcw_reinvest", "284.062", "0.31"},
			{"RF-2b", "1999.900", "4999.75", "194K", "499.98", "4499.77", "reinvest", "idcw_reinvest", "204.525", "0.22"},
		}},
	} {
		got := credits(t, ctx, owner, c.decl)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %+v", c.decl, got)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s %d:\n got %+v\nwant %+v", c.decl, i, got[i], c.want[i])
			}
		}
	}
	// the reinvestment arithmetic against moneytest's big.Rat route
	for _, c := range []struct{ net, duty, units string }{{"6249.69", "0.31", "284.062"}, {"4499.77", "0.22", "204.525"}} {
		if duty, units := moneytest.ExpectPurchase(c.net, "22.0000", 3); duty != c.duty || units != c.units {
			t.Errorf("route: %s → %s %s", c.net, duty, units)
		}
	}

	// exactly once: running again writes nothing
	if res := run(d2.ID); res.Credited != 0 || res.Already != 2 {
		t.Errorf("D2 again: %+v", res)
	}
	// a declaration sent again is the same; a different one under the same scheme and date is refused
	if _, created, err := svc.Declare(ctx, d2.Declaration, tax.Payout, "test", cal); err != nil || created {
		t.Errorf("D2 declared again: %v %v", created, err)
	}
	if _, _, err := svc.Declare(ctx, ftax.Declaration{ID: "other", Scheme: "IDP", RecordDate: d(2024, 9, 13), ExDate: d(2024, 9, 13), PerUnit: decimal.RequireFromString("1")}, tax.Payout, "test", cal); err == nil {
		t.Error("a second declaration for IDP on 13-Sep-2024 was accepted")
	}

	// the new lots and holdings: RF-2a 2499.875 + 284.062 = 2783.937, the lot's cost the net reinvested 6249.69
	var units, cost string
	if err := owner.QueryRow(ctx, `SELECT h.units::numeric(24,3)::text, l.cost::text FROM holdings h JOIN holding_lots l ON l.folio_no = h.folio_no
		AND l.scheme_code = h.scheme_code AND l.nav_date = '2025-08-18' WHERE h.folio_no = 'RF-2a' AND h.scheme_code = 'IDR'`).Scan(&units, &cost); err != nil || units != "2783.937" || cost != "6249.69" {
		t.Errorf("RF-2a: %s %s %v", units, cost, err)
	}
	// events: idcw.paid for D1 and D2's three credits, idcw.reinvested for D3's two, and transactions.completed
	// for all five (every credit is a completed ledger transaction, in the same tx as its rows)
	var paid, reinvested, completed int
	if err := owner.QueryRow(ctx, `SELECT count(*) FILTER (WHERE topic = 'idcw.paid'), count(*) FILTER (WHERE topic = 'idcw.reinvested'),
		count(*) FILTER (WHERE topic = 'transactions.completed' AND event_id LIKE 'transactions.completed:IDCW-%') FROM outbox`).Scan(&paid, &reinvested, &completed); err != nil ||
		paid != 3 || reinvested != 2 || completed != 5 {
		t.Errorf("events: paid %d reinvested %d completed %d %v", paid, reinvested, completed, err)
	}
	// the completed events carry the contract's fields as the credits above say: N1's D2 payout moves no units,
	// amount the gross 238.08, net 188.56 after the 49.52 TDS, at the last NAV on or before the ex-date 13-Sep-2024
	// (10.8000); RF-2b's reinvestment 204.525 units at 22.0000, amount the net 4499.77, duty 0.22, invested 4499.55
	for _, c := range []struct {
		event string
		want  fund.TransactionCompleted
	}{
		{"transactions.completed:IDCW-" + d2.ID + "-NF-1", fund.TransactionCompleted{Kind: "idcw_payout", Folio: "NF-1", InvestorID: "N1", SchemeCode: "IDP",
			NAVDate: "2024-09-13", NAV: "10.8000", Units: "0", Amount: "238.08", StampDuty: "0.00", ExitLoad: "0.00", NetAmount: "188.56"}},
		{"transactions.completed:IDCW-" + d3.ID + "-RF-2b", fund.TransactionCompleted{Kind: "idcw_reinvest", Folio: "RF-2b", InvestorID: "R2", SchemeCode: "IDR",
			NAVDate: "2025-08-18", NAV: "22.0000", Units: "204.525", Amount: "4499.77", StampDuty: "0.22", ExitLoad: "0.00", NetAmount: "4499.55"}},
	} {
		var body []byte
		var txID int64
		if err := owner.QueryRow(ctx, `SELECT o.payload::text, c.ledger_tx_id FROM outbox o JOIN idcw_credits c ON 'transactions.completed:IDCW-' || c.declaration_id || '-' || c.folio_no = o.event_id
			WHERE o.event_id = $1`, c.event).Scan(&body, &txID); err != nil {
			t.Fatalf("%s: %v", c.event, err)
		}
		var got fund.TransactionCompleted
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.TxID != txID || got.EventID != c.event || got.PlacedAt == "" {
			t.Errorf("%s: %+v", c.event, got)
		}
		got.EventID, got.TxID, got.OrderID, got.RequestID, got.PlacedAt, got.PostedAt = "", 0, "", "", "", ""
		if got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.event, got, c.want)
		}
	}
	// the ledger's invariants hold with the IDCW transactions in it
	if err := ledgergen.Check(ctx, owner); err != nil {
		t.Error(err)
	}

	// Form 16A data: R1 FY 2024-25: 2 credits, 2999.85 + 2499.88 = 5499.73, TDS 249.99; N1: 196A 238.08, 49.52;
	// R2 FY 2025-26: 6249.69 + 4999.75 = 11249.44, TDS 499.98
	for _, c := range []struct {
		inv           string
		fy            int
		section       string
		n             int
		gross, taxAmt string
	}{{"R1", 2024, "194K", 2, "5499.73", "249.99"}, {"N1", 2024, "196A", 1, "238.08", "49.52"}, {"R2", 2025, "194K", 2, "11249.44", "499.98"}} {
		s, err := svc.TDSSummary(ctx, c.inv, ftax.FY{Start: c.fy})
		if err != nil || len(s.Lines) != 1 || s.Lines[0].Section != c.section || s.Lines[0].Credits != c.n || s.Gross.String() != c.gross || s.Tax.String() != c.taxAmt || s.Lines[0].AMC != "Epsilon MF" {
			t.Errorf("%s FY %d: %+v %v", c.inv, c.fy, s, err)
		}
	}
}

// A reinvestment waits for its NAV: no credit is written before it lands.
func TestIDCWReinvestWaitsForTheExNAV(t *testing.T) {
	t.Parallel()
	ctx := testkit.Ctx(t)
	owner, _ := testkit.PG(t)
	if _, err := ledgerfix.Load(ctx, owner, idcwSpec()); err != nil {
		t.Fatal(err)
	}
	svc := &tax.IDCW{Store: &pgstore.Store{Pool: owner}}
	dd, _, err := svc.Declare(ctx, ftax.Declaration{Scheme: "IDR", RecordDate: d(2025, 8, 14), ExDate: d(2025, 8, 19), PerUnit: decimal.RequireFromString("1")},
		tax.Reinvest, "test", fund.HolidayCalendar(d(2025, 8, 15)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Run(ctx, dd.ID); err == nil {
		t.Fatal("ran without the NAV of 19-Aug-2025")
	}
	var n int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM idcw_credits`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d credits %v", n, err)
	}
}
