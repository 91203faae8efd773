package fraud

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
)

func TestShippedRulesParse(t *testing.T) {
	rs := Shipped()
	if rs.Version != 1 {
		t.Errorf("version %d", rs.Version)
	}
	kinds := map[Kind]bool{}
	for _, r := range rs.Rules {
		kinds[r.Kind] = true
	}
	// the six the issue asks for
	for _, k := range []Kind{KindRedemptionVelocity, KindAccountTakeover, KindSharedContact, KindRoundTrip, KindFailedPayments, KindStructuring} {
		if !kinds[k] {
			t.Errorf("shipped rules lack a %s rule", k)
		}
	}
	s, ok := rs.Rule("structuring")
	if !ok || !s.Amount.Equal(fund.MustAmount("50000")) || !s.Band.Equal(fund.MustAmount("5000")) || s.MinCount != 3 || s.Window != 720*time.Hour {
		t.Errorf("structuring = %+v", s)
	}
	a, _ := rs.Rule("ato-redemption")
	if !a.MinPct.Equal(decimal.NewFromInt(50)) || a.Action != ActionHold || len(a.Fields) != 3 {
		t.Errorf("ato = %+v", a)
	}
}

const goodRule = `version: 1
rules:
  - id: v1
    kind: redemption_velocity
    scope: investor
    window: 24h
    action: alert
    thresholds:
      max_count: 3
`

// Each bad file names the field and the line a person must fix.
func TestParseRulesErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // "line N: path: substring"
	}{
		{"empty", "", []string{"line 1: (yaml): the file is empty"}},
		{"syntax", "version: 1\nrules:\n  - id: [x\n", []string{"YAML syntax error"}},
		{"version", strings.Replace(goodRule, "version: 1", "version: 2", 1), []string{"line 1: version: must be 1..1"}},
		{"unknown field", strings.Replace(goodRule, "    action: alert", "    actoin: alert", 1),
			[]string{`line 7: rules[0].actoin: unknown field "actoin"`, `rules[0].action: "" is not an action`}},
		{"bad kind", strings.Replace(goodRule, "redemption_velocity", "velocity", 1), []string{`line 4: rules[0].kind: "velocity" is not a rule kind`}},
		{"bad scope", strings.Replace(goodRule, "scope: investor", "scope: bank", 1), []string{`line 5: rules[0].scope: "bank" is not a scope of a redemption_velocity rule (one of investor, folio)`}},
		{"window words", strings.Replace(goodRule, "24h", "1 day", 1), []string{`line 6: rules[0].window: "1 day" is not a duration`}},
		{"no window", strings.Replace(goodRule, "    window: 24h\n", "", 1), []string{`line 3: rules[0].window: must be between 1s and 8784h`}},
		{"missing threshold", strings.Replace(goodRule, "max_count: 3", "min_count: 3", 1),
			[]string{`line 8: rules[0].thresholds.max_count: a redemption_velocity rule needs thresholds.max_count`,
				`line 9: rules[0].thresholds.min_count: a redemption_velocity rule does not use thresholds.min_count`}},
		{"count type", strings.Replace(goodRule, "max_count: 3", "max_count: three", 1), []string{`line 9: rules[0].thresholds.max_count: "three" is not a whole number`}},
		{"dup id", goodRule + strings.SplitN(goodRule, "rules:\n", 2)[1], []string{`line 10: rules[1].id: "v1" is also the id of rules[0]`}},
		{"hold on profile rule", `version: 1
rules:
  - id: m
    kind: shared_contact
    scope: bank
    window: 24h
    action: hold
    thresholds: {max_investors: 2}
`, []string{`line 7: rules[0].action: a shared_contact rule fires on a profile change`}},
		{"pct and fields", `version: 1
rules:
  - id: a
    kind: account_takeover
    scope: investor
    window: 24h
    action: hold
    thresholds:
      min_pct: 120
      fields: [bank_account, pan]
`, []string{`line 9: rules[0].thresholds.min_pct: "120" is not a percentage`, `line 10: rules[0].thresholds.fields[1]: "pan" is not a profile field`}},
		{"band over amount", `version: 1
rules:
  - id: s
    kind: structuring
    scope: folio
    window: 24h
    action: alert
    thresholds:
      min_count: 2
      amount: 50000
      band: 60000.001
`, []string{`line 11: rules[0].thresholds.band: "60000.001" is not an amount`}},
		{"band more than amount", `version: 1
rules:
  - id: s
    kind: structuring
    scope: folio
    window: 24h
    action: alert
    thresholds: {min_count: 2, amount: 50000, band: 60000}
`, []string{`line 8: rules[0].thresholds.band: 60000.00 is more than thresholds.amount (50000.00)`}},
		{"bad id", strings.Replace(goodRule, "id: v1", "id: V 1", 1), []string{`line 3: rules[0].id: "V 1" is not a rule id`}},
		{"no rules", "version: 1\nrules: []\n", []string{"line 2: rules: no rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules("r.yaml", []byte(tt.yaml))
			var ce *config.Errors
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *config.Errors", err)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("error lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestParseRulesGood(t *testing.T) {
	rs, err := ParseRules("r.yaml", []byte(goodRule))
	if err != nil {
		t.Fatal(err)
	}
	want := Rule{ID: "v1", Kind: KindRedemptionVelocity, Scope: ScopeInvestor, Window: 24 * time.Hour, Action: ActionAlert, MaxCount: 3}
	if got := rs.Rules[0]; got.ID != want.ID || got.Kind != want.Kind || got.Scope != want.Scope || got.Window != want.Window || got.Action != want.Action || got.MaxCount != want.MaxCount {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
