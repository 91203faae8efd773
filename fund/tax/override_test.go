package tax_test

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/tax"
)

// TypeOn: the row with the latest From on or before the date, of that
// scheme only; before the first row, none (the category decides).
func TestTypeOn(t *testing.T) {
	table := []tax.TypeOverride{
		{Scheme: "IX", From: fund.NewDate(2024, 4, 1), Type: tax.Debt},
		{Scheme: "IX", From: fund.NewDate(2020, 1, 1), Type: tax.Equity},
		{Scheme: "FOF", From: fund.NewDate(2023, 4, 1), Type: tax.Other},
	}
	for _, c := range []struct {
		scheme string
		on     fund.Date
		want   tax.SchemeType
		ok     bool
	}{
		{"IX", fund.NewDate(2019, 12, 31), "", false},
		{"IX", fund.NewDate(2020, 1, 1), tax.Equity, true}, // in force on its first day
		{"IX", fund.NewDate(2024, 3, 31), tax.Equity, true},
		{"IX", fund.NewDate(2024, 4, 1), tax.Debt, true}, // the later row, whatever the table's order
		{"FOF", fund.NewDate(2025, 1, 1), tax.Other, true},
		{"EQ", fund.NewDate(2025, 1, 1), "", false},
	} {
		if got, ok := tax.TypeOn(table, c.scheme, c.on); got != c.want || ok != c.ok {
			t.Errorf("%s on %s: %q %v, want %q %v", c.scheme, c.on, got, ok, c.want, c.ok)
		}
	}
}
