package nav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
)

// 19:00 UTC on 2 Dec 2026 is 00:30 IST on 3 Dec: the business date is the
// 3rd, so with a window of 3 days the 6th passes and the 7th does not.
var clock = func() time.Time { return time.Date(2026, 12, 2, 19, 0, 0, 0, time.UTC) }

func TestValidatorQuarantinesWhatNoStoreCanHold(t *testing.T) {
	d := fund.NewDate
	business := d(2026, 12, 3)
	rec := func(f func(*fund.NAVRecord)) Item {
		it := Item{Row: &amfi.Row{Line: 7, Raw: []byte("raw"), Record: fund.NAVRecord{SchemeCode: "100", SchemeName: "Good Fund",
			AMC: "Good AMC", Category: "Equity", NAV: decimal.RequireFromString("10"), Date: business}},
			From: fund.Origin{File: "f.txt", Line: 7}, Business: business}
		f(&it.Row.Record)
		return it
	}
	nav := func(s string) func(*fund.NAVRecord) {
		return func(r *fund.NAVRecord) { r.NAV = decimal.RequireFromString(s) }
	}
	dated := func(day fund.Date) func(*fund.NAVRecord) { return func(r *fund.NAVRecord) { r.Date = day } }
	cases := []struct {
		name   string
		it     Item
		reason string
	}{
		{"ordinary", rec(func(*fund.NAVRecord) {}), ""},
		// numeric(18,8): 10 digits before the point.
		{"largest NAV the columns hold", rec(nav("9999999999.99999999")), ""},
		{"10^10", rec(nav("10000000000")), ReasonNAVOutOfRange},
		{"the overflow of the issue", rec(nav("99999999999999999999.1234")), ReasonNAVOutOfRange},
		{"rounds up to 10^10 at 8 decimals", rec(nav("9999999999.999999995")), ReasonNAVPrecision},
		{"repurchase too large", rec(func(r *fund.NAVRecord) {
			r.Repurchase = decimal.NullDecimal{Decimal: decimal.RequireFromString("12345678901"), Valid: true}
		}), ReasonNAVOutOfRange},
		// A price (unlike the NAV) may have more decimals: it is stored
		// rounded to 8, so the bound is where rounding reaches 10^10.
		{"sale price rounding up to 10^10", rec(func(r *fund.NAVRecord) {
			r.Sale = decimal.NullDecimal{Decimal: decimal.RequireFromString("9999999999.999999995"), Valid: true}
		}), ReasonNAVOutOfRange},
		{"sale price rounding down below 10^10", rec(func(r *fund.NAVRecord) {
			r.Sale = decimal.NullDecimal{Decimal: decimal.RequireFromString("9999999999.9999999949"), Valid: true}
		}), ""},
		{"negative repurchase rounding to -10^10", rec(func(r *fund.NAVRecord) {
			r.Repurchase = decimal.NullDecimal{Decimal: decimal.RequireFromString("-9999999999.999999995"), Valid: true}
		}), ReasonNAVOutOfRange},
		{"NUL in the scheme name", rec(func(r *fund.NAVRecord) { r.SchemeName = "Bad\x00Fund" }), ReasonBadEncoding},
		{"Latin-1 byte in the scheme name", rec(func(r *fund.NAVRecord) { r.SchemeName = "Caf\xe9 Fund" }), ReasonBadEncoding},
		{"Latin-1 byte in the AMC line above", rec(func(r *fund.NAVRecord) { r.AMC = "M\xfcller AMC" }), ReasonBadEncoding},
		{"UTF-8 é is fine", rec(func(r *fund.NAVRecord) { r.SchemeName = "Café Fund" }), ""},
		{"1899-12-01", rec(dated(d(1899, 12, 1))), ReasonDateOutOfRange},
		{"1969-01-01", rec(dated(d(1969, 1, 1))), ReasonDateOutOfRange},
		{"1989-12-31", rec(dated(d(1989, 12, 31))), ReasonDateOutOfRange},
		{"1990-01-01", rec(dated(d(1990, 1, 1))), ""},
		{"2150-01-01", rec(dated(d(2150, 1, 1))), amfi.ReasonFutureDate},
		{"today in IST plus 3 days", rec(dated(d(2026, 12, 6))), ""},
		{"today in IST plus 4 days", rec(dated(d(2026, 12, 7))), amfi.ReasonFutureDate},
		// A whole file dated 2062: its own business date is 2062, the clock
		// is not.
		{"a mis-dated file", func() Item { it := rec(dated(d(2062, 12, 1))); it.Business = d(2062, 12, 1); return it }(), amfi.ReasonFutureDate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewValidator(nil, DefaultThresholds)
			v.Now = clock
			_, err := v.Stage(context.Background(), tc.it)
			var rej *pipelines.RejectError
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.reason == "":
			case !errors.As(err, &rej) || rej.Reason != tc.reason:
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			case rej.Detail == "" || strings.ContainsRune(rej.Detail, 0) || !isUTF8(rej.Detail):
				t.Fatalf("detail %q cannot be stored in a text column", rej.Detail)
			}
		})
	}
}

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// The same (scheme, date) twice in one file: the later row that differs is
// quarantined, an identical repeat is dropped, and a third scheme is not
// touched. The stage sees each line once, in order.
func TestDecodeDuplicateKeys(t *testing.T) {
	const header = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date"
	lines := []string{
		header,
		"Open Ended Schemes(Equity Scheme - Large Cap Fund)",
		"Some AMC",
		"100;-;-;A Fund;10.00;01-Dec-2026", // line 4
		"200;-;-;B Fund;20.00;01-Dec-2026", // line 5
		"100;-;-;A Fund;10.50;01-Dec-2026", // line 6: conflicts with line 4
		"200;-;-;B Fund;20.0;01-Dec-2026",  // line 7: the same value again
		"300;-;-;C Fund;30.00;01-Dec-2026", // line 8
		"100;-;-;A Fund;10.00;30-Nov-2026", // line 9: another date
	}
	next, err := Decode(strings.NewReader(strings.Join(lines, "\n")+"\n"), fund.Origin{File: "dup.txt"})
	if err != nil {
		t.Fatal(err)
	}
	v := NewValidator(nil, DefaultThresholds)
	v.Now = clock
	var got []string
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := v.Stage(context.Background(), it)
		var rej *pipelines.RejectError
		switch {
		case errors.As(err, &rej):
			got = append(got, fmt.Sprintf("%d:%s", it.From.Line, rej.Reason))
		case err != nil:
			t.Fatal(err)
		default:
			got = append(got, fmt.Sprintf("%d:%s", it.From.Line, out.NAV))
		}
	}
	want := "4:10 5:20 6:duplicate_key_conflict 8:30 9:10"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

