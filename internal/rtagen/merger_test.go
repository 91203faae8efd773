package rtagen_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/rtagen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/recon/pgstore"
	"github.com/fundflow/fundflow/tax"
	taxpg "github.com/fundflow/fundflow/tax/pgstore"
)

// TestLedgerWithMergerReconcilesClean: a generated ledger whose most held
// scheme merges into the next on the as-of date. The RTA's feeds (gen rta
// from the ledger) carry the merger's legs as a transfer out and in; folio
// recon finds no break (the merged scheme's balance is zero on both
// sides), and the ledger's invariants hold.
func TestLedgerWithMergerReconcilesClean(t *testing.T) {
	pool := ledger(t, folios(t, 600))
	ctx := testkit.Ctx(t)
	rows, err := pool.Query(ctx, `SELECT scheme_code FROM holding_lots WHERE units_remaining > 0 GROUP BY 1 ORDER BY count(DISTINCT folio_no) DESC, 1 LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	var schemes []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		schemes = append(schemes, s)
	}
	if err := rows.Err(); err != nil || len(schemes) != 2 {
		t.Fatalf("schemes %v %v", schemes, err)
	}
	var on time.Time
	var nf, nt decimal.Decimal
	if err := pool.QueryRow(ctx, `SELECT a.nav_date, round(a.nav, 4), round(b.nav, 4) FROM navs a JOIN navs b ON b.nav_date = a.nav_date AND b.scheme_code = $2
		WHERE a.scheme_code = $1 AND a.nav_date <= $3 ORDER BY a.nav_date DESC LIMIT 1`, schemes[0], schemes[1], asOf.Time()).Scan(&on, &nf, &nt); err != nil {
		t.Fatal(err)
	}
	svc := &tax.Mergers{Store: &taxpg.Store{Pool: pool}}
	m, _, err := svc.Declare(ctx, tax.MergerDecl{From: schemes[0], To: schemes[1], Date: fund.DateOf(on),
		NAVFrom: fund.MustNAV(nf.StringFixed(4)), NAVTo: fund.MustNAV(nt.StringFixed(4)), Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Run(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Merged == 0 || res.Merged != res.Folios {
		t.Fatalf("merged %+v", res)
	}
	if err := ledgergen.Check(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM holding_lots WHERE scheme_code = $1 AND units_remaining > 0`, schemes[0]).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d open lots of %s after its merger %v", left, schemes[0], err)
	}

	gen, err := rtagen.Generate(ctx, pool, rtagen.Options{AsOf: asOf, Out: t.TempDir(), Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	staged := load(t, pool, gen.Files)
	r, err := pgstore.New(pool).Reconcile(ctx, recon.Options{Date: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if got := found(t, pool); len(got) != 0 || r.Breaks != 0 {
		var s []string
		for _, e := range got {
			s = append(s, key(e))
		}
		t.Fatalf("%d breaks from clean feeds after a merger: %v", len(got), head(s))
	}
	if int64(staged) != r.RTAHoldings+r.RTATransactions || r.RTATransactions != r.LedgerTransactions {
		t.Errorf("staged %d rows, compared %+v", staged, r)
	}
	t.Logf("merged %d folios of %s into %s on %s; compared %d holdings, %d transactions", res.Merged, m.From, m.To, m.Date, r.RTAHoldings, r.RTATransactions)
}
