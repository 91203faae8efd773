package amfi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

func TestBusinessDate(t *testing.T) {
	d := func(day int) fund.Date { return fund.NewDate(2026, 8, day) }
	for _, tc := range []struct {
		name   string
		counts map[fund.Date]int
		want   fund.Date
	}{
		{"empty", map[fund.Date]int{}, fund.Date{}},
		{"nil", nil, fund.Date{}},
		{"only zero counts", map[fund.Date]int{d(1): 0}, fund.Date{}},
		{"mode, not min or max", map[fund.Date]int{fund.NewDate(2008, 3, 31): 5, d(21): 8000, d(23): 91, d(20): 440}, d(21)},
		{"tie goes to the later date", map[fund.Date]int{d(20): 7, d(21): 7, d(19): 7}, d(21)},
		{"single", map[fund.Date]int{d(18): 1}, d(18)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Map order is random: ask often enough to see several orders.
			for i := 0; i < 50; i++ {
				if got := BusinessDate(tc.counts); got != tc.want {
					t.Fatalf("BusinessDate = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestIsFutureDated(t *testing.T) {
	business := fund.NewDate(2026, 8, 29)
	for _, tc := range []struct {
		d    fund.Date
		want bool
	}{
		{fund.NewDate(2026, 8, 29), false},
		{fund.NewDate(2026, 9, 1), false}, // +3: the limit itself is allowed
		{fund.NewDate(2026, 9, 2), true},  // +4, across a month end
		{fund.NewDate(2008, 3, 31), false},
	} {
		if got := IsFutureDated(tc.d, business); got != tc.want {
			t.Errorf("IsFutureDated(%v, %v) = %v", tc.d, business, got)
		}
	}
	if IsFutureDated(fund.NewDate(2030, 1, 1), fund.Date{}) {
		t.Error("a zero business date makes rows future-dated")
	}
}

func TestCheckFutureDate(t *testing.T) {
	var b strings.Builder
	b.WriteString(header6 + "\r\n \r\nOpen Ended Schemes(Debt Scheme - Liquid Fund)\r\n \r\nSome Mutual Fund\r\n \r\n")
	code := 100
	row := func(date, nav string) {
		code++
		fmt.Fprintf(&b, "%d;-;-;Fund %d;%s;%s\r\n", code, code, nav, date)
	}
	for i := 0; i < 10; i++ {
		row("29-Aug-2026", "10.5")
	}
	row("30-Aug-2026", "10.5") // +1
	row("01-Sep-2026", "10.5") // +3: allowed
	row("02-Sep-2026", "10.5") // +4: future_date
	row("02-Sep-2027", "10.5") // a year ahead: future_date
	row("31-Mar-2008", "10.5") // stale: allowed
	row("29-Aug-2026", "N.A.")
	row("29-Aug-2026", "0")
	b.WriteString("Other Mutual Fund\r\n")
	row("29-Aug-2026", "11")
	row("bad", "11")
	b.WriteString("Close Ended Schemes(Debt Scheme - Liquid Fund)\r\n")
	row("29-Aug-2026", "12")

	rep := mustCheck(t, []byte(b.String()))
	want := Report{
		Layout: LayoutNAVAll6, Rows: 15, Quarantined: 5,
		Reasons: map[string]int{ReasonFutureDate: 2, ReasonNAVNotAvailable: 1, ReasonBadNAV: 1, ReasonBadDate: 1},
		Schemes: 15, AMCs: 2, Categories: 2, // same category text under two scheme types counts twice
		MinDate: "2008-03-31", MaxDate: "2026-09-01", BusinessDate: "2026-08-29",
	}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("Check:\n got %+v\nwant %+v", rep, want)
	}
}

func TestCheckNoGoodRows(t *testing.T) {
	rep := mustCheck(t, []byte(header6+"\nOpen Ended Schemes(X)\nAMC\n1;-;-;F;N.A.;21-Aug-2026\n"))
	want := Report{Layout: LayoutNAVAll6, Quarantined: 1, Reasons: map[string]int{ReasonNAVNotAvailable: 1}}
	if !reflect.DeepEqual(rep, want) {
		t.Errorf("got %+v", rep)
	}
	rep = mustCheck(t, []byte(header6))
	if rep.Reasons == nil || rep.Rows != 0 || rep.BusinessDate != "" || rep.MinDate != "" {
		t.Errorf("header only: %+v", rep)
	}
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `"reasons":{}`) {
		t.Errorf("reasons must marshal as {}: %s", b)
	}
}

// The JSON of the report is a contract with `fundflow check nav`.
func TestReportJSON(t *testing.T) {
	rep := Report{Layout: LayoutNAVAll8PlanOpt, Rows: 3, Quarantined: 1, Reasons: map[string]int{"bad_nav": 1},
		Schemes: 3, AMCs: 2, Categories: 1, MinDate: "2026-08-20", MaxDate: "2026-08-23", BusinessDate: "2026-08-21"}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"layout":"amfi-navall-8-plan-option","rows":3,"quarantined":1,"reasons":{"bad_nav":1},"schemes":3,` +
		`"amcs":2,"categories":1,"min_date":"2026-08-20","max_date":"2026-08-23","business_date":"2026-08-21"}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}
