package nav

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/amfi"
)

func item(code, category, nav string, date fund.Date, business fund.Date) Item {
	return Item{
		Row: &amfi.Row{Line: 7, Raw: []byte("raw"), Record: fund.NAVRecord{
			SchemeCode: code, Category: category, NAV: decimal.RequireFromString(nav), Date: date}},
		From:     fund.Origin{File: "f.txt", Line: 7},
		Business: business,
	}
}

func TestValidatorRules(t *testing.T) {
	d := func(day int) fund.Date { return fund.NewDate(2026, 8, day) }
	prev := map[string]fund.DatedNAV{
		"1": {NAV: decimal.RequireFromString("100"), Date: d(20)},
		"2": {NAV: decimal.RequireFromString("1000"), Date: d(20)},
		"3": {NAV: decimal.RequireFromString("10"), Date: d(1)},
	}
	const liquid, debt, equity = "Open Ended Schemes(Debt Scheme - Liquid Fund)", "Open Ended Schemes(Debt Scheme - Gilt Fund)", "Open Ended Schemes(Equity Scheme - Large Cap Fund)"
	cases := []struct {
		name   string
		it     Item
		reason string // "" = passes
	}{
		{"ordinary equity move", item("1", equity, "104.50", d(21), d(21)), ""},
		// |125.01/100 - 1| = 25.01% > 25%
		{"equity jump just over 25%", item("1", equity, "125.01", d(21), d(21)), ReasonNAVJump},
		{"equity move of exactly 25% passes", item("1", equity, "75", d(21), d(21)), ""},
		// 1000 -> 1020.01 is 2.001% > 2% for liquid
		{"liquid over 2%", item("2", liquid, "1020.01", d(21), d(21)), ReasonNAVJump},
		{"liquid 2% passes", item("2", liquid, "1020", d(21), d(21)), ""},
		{"gilt 10.01% held", item("2", debt, "1100.1", d(21), d(21)), ReasonNAVJump},
		{"long gap: no jump check", item("3", equity, "20", d(21), d(21)), ""},
		{"older than previous: no jump check", item("1", equity, "500", d(19), d(21)), ""},
		{"new scheme: no baseline", item("9", equity, "5", d(21), d(21)), ""},
		// business 21-Aug: +3 days = 24-Aug allowed, 25-Aug not
		{"3 days ahead passes", item("9", liquid, "5", d(24), d(21)), ""},
		{"4 days ahead is future", item("9", liquid, "5", d(25), d(21)), amfi.ReasonFutureDate},
		{"9 decimals", item("9", equity, "1.123456789", d(21), d(21)), ReasonNAVPrecision},
		{"8 decimals pass", item("9", equity, "1.12345678", d(21), d(21)), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh validator per case (it learns what it passes, in its
			// own copy of prev).
			v := NewValidator(prev, DefaultThresholds)
			out, err := v.Stage(context.Background(), tc.it)
			var rej *pipelines.RejectError
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.reason == "":
				if out.SchemeCode != tc.it.Row.Record.SchemeCode || out.From.Line != 7 {
					t.Fatalf("out = %+v", out)
				}
			case !errors.As(err, &rej) || rej.Reason != tc.reason:
				t.Fatalf("err = %v, want reason %s", err, tc.reason)
			case rej.Detail == "":
				t.Fatal("reject without a detail")
			}
		})
	}
}

func TestValidatorPassesParserRejects(t *testing.T) {
	v := NewValidator(nil, DefaultThresholds)
	it := Item{Row: &amfi.Row{Line: 3, Raw: []byte("x;N.A."), Reason: amfi.ReasonNAVNotAvailable, Detail: `NAV "N.A."`}}
	_, err := v.Stage(context.Background(), it)
	var rej *pipelines.RejectError
	if !errors.As(err, &rej) || rej.Reason != amfi.ReasonNAVNotAvailable {
		t.Fatalf("err = %v", err)
	}
}

