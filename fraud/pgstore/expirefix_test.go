package pgstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// applyAll applies evs batch by batch (each batch a slice of evs) and
// returns the alert ids raised, sorted; want are those of EvalAll over a
// plain map (every window kept), the same events in the same order.
func applyAll(t *testing.T, st *pgstore.Store, rs *fraud.RuleSet, batches [][]pgstore.Positioned) (got, want []string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	ref := map[string]fraud.State{}
	for _, b := range batches {
		for _, p := range b {
			changed, fs := rs.EvalAll(ref, p.Event)
			for k, s := range changed {
				if len(s.Entries) == 0 {
					delete(ref, k)
				} else {
					ref[k] = s
				}
			}
			for _, f := range fs {
				want = append(want, f.AlertID())
			}
		}
		res, err := st.Apply(ctx, rs, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Raised {
			got = append(got, f.AlertID())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	return got, want
}

// orderOn is an orders.status event on partition part at offset off.
func orderOn(part int, off int64, id, inv, folio, kind string, at time.Time, amount, holdings string) pgstore.Positioned {
	return pgstore.Positioned{Stream: "orders.status", Part: part, Off: off, Event: fraud.Event{ID: id, Lineage: fmt.Sprintf("orders.status/%d/%s", part, id),
		Kind: fraud.EventOrder, OrderKind: kind, OrderID: "O" + id, InvestorID: inv, FolioNo: folio, At: at,
		Amount: fund.MustAmount(amount), Holdings: fund.MustAmount(holdings)}}
}

// orders.status is keyed by folio: an investor's two folios are on two
// partitions. X buys 200,000 in F1 (partition 0) at T0; partition 0 reads
// on to T0+6d while partition 1 lags 5 days behind; then partition 1
// delivers X's redemption of 190,000 from F2 dated T0+1d. The per-investor
// round trip must fire as it does with every window kept: the window
// created on partition 0 may not be dropped against partition 0's clock.
// The old code dropped it (partition 0's newest less a day is past the
// window's 3 days) and raised nothing.
func TestExpiryWaitsForTheSlowestPartitionOfAnInvestorsFolios(t *testing.T) {
	pool, _ := testkit.PG(t)
	rs := fraud.Shipped()
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	var p0, p1 []pgstore.Positioned
	var o0, o1 int64
	on0 := func(id, inv, kind string, at time.Time, amount, holdings string) {
		p0 = append(p0, orderOn(0, o0, id, inv, "F"+inv, kind, at, amount, holdings))
		o0++
	}
	// partition 1 has been read to T0-1d: another investor's purchase
	p1 = append(p1, orderOn(1, o1, "y1", "Y", "FY", "purchase", t0.Add(-24*time.Hour), "1000", "50000"))
	o1++
	on0("x1", "X", "purchase", t0, "200000", "200000")
	// partition 0 moves on to T0+6d, other investors' SIP purchases
	for h := 6; h <= 6*24; h += 6 {
		on0(fmt.Sprintf("s%d", h), fmt.Sprintf("S%d", h), "purchase", t0.Add(time.Duration(h)*time.Hour), "1000", "50000")
	}
	// partition 1, 5 days behind, delivers X's redemption from F2
	red := orderOn(1, o1, "x2", "X", "F2", "redemption", t0.Add(24*time.Hour), "190000", "200000")
	batches := [][]pgstore.Positioned{p1[:1], p0[:1]}
	for _, p := range p0[1:] {
		batches = append(batches, []pgstore.Positioned{p})
	}
	batches = append(batches, []pgstore.Positioned{red})

	got, want := applyAll(t, &pgstore.Store{Pool: pool}, rs, batches)
	// counted from the input: X's redemption is 95% of the 3 days'
	// purchases, which are all of the holdings
	if !slices.Equal(want, []string{"round-trip:x2"}) {
		t.Fatalf("with every window kept the rules raised %v, want [round-trip:x2]", want)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("with expiry %v, with every window kept %v", got, want)
	}
}
