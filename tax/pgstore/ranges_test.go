package pgstore_test

import (
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/tax"
	"github.com/fundflow/fundflow/tax/pgstore"
)

// A run over every investor by small ranges read side by side gives, per
// investor and in investor order, what the ledger's rows say when counted
// straight from lot_consumptions (lots sold, units, exit load in the
// year), and the same statements as one range holding everyone.
func TestEachByRangesMatchesTheLedger(t *testing.T) {
	t.Parallel()
	ctx := testkit.Ctx(t)
	owner, _, app, _ := testkit.PGApp(t)
	if _, err := ledgergen.Generate(ctx, owner, ledgergen.Options{Folios: 300, End: fund.NewDate(2026, 3, 31), Days: 1100, Seed: 5,
		Log: testkit.Logger(t), LotsOnly: true}); err != nil {
		t.Fatal(err)
	}
	type count struct {
		lots        int
		units, load decimal.Decimal
	}
	// counted from the rows, by an independent route
	want := map[string]count{}
	var order []string
	rows, err := owner.Query(ctx, `SELECT f.investor_id, count(*), sum(c.units), sum(c.exit_load)
		FROM lot_consumptions c JOIN ledger_transactions t ON t.id = c.ledger_tx_id JOIN folios f ON f.folio_no = t.folio_no
		WHERE t.kind IN ('redemption', 'switch_out') AND t.nav_date BETWEEN '2025-04-01' AND '2026-03-31'
		GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var c count
		if err := rows.Scan(&id, &c.lots, &c.units, &c.load); err != nil {
			t.Fatal(err)
		}
		want[id] = c
		order = append(order, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(order) < 50 {
		t.Fatalf("only %d investors sold in FY 2025-26: the test needs more", len(order))
	}

	run := func(workers, size int) ([]string, map[string]*tax.Statement) {
		svc := &tax.Service{Store: &pgstore.Store{Pool: app, Workers: workers, RangeSize: size}}
		var ids []string
		got := map[string]*tax.Statement{}
		if err := svc.Each(ctx, "", ftax.FY{Start: 2025}, func(s *tax.Statement) error {
			ids = append(ids, s.InvestorID)
			got[s.InvestorID] = s
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return ids, got
	}
	ids, got := run(2, 7) // 150 investors: 22 ranges, the last short
	if len(ids) != len(order) {
		t.Fatalf("%d statements, want %d", len(ids), len(order))
	}
	for i, id := range ids {
		if id != order[i] {
			t.Fatalf("statement %d is %s, want %s (investor order)", i, id, order[i])
		}
		st := got[id]
		var c count
		for _, sg := range st.Schemes {
			for _, l := range sg.Lots {
				c.lots++
				c.units = c.units.Add(l.Units.Decimal())
				c.load = c.load.Add(l.ExitLoad.Decimal())
			}
		}
		w := want[id]
		if len(st.Problems) > 0 || c.lots != w.lots || !c.units.Equal(w.units) || !c.load.Equal(w.load) {
			t.Errorf("%s: %d lots, %s units, load %s, problems %q; the ledger says %d lots, %s units, load %s",
				id, c.lots, c.units, c.load, st.Problems, w.lots, w.units, w.load)
		}
	}
	_, one := run(1, 1_000_000)
	for _, id := range ids {
		if !reflect.DeepEqual(one[id], got[id]) {
			t.Errorf("%s: one range and many differ", id)
		}
	}
}
