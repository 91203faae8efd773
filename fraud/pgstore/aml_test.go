package pgstore_test

import (
	"context"
	"os"
	"testing"

	"github.com/fundflow/fundflow/fraud/aml"
	"github.com/fundflow/fundflow/fraud/pgstore"
	"github.com/fundflow/fundflow/internal/testkit"
)

// A listed name's variant is restricted and alerted once; an ordinary
// name is not; a re-screen raises nothing new and restricts again
// (idempotently).
func TestScreenInvestors(t *testing.T) {
	pool, _ := testkit.PG(t)
	ctx := testkit.Ctx(t)
	for id, name := range map[string]string{"I1": "Muhammad Reza Zahidi", "I2": "Priya Sharma", "I3": "Kassem Sulaymani", "I4": ""} {
		if _, err := pool.Exec(ctx, `INSERT INTO investors (id, name) VALUES ($1, $2)`, id, name); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open("../aml/testdata/un_consolidated_extract.xml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := aml.ParseUNList(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	sc := aml.NewScreener(l, aml.DefaultThreshold)
	restricted := map[string]int{}
	restrict := func(_ context.Context, id, _ string) error { restricted[id]++; return nil }
	st := &pgstore.Store{Pool: pool}
	res, err := st.Screen(ctx, sc, restrict)
	if err != nil {
		t.Fatal(err)
	}
	// I1 hits 110405; I3 hits both 110408 (alias Kasim Sulaymani) and
	// 110407 (alias Ghasem Sulaymani: two listed people, one name) and is
	// restricted once; I2 no; I4 has no name
	if res.Investors != 3 || res.Hits != 3 || res.NewAlerts != 3 || restricted["I1"] != 1 || restricted["I3"] != 1 || restricted["I2"] != 0 {
		t.Fatalf("first screen %+v, restricted %v", res, restricted)
	}
	res, err = st.Screen(ctx, sc, restrict)
	if err != nil || res.Hits != 3 || res.NewAlerts != 0 {
		t.Fatalf("re-screen %+v %v", res, err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM fraud_alerts WHERE rule_id = 'aml-un-sanctions' AND id IN ('aml-un-sanctions:aml:I1:110405', 'aml-un-sanctions:aml:I3:110408')`).Scan(&n) //nolint:errcheck
	if n != 2 {
		t.Errorf("%d alerts with the expected ids, want 2", n)
	}
}
