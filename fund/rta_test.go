package fund

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestParseRTADate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Date
		ok   bool
	}{
		{"21-Aug-2026", Date{2026, time.August, 21}, true},
		{"21-AUG-2026", Date{2026, time.August, 21}, true},
		{"01-jan-2024", Date{2024, time.January, 1}, true},
		{"21/08/2026", Date{2026, time.August, 21}, true},
		{"29/02/2024", Date{2024, time.February, 29}, true},
		{"29/02/2025", Date{}, false}, // not a leap year
		{"08/21/2026", Date{}, false}, // month-first is not an RTA form
		{"2026-08-21", Date{}, false},
		{"21-Aug-26", Date{}, false},
		{"1/8/2026", Date{}, false},
		{"", Date{}, false},
		{"32-Jan-2026", Date{}, false},
	} {
		got, err := ParseRTADate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRTADate(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestUnitsAsWritten(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  string // String() of the result: value at its scale
		scale int32
		err   error
	}{
		{"12.5", "12.500", 3, nil},
		{"100", "100.000", 3, nil},
		{"1.23456", "1.23456", 5, nil},
		{"-4.0001", "-4.0001", 4, nil},
		{"0.123456789", "0.123456789", 9, nil},
		{"0.1234567890000", "0.123456789", 9, nil}, // trailing zeros lose nothing
		{"0.1234567891", "", 0, ErrTooManyDecimals},
	} {
		u, err := UnitsAsWritten(decimal.RequireFromString(tc.in))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || u.String() != tc.want || u.Scale() != tc.scale {
			t.Errorf("%s: %v scale %d err %v; want %s scale %d", tc.in, u, u.Scale(), err, tc.want, tc.scale)
		}
	}
}
