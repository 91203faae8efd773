package wallet_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
	"github.com/shopspring/decimal"
)

// TestDriftAfterANAVMove: rebalanceEnv's folio after A's 20 % rise, by
// hand: A 799.960 × 12 = 9,599.52, B 6,999.65, C 4,999.75, total
// 21,598.92. Weights: 959,952 / 21,598.92 = 44.44444…% (A), 699,965 /
// 21,598.92 = 32.40740…% (B), 499,975 / 21,598.92 = 23.14814…% (C);
// drift +4.4444, −2.5926, −1.8519 pp. Within 5 pp nothing is due; over
// 3 pp it is. Then a model version 2 (45/33/22) takes effect on 21 Aug:
// the drift (−0.5556, −0.5926, +1.1481) is within 5 pp, but the portfolio
// was invested at version 1, so a rebalance is due.
func TestDriftAfterANAVMove(t *testing.T) {
	e, rb, _ := rebalanceEnv(t)
	five := decimal.NewFromInt(5)
	v, err := rb.Drift(e.ctx, "W1", five)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{"A": {"9599.52", "44.4444", "4.4444"}, "B": {"6999.65", "32.4074", "-2.5926"}, "C": {"4999.75", "23.1481", "-1.8519"}}
	if v.Total.String() != "21598.92" || len(v.Schemes) != 3 || v.Over || v.ModelChanged || v.Due || v.Model != "moderate" || v.ModelVersion != 1 ||
		v.LastModel != "moderate" || v.LastModelVersion != 1 || v.Folio != "F1" || !v.ThresholdPP.Equal(five) {
		t.Fatalf("drift at 5 pp: %+v", v)
	}
	for _, s := range v.Schemes {
		w := want[s.Scheme]
		if s.Value.String() != w[0] || s.Actual.String() != w[1] || s.Drift.String() != w[2] {
			t.Errorf("%s: value %s actual %s drift %s, want %v", s.Scheme, s.Value, s.Actual, s.Drift, w)
		}
	}
	if v, err := rb.Drift(e.ctx, "W1", decimal.NewFromInt(3)); err != nil || !v.Over || !v.Due || v.ModelChanged {
		t.Fatalf("drift at 3 pp: %+v %v", v, err)
	}
	m := moderate()
	m.Version, m.Effective = 2, fund.NewDate(2026, 8, 21)
	m.Schemes[0].Weight, m.Schemes[1].Weight, m.Schemes[2].Weight = decimal.NewFromInt(45), decimal.NewFromInt(33), decimal.NewFromInt(22)
	if err := (&wallet.AutoInvest{Wallet: rb.Wallet, Store: pgstore.Store{Pool: e.db.Read}}).PutModel(e.ctx, m); err != nil {
		t.Fatal(err)
	}
	v, err = rb.Drift(e.ctx, "W1", five)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string][3]string{"A": {"9599.52", "44.4444", "-0.5556"}, "B": {"6999.65", "32.4074", "-0.5926"}, "C": {"4999.75", "23.1481", "1.1481"}}
	if v.Over || !v.ModelChanged || !v.Due || v.ModelVersion != 2 || v.LastModelVersion != 1 {
		t.Fatalf("after the model change: %+v", v)
	}
	for _, s := range v.Schemes {
		w := want[s.Scheme]
		if s.Value.String() != w[0] || s.Actual.String() != w[1] || s.Drift.String() != w[2] {
			t.Errorf("v2 %s: value %s actual %s drift %s, want %v", s.Scheme, s.Value, s.Actual, s.Drift, w)
		}
	}
}
