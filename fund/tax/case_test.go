package tax_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund/tax"
)

// TestCheckCaseFile: the check command's example, computed by hand.
// Lot 1 (2017, grandfathered), 100 of 100 units: gross 100 × 180 = 18000.00;
// load 52.50 × 100/105 = 50.00; sale 17950.00; FMV 100 × 150 = 15000.00;
// min(15000, 17950) = 15000 > 10000 → cost 15000.00, gain 2950.00, long,
// 112A at 12.5 % (after 23-Jul-2024).
// Lot 2 (2024-01-10), 5 of 10 units: cost 1000.05 × 5/10 = 500.025 → 500.03
// (half up); gross 5 × 180 = 900.00; load 52.50 × 5/105 = 2.50; sale 897.50;
// gain 397.47; 2025-01-10 is after the sale → short, 111A at 20 %.
func TestCheckCaseFile(t *testing.T) {
	f, err := os.Open("testdata/grandfathered.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := tax.ParseCase(f)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tax.Check(c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		FY   string `json:"fy"`
		Lots []struct {
			Term        string `json:"term"`
			CostUsed    string `json:"cost_used"`
			SaleValue   string `json:"sale_value"`
			Gain        string `json:"gain"`
			RateSection string `json:"rate_section"`
			RatePct     string `json:"rate_pct"`
			GF          string `json:"grandfathered"`
		} `json:"lots"`
		Totals struct {
			Gain string `json:"gain"`
		} `json:"totals"`
		Exemption string `json:"ltcg_112a_exemption_fy"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.FY != "2024-25" || out.Exemption != "125000.00" || len(out.Lots) != 2 || out.Totals.Gain != "3347.47" { // 2950.00 + 397.47
		t.Fatalf("%s", b)
	}
	l1, l2 := out.Lots[0], out.Lots[1]
	if l1.Term != "long" || l1.CostUsed != "15000.00" || l1.SaleValue != "17950.00" || l1.Gain != "2950.00" || l1.RateSection != "112A" || l1.RatePct != "12.5" || l1.GF != "fmv" {
		t.Errorf("lot 1: %+v", l1)
	}
	if l2.Term != "short" || l2.CostUsed != "500.03" || l2.SaleValue != "897.50" || l2.Gain != "397.47" || l2.RateSection != "111A" || l2.RatePct != "20" || l2.GF != "" {
		t.Errorf("lot 2: %+v", l2)
	}
}

func TestParseCaseRejects(t *testing.T) {
	ok := `{"scheme_type":"equity","bought":"2020-01-01","units":"1.000","cost":"10.00"}`
	sale := `{"date":"2025-01-01","units":"1.000","nav":"10.0000","exit_load":"0"}`
	for _, c := range []struct{ in, field string }{
		{`{"lots":[` + ok + `]}`, "sale"},
		{`{"lots":[],"sale":` + sale + `}`, "lots"},
		{`{"lots":[{"scheme_type":"gold","bought":"2020-01-01","units":"1","cost":"1"}],"sale":` + sale + `}`, "lots[0].scheme_type"},
		{`{"lots":[{"scheme_type":"equity","bought":"01-01-2020","units":"1","cost":"1"}],"sale":` + sale + `}`, "lots[0].bought"},
		{`{"lots":[{"scheme_type":"equity","bought":"2020-01-01","units":"-1","cost":"1"}],"sale":` + sale + `}`, "lots[0].units"},
		{`{"lots":[{"scheme_type":"equity","bought":"2020-01-01","units":"1","cost":"1.005"}],"sale":` + sale + `}`, "lots[0].cost"},
		{`{"lots":[{"scheme_type":"equity","bought":"2020-01-01","units":"1","cost":1e3}],"sale":` + sale + `}`, "lots[0].cost"},
		{`{"lots":[{"scheme_type":"equity","bought":"2020-01-01","units":"1"}],"sale":` + sale + `}`, "lots[0].cost"},
		{`{"lots":[` + ok + `],"sale":{"date":"2025-01-01","units":"1","nav":"10.00001"}}`, "sale.nav"},
		{`{"lots":[` + ok + `],"sale":{"date":"2025-01-01","units":"1","nav":"10","exitload":"5"}}`, "exitload"},
		{`{"lots":[` + ok + `],"sale":` + sale + `} {}`, "(file)"},
		{`[1,2]`, "(file)"},
	} {
		_, err := tax.ParseCase(strings.NewReader(c.in))
		var ce *tax.CaseError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%s: %v, want an error naming %s", c.in, err, c.field)
		}
	}
}

// FuzzParseCase: any input is a case or a CaseError, never a panic; a
// parsed case's lots are oldest first and positive, and checking it either
// answers or errs.
func FuzzParseCase(f *testing.F) {
	seed, _ := os.ReadFile("testdata/grandfathered.json")
	f.Add(seed)
	f.Add([]byte(`{"lots":[{"scheme_type":"debt","bought":"2023-04-01","units":1,"cost":1}],"sale":{"date":"2026-01-01","units":1,"nav":1}}`))
	f.Add([]byte(`{"lots":[{"scheme_type":"other","bought":"2020-02-29","units":"0.0001","cost":"0.01"}],"sale":{"date":"2021-02-28","units":"0.0001","nav":"0.0001","exit_load":"0.01"}}`))
	f.Add([]byte(`{"lots":null,"sale":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := tax.ParseCase(bytes.NewReader(b))
		if err != nil {
			var ce *tax.CaseError
			if !errors.As(err, &ce) {
				t.Fatalf("not a CaseError: %v", err)
			}
			return
		}
		for i, l := range c.Lots {
			if l.Units.Sign() <= 0 || l.Cost.IsNegative() || (i > 0 && l.Bought.Before(c.Lots[i-1].Bought)) {
				t.Fatalf("lot %d: %+v", i, l)
			}
		}
		res, err := tax.Check(c)
		if err != nil {
			return
		}
		if res.Totals.SaleValue.Sub(res.Totals.CostUsed).Cmp(res.Totals.Gain) != 0 {
			t.Fatalf("totals %+v", res.Totals)
		}
	})
}
