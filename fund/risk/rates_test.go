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

func TestComputeRatesByHand(t *testing.T) {
	// upDownUp's returns 0.1 (01-02), −0.1 (01-03), 0.1 (01-04); the rate is 0 until
	// 01-02 and 0.252 a year from 01-03, so rf/252 = 0, 0.001, 0.001 on the three days.
	// excesses e = 0.1, −0.101, 0.099; their mean = 0.098/3 = 0.0326666…
	// sample stdev of r = sqrt(1/75) (TestComputeByHand)
	// Sharpe = (0.098/3) / sqrt(1/75) × sqrt(252) = 0.098/3 × sqrt(18900) = 4.49092418105672… → 4.49092418
	// downside: min(0, e) = 0, −0.101, 0; RMS = 0.101/sqrt(3)
	// Sortino = (0.098/3) / (0.101/sqrt(3)) × sqrt(252) = (0.098/0.101) × sqrt(84) = 8.89291917040935… → 8.89291917
	// risk_free shown: the mean of the annual rates of the three days = (0 + 0.252 + 0.252)/3 = 0.168
	rates := risk.Rates{{From: day("2023-12-01"), Annual: d("0")}, {From: day("2024-01-03"), Annual: d("0.252")}}
	rep, err := risk.ComputeRates(upDownUp, rates)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Sharpe.Equal(d("4.49092418")) || !rep.Sortino.Equal(d("8.89291917")) || !rep.RiskFree.Equal(d("0.168")) || rep.RiskFreeRates != 2 {
		t.Errorf("sharpe %s (want 4.49092418), sortino %s (want 8.89291917), risk_free %s (want 0.168), %d rates",
			rep.Sharpe, rep.Sortino, rep.RiskFree, rep.RiskFreeRates)
	}
	// the volatility, drawdown and VaR do not depend on the rate
	if !rep.Volatility.Equal(d("1.83303028")) || !rep.VaR95.Equal(d("0.1")) {
		t.Errorf("volatility %s, var_95 %s", rep.Volatility, rep.VaR95)
	}
	// a constant series is Compute with that rate
	c, err := risk.ComputeRates(upDownUp, risk.Constant(d("0.065")))
	k, err2 := risk.Compute(upDownUp, d("0.065"))
	if err != nil || err2 != nil || !c.Sharpe.Equal(*k.Sharpe) || !c.Sortino.Equal(*k.Sortino) || !c.RiskFree.Equal(d("0.065")) {
		t.Errorf("constant: %v %v %+v %+v", err, err2, c, k)
	}
	// a return dated before the first rate has none
	if _, err := risk.ComputeRates(upDownUp, risk.Rates{{From: day("2024-01-03"), Annual: d("0.05")}}); !errors.Is(err, risk.ErrNoRate) {
		t.Errorf("a day before the series: %v, want ErrNoRate", err)
	}
}

func TestRatesAt(t *testing.T) {
	rs := risk.Rates{{From: day("2019-02-07"), Annual: d("0.0625")}, {From: day("2019-04-04"), Annual: d("0.06")}}
	for _, c := range []struct{ day, want string }{
		{"2019-02-07", "0.0625"}, // in force from its own date
		{"2019-04-03", "0.0625"}, // until the day before the next
		{"2019-04-04", "0.06"},
		{"2030-01-01", "0.06"}, // the last stays in force
	} {
		got, err := rs.At(day(c.day))
		if err != nil || !got.Equal(d(c.want)) {
			t.Errorf("At(%s) = %s, %v; want %s", c.day, got, err, c.want)
		}
	}
	if _, err := rs.At(day("2019-02-06")); !errors.Is(err, risk.ErrNoRate) {
		t.Errorf("before the first rate: %v", err)
	}
}

