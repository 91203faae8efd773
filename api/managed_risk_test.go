package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/wallet"
)

// fakeRisk scores with a one-question questionnaire: horizon long = 10
// (aggressive), short = 0 (conservative); INV-1 was assessed before.
type fakeRisk struct{}

var riskQ = managed.Questionnaire{ID: "risk", Version: 1, Effective: fund.NewDate(2026, 1, 1), Questions: []managed.Question{{ID: "horizon", Options: []managed.Option{{Value: "short", Score: 0}, {Value: "long", Score: 10}}}},
	Bands:  []managed.Band{{Profile: "conservative", MinScore: 0}, {Profile: "moderate", MinScore: 5}, {Profile: "aggressive", MinScore: 10}},
	Models: map[string]string{"conservative": "cons", "moderate": "mod", "aggressive": "aggr"}}

func (fakeRisk) Assess(_ context.Context, id string, answers map[string]string) (wallet.RiskProfile, error) {
	if id != "INV-1" && id != "INV-2" {
		return wallet.RiskProfile{}, wallet.ErrNoInvestor
	}
	a, err := riskQ.Score(answers)
	return wallet.RiskProfile{ID: 7, InvestorID: id, AssessedAt: time.Unix(0, 0).UTC(), Assessment: a}, err
}

func (fakeRisk) Profile(_ context.Context, id string) (wallet.RiskProfile, bool, error) {
	if id != "INV-1" {
		return wallet.RiskProfile{}, false, nil
	}
	a, _ := riskQ.Score(map[string]string{"horizon": "short"})
	return wallet.RiskProfile{ID: 3, InvestorID: id, Assessment: a}, true, nil
}

func TestRiskProfileRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	tests := []struct {
		name, method, path, tok, body string
		status                        int
		profile, field                string
	}{
		{"own answers", "PUT", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1"), `{"answers": {"horizon": "long"}}`, 200, "aggressive", ""},
		{"an answer not offered", "PUT", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1"), `{"answers": {"horizon": "forever"}}`, 422, "", "answers.horizon"},
		{"a question not asked", "PUT", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1"), `{"answers": {"horizon": "long", "age": "40"}}`, 422, "", "answers.age"},
		{"no answers", "PUT", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1"), `{}`, 422, "", "answers"},
		{"an unknown field", "PUT", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1"), `{"answers": {}, "x": 1}`, 400, "", ""},
		{"another's", "PUT", "/v1/investors/INV-2/risk-profile", investor(t, "INV-1"), `{"answers": {"horizon": "long"}}`, 404, "", ""},
		{"narrowed to folios", "PUT", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1", "F-1"), `{"answers": {"horizon": "long"}}`, 404, "", ""},
		{"ops for an investor", "PUT", "/v1/investors/INV-2/risk-profile", token(t, claims(api.RoleOps, "ops-1", time.Hour)), `{"answers": {"horizon": "short"}}`, 200, "conservative", ""},
		{"own latest", "GET", "/v1/investors/INV-1/risk-profile", investor(t, "INV-1"), "", 200, "conservative", ""},
		{"never assessed", "GET", "/v1/investors/INV-2/risk-profile", investor(t, "INV-2"), "", 404, "", ""},
		{"another's latest", "GET", "/v1/investors/INV-1/risk-profile", investor(t, "INV-2"), "", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := e.do(t, tt.method, tt.path, tt.tok, tt.body)
			if status != tt.status {
				t.Fatalf("%d %s, want %d", status, body, tt.status)
			}
			switch {
			case tt.profile != "":
				var rp wallet.RiskProfile
				if err := json.Unmarshal(body, &rp); err != nil || rp.Assessment.Profile != tt.profile || rp.Assessment.Model == "" {
					t.Errorf("%s %v", body, err)
				}
			case tt.field != "":
				var p api.Problem
				if err := json.Unmarshal(body, &p); err != nil || len(p.Errors) != 1 || p.Errors[0].Field != tt.field {
					t.Errorf("%s, want the field %s", body, tt.field)
				}
			}
		})
	}
	e2 := setup(t, func(c *api.Config) { c.RiskProfiles = nil })
	if status, _, _ := e2.get(t, "/v1/investors/INV-1/risk-profile", investor(t, "INV-1")); status != http.StatusServiceUnavailable {
		t.Errorf("not served: %d", status)
	}
}
