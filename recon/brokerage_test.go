package recon

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

func bl(arn, folio, scheme, aum, pct, amt, claw string) BrokerageLine {
	return BrokerageLine{ARN: arn, Folio: folio, Scheme: scheme, Month: "2026-04", AvgAUM: decimal.RequireFromString(aum),
		TrailPct: decimal.RequireFromString(pct), Brokerage: fund.MustAmount(amt), Clawback: fund.MustAmount(claw)}
}

// A clean statement gives no break; each injected difference is found once,
// with its type (the truth is the injection).
func TestReconcileBrokerage(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 7))
	var ours []BrokerageLine
	for i := 0; i < 200; i++ {
		ours = append(ours, bl(fmt.Sprintf("ARN-%d", i%7), fmt.Sprintf("F%d", i), "S1",
			fmt.Sprintf("%d.%02d", rng.IntN(1000000), rng.IntN(100)), "1.00", fmt.Sprintf("%d.%02d", rng.IntN(1000), rng.IntN(100)), "0.00"))
	}
	if got := ReconcileBrokerage(ours, ours); len(got) != 0 {
		t.Fatalf("clean: %v", got)
	}
	amc := append([]BrokerageLine(nil), ours...)
	truth := map[string]string{}
	inject := func(i int, typ string, f func(*BrokerageLine)) {
		f(&amc[i])
		truth[ours[i].key()] = typ
	}
	inject(3, BreakRate, func(l *BrokerageLine) { l.TrailPct = decimal.RequireFromString("0.90") })
	inject(5, BreakAUM, func(l *BrokerageLine) { l.AvgAUM = l.AvgAUM.Add(decimal.RequireFromString("1.01")) })
	inject(8, BreakAmount, func(l *BrokerageLine) { l.Brokerage = l.Brokerage.Add(fund.MustAmount("0.01")) })
	inject(13, BreakClawback, func(l *BrokerageLine) { l.Clawback = fund.MustAmount("12.53") })
	// Within tolerance: ₹1.00 of AUM is rounding, no break.
	amc[21].AvgAUM = amc[21].AvgAUM.Add(decimal.RequireFromString("1.00"))
	// A line the AMC pays that we never accrued, and one of ours it dropped.
	amc = append(amc, bl("ARN-9", "F999", "S1", "100.00", "1.00", "0.10", "0.00"))
	truth["ARN-9|F999|S1|2026-04"] = BreakMissingInLedger
	truth[ours[34].key()] = BreakMissingAtAMC
	amc = append(amc[:34], amc[35:]...)
	got := ReconcileBrokerage(ours, amc)
	if len(got) != len(truth) {
		t.Errorf("%d breaks; want %d: %+v", len(got), len(truth), got)
	}
	for _, b := range got {
		if truth[b.Key] != b.Type {
			t.Errorf("%s: %s; want %s", b.Key, b.Type, truth[b.Key])
		}
	}
}

const statement = BrokerageHeader + `
ARN-1,F1,S1,2026-04,10000.50,1.00,8.22,0.00
ARN-1,F2,S1,2026-4,10000.50,1.00,8.22,0.00
ARN-1,F3,S1,2026-04,-1,1.00,8.22,0.00
ARN-1,F4,S1,2026-04,10000,1.00,8.225,0.00
ARN-1,F5,S1,2026-04,10000,1.00,8.22
`

func TestParseBrokerageStatement(t *testing.T) {
	lines, bad, err := ParseBrokerageStatement(strings.NewReader(statement))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Folio != "F1" || lines[0].Line != 2 || lines[0].Brokerage.String() != "8.22" {
		t.Errorf("lines %+v", lines)
	}
	want := map[int]string{3: "bad_field: month", 4: "bad_field: avg_aum", 5: "bad_field: brokerage", 6: "bad_field_count"}
	for _, b := range bad {
		if !strings.HasPrefix(b.Reason, want[b.Line]) || want[b.Line] == "" {
			t.Errorf("line %d: %s; want %s", b.Line, b.Reason, want[b.Line])
		}
	}
	if len(bad) != len(want) {
		t.Errorf("%d bad; want %d", len(bad), len(want))
	}
}

// FuzzParseBrokerageStatement: no input panics; every non-blank data line
// is read or refused with a reason.
func FuzzParseBrokerageStatement(f *testing.F) {
	f.Add(statement)
	f.Add("")
	f.Add(BrokerageHeader + "\n,,,,,,,\n")
	f.Fuzz(func(t *testing.T, in string) {
		lines, bad, err := ParseBrokerageStatement(strings.NewReader(in))
		if err != nil {
			return // a line over the scanner's limit
		}
		for _, b := range bad {
			if b.Reason == "" {
				t.Fatalf("a refusal without reason: %+v", b)
			}
		}
		for _, l := range lines {
			if l.Line == 0 || l.AvgAUM.IsNegative() {
				t.Fatalf("bad line accepted: %+v", l)
			}
		}
	})
}