func TestParseRatesCSV(t *testing.T) {
	good := "# RBI policy repo rate\neffective_from,annual_rate\n2019-02-07,0.0625\r\n\n2019-04-04, 0.06\n"
	rs, err := risk.ParseRatesCSV(strings.NewReader(good))
	if err != nil || len(rs) != 2 || rs[1].From != day("2019-04-04") || !rs[1].Annual.Equal(d("0.06")) {
		t.Fatalf("%+v %v", rs, err)
	}
	for _, c := range []struct {
		name, in string
		line     int
		reason   string
	}{
		{"no header", "2019-02-07,0.0625\n", 1, "want the header"},
		{"a percentage", "effective_from,annual_rate\n2019-02-07,6.25\n", 2, "not a percentage"},
		{"negative", "effective_from,annual_rate\n2019-02-07,-0.01\n", 2, "plain decimal fraction"},
		{"dates back", "effective_from,annual_rate\n2019-04-04,0.06\n2019-02-07,0.0625\n", 3, "does not follow"},
		{"same date", "effective_from,annual_rate\n2019-04-04,0.06\n2019-04-04,0.0625\n", 3, "does not follow"},
		{"bad date", "effective_from,annual_rate\n04-04-2019,0.06\n", 2, ""},
		{"three fields", "effective_from,annual_rate\n2019-04-04,0.06,x\n", 2, "want 2 fields"},
		{"empty", "# nothing\n", 1, "no rates"},
		{"header only", "effective_from,annual_rate\n", 1, "no rates"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := risk.ParseRatesCSV(strings.NewReader(c.in))
			var le *risk.LineError
			if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(le.Reason, c.reason) {
				t.Errorf("got %v, want line %d with %q", err, c.line, c.reason)
			}
		})
	}
}

// FuzzParseRatesCSV: any input parses into a series with strictly
// increasing dates and rates in [0, 1) that prints back and parses to the
// same rates, or fails with a *LineError naming a line that exists; never
// a panic.
func FuzzParseRatesCSV(f *testing.F) {
	f.Add([]byte("effective_from,annual_rate\n2019-02-07,0.0625\n2019-04-04,0.06\n"))
	f.Add([]byte("# c\n\nEFFECTIVE_FROM, ANNUAL_RATE\r\n2019-02-07, .05\r\n"))
	f.Add([]byte("effective_from,annual_rate\n2019-02-07,6.5\n"))
	f.Add([]byte("effective_from,annual_rate\n2019-02-07,0.1\n2019-02-07,0.2\n"))
	f.Add([]byte("effective_from,annual_rate\n2019-02-30,0.1\n"))
	f.Add([]byte(strings.Repeat("0", 300)))
	f.Fuzz(func(t *testing.T, in []byte) {
		rs, err := risk.ParseRatesCSV(bytes.NewReader(in))
		lines := bytes.Count(in, []byte("\n")) + 1
		if err != nil {
			var le *risk.LineError
			if !errors.As(err, &le) {
				t.Fatalf("error without a line: %v", err)
			}
			if le.Line < 1 || le.Line > lines {
				t.Fatalf("line %d of an input of %d lines", le.Line, lines)
			}
			return
		}
		var out bytes.Buffer
		out.WriteString("effective_from,annual_rate\n")
		for i, r := range rs {
			if r.Annual.IsNegative() || r.Annual.GreaterThanOrEqual(decimal.NewFromInt(1)) {
				t.Fatalf("rate %s out of [0, 1)", r.Annual)
			}
			if i > 0 && !rs[i-1].From.Before(r.From) {
				t.Fatalf("dates do not increase: %s then %s", rs[i-1].From, r.From)
			}
			fmt.Fprintf(&out, "%s,%s\n", r.From, r.Annual)
		}
		back, err := risk.ParseRatesCSV(&out)
		if err != nil || len(back) != len(rs) {
			t.Fatalf("round trip: %v (%d of %d)", err, len(back), len(rs))
		}
		for i := range rs {
			if back[i].From != rs[i].From || !back[i].Annual.Equal(rs[i].Annual) {
				t.Fatalf("round trip row %d: %v != %v", i, back[i], rs[i])
			}
		}
	})
}
