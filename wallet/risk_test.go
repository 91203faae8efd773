package wallet_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/wallet"
	"github.com/fundflow/fundflow/wallet/pgstore"
)

func TestRiskAssessment(t *testing.T) {
	e := newEnv(t)
	r := &wallet.Risk{Store: pgstore.Store{Pool: e.db.Read}, Audit: true, Now: func() time.Time { return clock }}
	b, err := os.ReadFile("../fund/managed/testdata/questionnaire.json")
	if err != nil {
		t.Fatal(err)
	}
	q, err := managed.ParseQuestionnaire(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Assess(e.ctx, "INV-1", map[string]string{"horizon": "over_7y"}); !errors.Is(err, wallet.ErrNoQuestionnaire) {
		t.Fatalf("before any questionnaire: %v", err)
	}
	if err := r.PutQuestionnaire(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := r.PutQuestionnaire(e.ctx, q); err != nil {
		t.Fatalf("the same version again: %v", err)
	}
	q2 := q
	q2.Bands = append([]managed.Band(nil), q.Bands...)
	q2.Bands[1].MinScore = 6
	if err := r.PutQuestionnaire(e.ctx, q2); err == nil {
		t.Error("version 1 rewritten")
	}
	// 3 + 2 + 0 = 5: moderate (its minimum).
	p, err := r.Assess(e.ctx, "INV-1", map[string]string{"horizon": "3_to_7y", "drawdown": "hold", "income": "unstable"})
	if err != nil || p.Assessment.Score != 5 || p.Assessment.Profile != "moderate" || p.Assessment.Model != "moderate" {
		t.Fatalf("%+v %v", p, err)
	}
	var fe *managed.FieldError
	if _, err := r.Assess(e.ctx, "INV-1", map[string]string{"horizon": "3_to_7y"}); !errors.As(err, &fe) || fe.Field != "answers.drawdown" {
		t.Errorf("unanswered: %v", err)
	}
	if _, err := r.Assess(e.ctx, "NOPE", map[string]string{}); !errors.Is(err, wallet.ErrNoInvestor) {
		t.Errorf("unknown investor: %v", err)
	}
	got, ok, err := r.Profile(e.ctx, "INV-1")
	if err != nil || !ok || got.ID != p.ID || got.Assessment.Profile != "moderate" || len(got.Assessment.Answers) != 3 ||
		got.Assessment.Answers[1] != (managed.Answer{Question: "drawdown", Value: "hold", Score: 2}) || got.Assessment.Effective != q.Effective {
		t.Errorf("profile %+v %v %v", got, ok, err)
	}
	if n := e.db.Num(`SELECT count(*) FROM outbox WHERE topic = 'risk.assessed'`); n != 1 {
		t.Errorf("%d risk.assessed events", n)
	}
}
