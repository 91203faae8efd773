package risk_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund/risk"
)

func TestParseCSV(t *testing.T) {
	for _, c := range []struct {
		name, in string
		rows     int
		badLine  int
	}{
		{"header and CRLF", "date,nav\r\n2024-01-01,10.5\r\n2024-01-02, 11\r\n", 2, 0},
		{"blank lines", "\n2024-01-01,10\n\n2024-01-02,.25\n", 2, 0},
		{"published decimals kept", "2024-01-01,12.34567891\n", 1, 0},
		{"not increasing", "2024-01-02,10\n2024-01-01,11\n", 0, 2},
		{"same date twice", "2024-01-01,10\n2024-01-01,11\n", 0, 2},
		{"negative", "2024-01-01,-10\n", 0, 1},
		{"zero", "2024-01-01,0.000\n", 0, 1},
		{"exponent", "2024-01-01,1e2\n", 0, 1},
		{"three fields", "2024-01-01,1,2\n", 0, 1},
		{"bad date", "date,nav\n01-02-2024,1\n", 0, 2},
		{"header later is a bad row", "2024-01-01,1\ndate,nav\n", 0, 2},
		{"long line", "2024-01-01,1\n" + strings.Repeat("1", 300) + "\n", 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := risk.ParseCSV(strings.NewReader(c.in))
			if c.badLine == 0 {
				if err != nil || len(s) != c.rows {
					t.Fatalf("got %d rows, %v; want %d rows", len(s), err, c.rows)
				}
				return
			}
			var le *risk.LineError
			if !errors.As(err, &le) || le.Line != c.badLine {
				t.Fatalf("err %v, want a LineError on line %d", err, c.badLine)
			}
		})
	}
	s, _ := risk.ParseCSV(strings.NewReader("2024-01-01,12.34567891\n"))
	if s[0].NAV.String() != "12.34567891" {
		t.Errorf("NAV %s, want the published 12.34567891", s[0].NAV)
	}
}