func TestValidatorLearnsWhatItPasses(t *testing.T) {
	// Day 1 at 100, day 2 at 120 (20%: passes), day 3 at 149 is 24.2% from
	// day 2 (passes) though 49% from day 1: the baseline moved.
	v := NewValidator(nil, DefaultThresholds)
	for i, n := range []string{"100", "120", "149"} {
		if _, err := v.Stage(context.Background(), item("1", "Equity", n, fund.NewDate(2026, 8, 18+i), fund.NewDate(2026, 8, 18+i))); err != nil {
			t.Fatalf("day %d: %v", i+1, err)
		}
	}
}

func TestDecodeRejectsHTMLAndEmpty(t *testing.T) {
	for _, body := range []string{"", "<html><head><title>404 Not Found</title></head></html>\r\n",
		"Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\r\n \r\n"} {
		_, err := Decode(strings.NewReader(body), fund.Origin{File: "x"})
		if !errors.Is(err, pipelines.ErrRejectFile) {
			t.Errorf("body %q: err = %v, want ErrRejectFile", body, err)
		}
	}
}

// The validator learns what it passes in its own copy of the baseline: the
// map a caller gave NewValidator (nav_latest as read, perhaps shared with
// another validator) stays as it was.
func TestValidatorLeavesCallersBaselineAlone(t *testing.T) {
	d := func(day int) fund.Date { return fund.NewDate(2026, 8, day) }
	latest := map[string]fund.DatedNAV{"1": {NAV: decimal.RequireFromString("100"), Date: d(20)}}
	v := NewValidator(latest, DefaultThresholds)
	for _, it := range []Item{
		item("1", "Equity", "104.50", d(21), d(21)), // a newer NAV of a known scheme
		item("9", "Equity", "5", d(21), d(21)),      // a scheme the baseline does not have
	} {
		if _, err := v.Stage(context.Background(), it); err != nil {
			t.Fatalf("scheme %s: %v", it.Row.Record.SchemeCode, err)
		}
	}
	got, ok := latest["1"]
	if len(latest) != 1 || !ok || !got.NAV.Equal(decimal.RequireFromString("100")) || got.Date != d(20) {
		t.Fatalf("caller's baseline changed: %+v", latest)
	}
	// It did learn: 126 on the 22nd is 20.57% up from the learned 104.50
	// (passes), though 26% up from the caller's 100 (a jump).
	if _, err := v.Stage(context.Background(), item("1", "Equity", "126", d(22), d(22))); err != nil {
		t.Fatalf("126 is 20.6%% from the learned 104.50: %v", err)
	}
}

// holderFunc is a store's view for tests.
type holderFunc func(fund.NAVRecord) bool

func (h holderFunc) Holds(rec fund.NAVRecord) bool { return h(rec) }

// A valid row that every store holds is skipped (pipelines.ErrStored); one
// that a single store lacks, or a bad row, is not.
func TestValidatorSkipsWhatEveryStoreHolds(t *testing.T) {
	d := fund.NewDate(2026, 8, 21)
	const equity = "Open Ended Schemes(Equity Scheme - Large Cap Fund)"
	has := func(codes ...string) holderFunc {
		return func(r fund.NAVRecord) bool {
			for _, c := range codes {
				if r.SchemeCode == c {
					return true
				}
			}
			return false
		}
	}
	v := NewValidator(nil, DefaultThresholds)
	v.Now = func() time.Time { return d.Time() }
	v.Stored = []Holder{has("1", "2"), has("1", "3")}
	for _, tc := range []struct {
		code, nav string
		want      string // "skip", "pass" or a reject reason
	}{
		{"1", "10", "skip"},
		{"2", "10", "pass"}, // the second store lacks it
		{"3", "10", "pass"}, // the first store lacks it
		{"4", "10", "pass"},
		{"1", "1.123456789", ReasonNAVPrecision}, // a bad row is quarantined, never skipped
	} {
		_, err := v.Stage(context.Background(), item(tc.code, equity, tc.nav, d, d))
		var rej *pipelines.RejectError
		got := "pass"
		switch {
		case errors.Is(err, pipelines.ErrStored):
			got = "skip"
		case errors.As(err, &rej):
			got = rej.Reason
		case err != nil:
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("scheme %s NAV %s: %s, want %s", tc.code, tc.nav, got, tc.want)
		}
	}
	v.Stored = nil
	if _, err := v.Stage(context.Background(), item("1", equity, "10", d, d)); err != nil {
		t.Fatalf("no stores: %v", err)
	}
}
