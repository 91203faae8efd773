package risk_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund/risk"
)

// FuzzParseCSV: any input either parses into a valid series (dates strictly
// increasing, NAVs positive) that prints back and parses to the same
// points, or fails with a *LineError naming a line that exists; never a
// panic. A parsed series of three NAVs or more computes.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("date,nav\n2024-01-01,100\n2024-01-02,110\n2024-01-03,99\n"))
	f.Add([]byte("2024-01-01, 12.3456\r\n\n2024-01-02,.5\n"))
	f.Add([]byte("2024-01-02,1\n2024-01-01,2\n"))
	f.Add([]byte("2024-01-01,-1\n"))
	f.Add([]byte("2024-01-01,1e3\n"))
	f.Add([]byte("2024-13-01,1\n"))
	f.Add([]byte("2024-01-01,1,2\n"))
	f.Add([]byte(strings.Repeat("9", 300)))
	f.Add([]byte("0000-01-01,1\n0000-01-10,1\n0000-02-01,1")) // a constant rate covers year 0 too (the fuzzer found it)
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := risk.ParseCSV(bytes.NewReader(in))
		if err != nil {
			var le *risk.LineError
			if !errors.As(err, &le) {
				t.Fatalf("error without a line: %v", err)
			}
			if le.Line < 1 || le.Line > bytes.Count(in, []byte("\n"))+1 {
				t.Fatalf("line %d of an input of %d lines", le.Line, bytes.Count(in, []byte("\n"))+1)
			}
			return
		}
		if err := risk.Validate(s); err != nil {
			t.Fatalf("parsed an invalid series: %v", err)
		}
		var out bytes.Buffer
		for _, p := range s {
			fmt.Fprintf(&out, "%s,%s\n", p.Date, p.NAV)
		}
		back, err := risk.ParseCSV(&out)
		if err != nil || len(back) != len(s) {
			t.Fatalf("round trip: %v (%d of %d)", err, len(back), len(s))
		}
		for i := range s {
			if back[i].Date != s[i].Date || !back[i].NAV.Equal(s[i].NAV) {
				t.Fatalf("round trip row %d: %v != %v", i, back[i], s[i])
			}
		}
		if len(s) >= 3 {
			if _, err := risk.Compute(s, decimal.Zero); err != nil && !strings.Contains(err.Error(), "CAGR overflows") {
				t.Fatalf("compute: %v", err)
			}
		}
	})
}
