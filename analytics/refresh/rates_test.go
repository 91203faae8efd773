package refresh_test

import (
	"path/filepath"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/testkit"
)

// The shipped risk-free series (the demo's and the example config's) reads,
// and gives the repo rate of the day, as published reports of the RBI's
// decisions give it (the file's header names them): 4 % through the
// 2020-2022 low, 6.5 % from 8 February 2023, 6.5 % from 5 April 2016 (the
// series' first day), 5.5 % the day before the cut of 5 December 2025 and
// 5.25 % from it.
func TestShippedRatesFile(t *testing.T) {
	rs, err := config.LoadRates(filepath.Join(testkit.Root(t), "analytics", "data", "rbi_repo_rate.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		day  fund.Date
		want string
	}{{fund.NewDate(2021, 6, 30), "0.04"}, {fund.NewDate(2023, 2, 8), "0.065"}, {fund.NewDate(2017, 4, 13), "0.0625"},
		{fund.NewDate(2016, 4, 5), "0.065"}, {fund.NewDate(2025, 12, 4), "0.055"}, {fund.NewDate(2025, 12, 5), "0.0525"}, {fund.NewDate(2026, 8, 14), "0.0525"}} {
		if got, err := rs.At(c.day); err != nil || got.String() != c.want {
			t.Errorf("%s: %s %v, want %s", c.day, got, err, c.want)
		}
	}
}

// Nothing is in force before the series' first day (5 April 2016).
func TestShippedRatesFileStarts(t *testing.T) {
	rs, err := config.LoadRates(filepath.Join(testkit.Root(t), "analytics", "data", "rbi_repo_rate.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rs.At(fund.NewDate(2016, 4, 4)); err == nil {
		t.Errorf("2016-04-04: %s, want no rate", got)
	}
}
