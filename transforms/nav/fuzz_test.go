package nav

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Whatever the bytes, what the decoder and the stage let through is
// storable in every store, and no (scheme, date) comes out twice with
// different NAVs: the promises the sinks rely on.
func FuzzDecodeStage(f *testing.F) {
	const h = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\n"
	f.Add([]byte(h + "Open Ended Schemes(Equity)\nAMC\n100;-;-;A;10.5;01-Dec-2026\n100;-;-;A;10.6;01-Dec-2026\n"))
	f.Add([]byte(h + "M\xfcller AMC\n100;-;-;B\x00x;10;01-Dec-2026\n101;-;-;C;99999999999999999999.1234;01-Dec-2026\n"))
	f.Add([]byte(h + "102;-;-;D;1;01-Dec-1899\n103;-;-;E;1;01-Jan-2150\n104;-;-;" + strings.Repeat("x", 3000) + ";1;01-Dec-2026\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		next, err := Decode(bytes.NewReader(data), fund.Origin{File: "fuzz.txt"})
		if err != nil {
			return
		}
		v := NewValidator(nil, DefaultThresholds)
		v.Now = clock
		seen := map[string]string{}
		for {
			it, err := next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("next: %v", err)
			}
			out, err := v.Stage(context.Background(), it)
			var rej *pipelines.RejectError
			if errors.As(err, &rej) {
				if !utf8.ValidString(rej.Detail) || strings.ContainsRune(rej.Detail, 0) {
					t.Fatalf("detail %q cannot be stored", rej.Detail)
				}
				if c := string(it.ReplayContext()); strings.Contains(c, `\u0000`) || !utf8.ValidString(c) {
					t.Fatalf("context %q cannot be stored", c)
				}
				continue
			}
			if err != nil {
				t.Fatalf("stage: %v", err)
			}
			for _, s := range []string{out.SchemeCode, out.SchemeName, out.ISINGrowth, out.ISINReinvest, out.Plan, out.Option, out.Category, out.SchemeType, out.AMC} {
				if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > 2048 {
					t.Fatalf("field %q passed", s)
				}
			}
			if !out.NAV.IsPositive() || out.NAV.GreaterThanOrEqual(MaxNAVExclusive) || out.Date.Before(MinNAVDate) || out.Date.After(Today(clock()).AddDays(v.FutureDays)) {
				t.Fatalf("NAV %s on %s passed", out.NAV, out.Date)
			}
			k := out.SchemeCode + "|" + out.Date.String()
			if prev, ok := seen[k]; ok && prev != out.NAV.String() {
				t.Fatalf("%s came out as %s and %s", k, prev, out.NAV)
			}
			seen[k] = out.NAV.String()
		}
	})
}
