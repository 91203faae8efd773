package recon

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The generated statement, written and read back, reconciles with our lines
// to exactly its truth: every injected difference found with its type,
// nothing else; a clean statement gives no break.
func TestGeneratedBrokerageStatementTruthIsFound(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	var ours []BrokerageLine
	for i := 0; i < 300; i++ {
		ours = append(ours, bl(fmt.Sprintf("ARN-%d", i%11), fmt.Sprintf("F%d", i), fmt.Sprintf("S%d", i%4),
			fmt.Sprintf("%d.%02d", rng.IntN(1000000), rng.IntN(100)), "0.85", fmt.Sprintf("%d.%02d", rng.IntN(1000), rng.IntN(100)),
			fmt.Sprintf("%d.%02d", rng.IntN(3), rng.IntN(100))))
	}
	roundTrip := func(lines []BrokerageLine) []BrokerageLine {
		var b bytes.Buffer
		if err := WriteBrokerageStatement(&b, lines); err != nil {
			t.Fatal(err)
		}
		got, bad, err := ParseBrokerageStatement(&b)
		if err != nil || len(bad) != 0 {
			t.Fatalf("the generated statement does not read back: %v %+v", err, bad)
		}
		return got
	}
	for _, c := range []struct {
		name  string
		opt   BrokerageGenOptions
		types map[string]bool
	}{
		{"clean", BrokerageGenOptions{Seed: 1}, nil},
		{"all kinds", BrokerageGenOptions{Seed: 2, Rate: 0.3}, map[string]bool{BreakMissingAtAMC: true, BreakMissingInLedger: true,
			BreakRate: true, BreakAUM: true, BreakAmount: true, BreakClawback: true}},
		{"rate only", BrokerageGenOptions{Seed: 3, Rate: 0.1, Types: []string{BreakRate}}, map[string]bool{BreakRate: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			amc, truth, err := GenerateBrokerageStatement(ours, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			var tb bytes.Buffer
			if err := WriteBrokerageTruth(&tb, truth); err != nil {
				t.Fatal(err)
			}
			truth2, err := ReadBrokerageTruth(&tb)
			if err != nil || len(truth2) != len(truth) {
				t.Fatalf("truth read back: %d of %d, %v", len(truth2), len(truth), err)
			}
			breaks := ReconcileBrokerage(ours, roundTrip(amc))
			s := ScoreBrokerage(breaks, truth2)
			if s.Found != len(truth) || len(s.Missed) != 0 || len(s.Unexpected) != 0 {
				t.Fatalf("found %d of %d; missed %+v; unexpected %+v", s.Found, len(truth), s.Missed, s.Unexpected)
			}
			seen := map[string]bool{}
			for _, tr := range truth {
				seen[tr.Type] = true
			}
			for k := range c.types {
				if !seen[k] {
					t.Errorf("no %s injected", k)
				}
			}
			if c.types == nil && len(breaks) != 0 {
				t.Errorf("clean statement: %d breaks", len(breaks))
			}
		})
	}
	if _, _, err := GenerateBrokerageStatement(ours, BrokerageGenOptions{Rate: 0.5, Types: []string{"typo"}}); err == nil {
		t.Error("an unknown injection was accepted")
	}
}
