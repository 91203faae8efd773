package pool_test

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pool"
)

func pct(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Fee terms per pool: effective-dated, the same date replaces, checked as
// a wallet's (a rate over 100 % or a negative hurdle refused), an unknown
// pool refused.
func TestPoolFeeTerms(t *testing.T) {
	e := newEnv(t)
	if err := e.pools.Create(e.ctx, pool.Pool{ID: "PL-1", Name: "one", Launch: mustNAV("10.0000")}); err != nil {
		t.Fatal(err)
	}
	set := func(from, aum, perf, hurdle string) error {
		return e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PL-1", From: day(from), AUMRatePct: pct(aum), PerfPct: pct(perf), HurdlePct: pct(hurdle)})
	}
	for _, c := range [][4]string{{"2026-07-01", "1.00", "10", "0"}, {"2026-08-16", "2.00", "10", "0"}, {"2026-07-01", "1.50", "20", "5"}} {
		if err := set(c[0], c[1], c[2], c[3]); err != nil {
			t.Fatal(err)
		}
	}
	if err := set("2026-09-01", "100.01", "0", "0"); err == nil {
		t.Error("a rate over 100 % was stored")
	}
	if err := set("2026-09-01", "1", "0", "-1"); err == nil {
		t.Error("a negative hurdle was stored")
	}
	err := e.pools.SetFeeTerms(e.ctx, pool.FeeTerms{Pool: "PL-X", From: day("2026-07-01"), AUMRatePct: pct("1")})
	if !errors.Is(err, pool.ErrNoPool) {
		t.Errorf("unknown pool: %v", err)
	}
	ts, err := e.pools.FeeTermsOf(e.ctx, "PL-1")
	if err != nil {
		t.Fatal(err)
	}
	// The 1 July row replaced by 1.50/20/5, the 16 August row kept: two rows.
	var got []string
	for _, x := range ts {
		got = append(got, x.From.String()+" "+x.AUMRatePct.String()+" "+x.PerfPct.String()+" "+x.HurdlePct.String())
	}
	if want := "[2026-07-01 1.5 20 5 2026-08-16 2 10 0]"; fmtSlice(got) != want {
		t.Errorf("terms %v, want %s", got, want)
	}
}

func mustNAV(s string) fund.NAV {
	n, err := fund.ParseNAV(s)
	if err != nil {
		panic(err)
	}
	return n
}

func fmtSlice(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