// The key set finds every key said twice among many (no false negative),
// with few false positives at the size Decode gives it.
func TestKeySet(t *testing.T) {
	const n = 200000
	s := newKeySet(n * 55) // a file of the shortest real lines
	fp := 0
	for i := 0; i < n; i++ {
		if s.add(navKey{fmt.Sprint(100000 + i), fund.NewDate(2026, 1, 1).AddDays(i % 300)}) {
			fp++
		}
	}
	for i := 0; i < n; i += 997 {
		if !s.add(navKey{fmt.Sprint(100000 + i), fund.NewDate(2026, 1, 1).AddDays(i % 300)}) {
			t.Fatalf("key %d added before is not found", i)
		}
	}
	if fp > n/50 {
		t.Fatalf("%d false positives among %d keys", fp, n)
	}
}

func TestReplayContextIsStorable(t *testing.T) {
	it := Item{Header: "h", Row: &amfi.Row{Record: fund.NAVRecord{AMC: "A\x00MC", Category: "C\xe9"}}}
	c := string(it.ReplayContext())
	if strings.Contains(c, `\u0000`) || !isUTF8(c) {
		t.Fatalf("context %q cannot be stored in jsonb", c)
	}
	// And it is never replayed with U+FFFD in place of what the file said.
	if _, err := Reread([]byte("100;-;-;A;10;01-Dec-2026"), []byte(c), fund.Origin{File: "f", Line: 9}); err == nil {
		t.Fatal("a row under a lossy context was read again")
	}
}
