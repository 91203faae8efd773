package pgstore_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/tax"
	"github.com/fundflow/fundflow/tax/pgstore"
)

func d(y int, m time.Month, day int) fund.Date { return fund.NewDate(y, m, day) }

// Spec is the ledger the tests read (written through ledgerfix: units by
// fund.Allot, FIFO lots). By hand:
//
//	INV-A, folio FA-1:
//	 tx1 purchase EQ 2017-06-01 NAV 100  10000.00 (no stamp duty before 1-Jul-2020) → 100.000 units (lot 1)
//	 tx2 redemption EQ 2023-05-02 NAV 170  40.000 units (FY 2023-24) from lot 1
//	 tx3 purchase EQ 2024-01-10 NAV 100  1000.05: duty 1000.05 × 0.005/100.005 = 0.05 → 1000.00 → 10.000 units (lot 3)
//	 tx4 purchase DB 2023-04-10 NAV 10  10000.50: duty 0.50 → 10000.00 → 1000.000 units (lot 4)
//	 tx5 redemption EQ 2024-12-02 NAV 180  65.000 units: 60 from lot 1, 5 from lot 3 (exit load 9.00 set on lot 3's part)
//	 tx6 redemption DB 2025-03-10 NAV 11  1000.000 units (made a switch-out)
//	INV-B, folio FB-1:
//	 tx7 purchase EQ 2023-01-10 NAV 100  5000.25: duty 0.25 → 5000.00 → 50.000 units
//	 tx8 redemption EQ 2024-07-23 NAV 130  50.000 units
//
// EQ's NAV on 31-Jan-2018 is missing: the last before it, 30-Jan-2018's
// 150.0000, is the FMV (1-Feb-2018's 999 must not be used).
func Spec() ledgerfix.Spec {
	return ledgerfix.Spec{
		Investors: []ledgerfix.Investor{{ID: "INV-A", Name: "A", Folios: []string{"FA-1"}}, {ID: "INV-B", Name: "B", Folios: []string{"FB-1"}}},
		Schemes: []ledgerfix.Scheme{
			{Code: "EQ", Name: "Gamma Large Cap Fund - Direct Plan - Growth", AMC: "Gamma MF", Category: "Equity Scheme - Large Cap Fund",
				NAVs: map[fund.Date]string{d(2017, 6, 1): "100.0000", d(2018, 1, 30): "150.0000", d(2018, 2, 1): "999.0000",
					d(2023, 5, 2): "170.0000", d(2024, 1, 10): "100.0000", d(2024, 12, 2): "180.0000", d(2023, 1, 10): "100.0000", d(2024, 7, 23): "130.0000"}},
			{Code: "DB", Name: "Delta Corporate Bond Fund - Direct Plan - Growth", AMC: "Delta MF", Category: "Debt Scheme - Corporate Bond Fund",
				NAVs: map[fund.Date]string{d(2023, 4, 10): "10.0000", d(2025, 3, 10): "11.0000"}},
		},
		Txs: []ledgerfix.Tx{
			{Folio: "FA-1", Scheme: "EQ", Kind: "purchase", Date: d(2017, 6, 1), Amount: "10000.00"},
			{Folio: "FA-1", Scheme: "EQ", Kind: "redemption", Date: d(2023, 5, 2), Units: "40.000"},
			{Folio: "FA-1", Scheme: "EQ", Kind: "purchase", Date: d(2024, 1, 10), Amount: "1000.05"},
			{Folio: "FA-1", Scheme: "DB", Kind: "purchase", Date: d(2023, 4, 10), Amount: "10000.50"},
			{Folio: "FA-1", Scheme: "EQ", Kind: "redemption", Date: d(2024, 12, 2), Units: "65.000"},
			{Folio: "FA-1", Scheme: "DB", Kind: "redemption", Date: d(2025, 3, 10), Units: "1000.000"},
			{Folio: "FB-1", Scheme: "EQ", Kind: "purchase", Date: d(2023, 1, 10), Amount: "5000.25"},
			{Folio: "FB-1", Scheme: "EQ", Kind: "redemption", Date: d(2024, 7, 23), Units: "50.000"},
		},
	}
}

