package refresh_test

import (
	"path/filepath"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The shipped risk-free series (the demo's and the example config's) reads,
// and gives the repo rate of the day: 4 % through the 2020-2022 low,
// 6.5 % from 8 February 2023.
func TestShippedRatesFile(t *testing.T) {
	rs, err := config.LoadRates(filepath.Join(testkit.Root(t), "analytics", "data", "rbi_repo_rate.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		day  fund.Date
		want string
	}{{fund.NewDate(2021, 6, 30), "0.04"}, {fund.NewDate(2023, 2, 8), "0.065"}, {fund.NewDate(2017, 4, 13), "0.0625"}} {
		if got, err := rs.At(c.day); err != nil || got.String() != c.want {
			t.Errorf("%s: %s %v, want %s", c.day, got, err, c.want)
		}
	}
}
