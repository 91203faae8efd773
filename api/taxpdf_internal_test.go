package api

import (
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// Indian digit grouping, by hand: the last three digits, then pairs.
func TestINRGroup(t *testing.T) {
	for in, want := range map[string]string{
		"0":            "0.00",
		"999.99":       "999.99",
		"1000":         "1,000.00",
		"99999.5":      "99,999.50",
		"123456.78":    "1,23,456.78",
		"1234567.89":   "12,34,567.89",
		"-12345678.90": "-1,23,45,678.90",
		"-100":         "-100.00",
	} {
		if got := inrGroup(fund.MustAmount(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