// Load writes Spec, gives EQ an ISIN, puts an exit load of 9.00 on the part
// of tx5 that lot 3 paid, and makes tx6 a switch-out.
func Load(t testing.TB, ctx context.Context, pool *pgxpool.Pool) ledgerfix.Written {
	t.Helper()
	w, err := ledgerfix.Load(ctx, pool, Spec())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE schemes SET isin_growth = 'INF000EQ0001' WHERE code = 'EQ'`, nil},
		{`UPDATE lot_consumptions SET exit_load = 9.00, load_rate_pct = 1 WHERE ledger_tx_id = $1 AND lot_id = (SELECT id FROM holding_lots WHERE ledger_tx_id = $2)`, []any{w.TxIDs[4], w.TxIDs[2]}},
		{`UPDATE ledger_transactions SET exit_load = 9.00, net_amount = net_amount - 9.00 WHERE id = $1`, []any{w.TxIDs[4]}},
		{`UPDATE ledger_transactions SET kind = 'switch_out' WHERE id = $1`, []any{w.TxIDs[5]}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

type line struct {
	scheme, kind, units, costActual, costUsed, sale, load, gain, section, rate, gf string
	term                                                                           ftax.Term
}

func lines(st *tax.Statement) []line {
	var out []line
	for _, sg := range st.Schemes {
		for _, l := range sg.Lots {
			out = append(out, line{sg.Scheme, l.Kind, l.Units.String(), l.CostActual.String(), l.CostUsed.String(), l.SaleValue.String(),
				l.ExitLoad.String(), l.Gain.String(), l.RateSection, l.RatePct, l.Grandfathered, l.Term})
		}
	}
	return out
}

func TestCapitalGainsFromTheLedger(t *testing.T) {
	t.Parallel()
	ctx := testkit.Ctx(t)
	owner, _, app, _ := testkit.PGApp(t)
	Load(t, ctx, owner)
	svc := &tax.Service{Store: &pgstore.Store{Pool: app}} // the application's role reads

	st, err := svc.Statement(ctx, "INV-A", ftax.FY{Start: 2024})
	if err != nil {
		t.Fatal(err)
	}
	want := []line{ // schemes by code: DB, EQ
		// debt bought 10-Apr-2023 (≥ 1-Apr-2023): 50AA; 1000 × 11 = 11000.00 − 10000.50 = 999.50
		{"DB", "switch_out", "1000.000", "10000.50", "10000.50", "11000.00", "0.00", "999.50", "50AA", "", "", ftax.Short},
		// lot 1, 60 of its last 60 units: cost LotCost(10000, 100, 60) − LotCost(…, 0) = 6000.00;
		// FMV 60 × 150 = 9000.00; 60 × 180 = 10800.00; max(6000, min(9000, 10800)) = 9000; gain 1800.00
		{"EQ", "redemption", "60.000", "6000.00", "9000.00", "10800.00", "0.00", "1800.00", "112A", "12.5", "fmv", ftax.Long},
		// lot 3, 5 of 10: the ledger's cost taken off: 1000.05 − LotCost(1000.05, 10, 5) = 1000.05 − 500.03
		// (500.025 half up) = 500.02; 5 × 180 = 900.00 − load 9.00 = 891.00; gain 390.98; < 12 months
		{"EQ", "redemption", "5.000", "500.02", "500.02", "891.00", "9.00", "390.98", "111A", "20", "", ftax.Short},
	}
	got := lines(st)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// 10800 + 891 + 11000 = 22691.00; 9000 + 500.02 + 10000.50 = 19500.52; gain 3190.48;
	// 112A 1800.00 is under the FY 2024-25 exemption of 1,25,000: nothing taxable
	if st.Totals.SaleValue.String() != "22691.00" || st.Totals.CostUsed.String() != "19500.52" || st.Totals.Gain.String() != "3190.48" ||
		st.LTCGExemption.String() != "125000.00" || !st.Taxable112A.IsZero() {
		t.Errorf("totals %+v exemption %s taxable %s", st.Totals, st.LTCGExemption, st.Taxable112A)
	}
	if sg := st.Schemes[1]; sg.ISIN != "INF000EQ0001" || sg.SchemeType != ftax.Equity || sg.FMVDate == nil || *sg.FMVDate != d(2018, 1, 30) {
		t.Errorf("scheme EQ: %+v", sg)
	}

	// The year before: lot 1's first 40 units: cost 10000 − 6000 = 4000.00; FMV 40 × 150 = 6000;
	// 40 × 170 = 6800; cost 6000; gain 800.00 at 10 % (before 23-Jul-2024); exemption 1,00,000
	st, err = svc.Statement(ctx, "INV-A", ftax.FY{Start: 2023})
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(st); len(got) != 1 || got[0] != (line{"EQ", "redemption", "40.000", "4000.00", "6000.00", "6800.00", "0.00", "800.00", "112A", "10", "fmv", ftax.Long}) ||
		st.LTCGExemption.String() != "100000.00" {
		t.Errorf("FY 2023-24: %+v, exemption %s", got, st.LTCGExemption)
	}

	// Nothing in FY 2025-26: an empty statement, not an error
	st, err = svc.Statement(ctx, "INV-A", ftax.FY{Start: 2025})
	if err != nil || len(st.Schemes) != 0 || !st.Totals.Gain.IsZero() {
		t.Errorf("FY 2025-26: %+v %v", st, err)
	}

	// Without the NAVs of January 2018 the grandfathered lot cannot be
	// computed: it is named as a problem and the rest of the statement stands
	if _, err := owner.Exec(ctx, `DELETE FROM navs WHERE scheme_code = 'EQ' AND nav_date < '2018-02-01'`); err != nil {
		t.Fatal(err)
	}
	st, err = svc.Statement(ctx, "INV-A", ftax.FY{Start: 2024})
	if err != nil || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "no NAV of EQ on or before 2018-01-31") || len(lines(st)) != 2 ||
		st.Totals.Gain.String() != "1390.48" { // 390.98 + 999.50
		t.Errorf("a lot without its FMV: %+v %v", st, err)
	}

	if _, err := svc.Statement(ctx, "NOBODY", ftax.FY{Start: 2024}); !errors.Is(err, tax.ErrUnknownInvestor) {
		t.Errorf("unknown investor: %v", err)
	}

	// Every investor, one at a time: INV-A then INV-B (50 × 130 = 6500 − 5000.25 = 1499.75, long at 12.5 %)
	var ids []string
	var b *tax.Statement
	if err := svc.Each(ctx, "", ftax.FY{Start: 2024}, func(s *tax.Statement) error {
		ids = append(ids, s.InvestorID)
		if s.InvestorID == "INV-B" {
			b = s
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "INV-A,INV-B" || b == nil {
		t.Fatalf("investors %v", ids)
	}
	// the same, one investor per range read two at a time: the ranges'
	// rows come back in investor order
	par := &tax.Service{Store: &pgstore.Store{Pool: app, Workers: 2, RangeSize: 1}}
	var pids []string
	if err := par.Each(ctx, "", ftax.FY{Start: 2024}, func(s *tax.Statement) error {
		pids = append(pids, s.InvestorID)
		if s.InvestorID == "INV-B" && !reflect.DeepEqual(s, b) {
			t.Errorf("INV-B by ranges: %+v, want %+v", s, b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(pids, ",") != "INV-A,INV-B" {
		t.Fatalf("investors by ranges %v", pids)
	}
	if got := lines(b); len(got) != 1 || got[0] != (line{"EQ", "redemption", "50.000", "5000.25", "5000.25", "6500.00", "0.00", "1499.75", "112A", "12.5", "", ftax.Long}) {
		t.Errorf("INV-B: %+v", got)
	}
}

// The CSV has a row per lot; Schedule 112A has the equity long-term rows in
// the form's columns, computed by the form's arithmetic.
func TestExports(t *testing.T) {
	t.Parallel()
	ctx := testkit.Ctx(t)
	owner, _ := testkit.PG(t)
	Load(t, ctx, owner)
	svc := &tax.Service{Store: &pgstore.Store{Pool: owner}}
	st, err := svc.Statement(ctx, "INV-A", ftax.FY{Start: 2024})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tax.WriteCSV(&buf, st, true); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || len(rows[0]) != len(tax.CSVHeader) || rows[1][8] != "switch_out" || rows[1][len(rows[1])-1] != "999.50" {
		t.Errorf("CSV: %q", rows)
	}
	buf.Reset()
	if err := tax.WriteSchedule112A(&buf, st, true); err != nil {
		t.Fatal(err)
	}
	rows, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// the one 112A row (lot 1): 4 = 60.000, 5 = 180.0000, 6 = 10800.00, 8 = 6000.00, 10 = 150.0000,
	// 11 = 60 × 150 = 9000.00, 9 = lower of 6 and 11 = 9000.00, 7 = higher of 8 and 9 = 9000.00,
	// 12 = 0.00, 13 = 9000.00, 14 = 10800 − 9000 = 1800.00
	want := []string{tax.AcquiredOnOrBefore, "INF000EQ0001", "Gamma Large Cap Fund - Direct Plan - Growth", "60.000", "180.0000",
		"10800.00", "9000.00", "6000.00", "9000.00", "150.0000", "9000.00", "0.00", "9000.00", "1800.00", "2024-12-02"}
	if len(rows) != 2 || strings.Join(rows[0], "|") != strings.Join(tax.Schedule112AHeader, "|") || strings.Join(rows[1], "|") != strings.Join(want, "|") {
		t.Errorf("Schedule 112A:\n%q\nwant row %q", rows, want)
	}
}
