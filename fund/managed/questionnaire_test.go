package managed_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund/managed"
)

func questionnaire(t testing.TB) managed.Questionnaire {
	b, err := os.ReadFile("testdata/questionnaire.json")
	if err != nil {
		t.Fatal(err)
	}
	q, err := managed.ParseQuestionnaire(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestQuestionnaireScore(t *testing.T) {
	q := questionnaire(t)
	tests := []struct {
		name                      string
		horizon, drawdown, income string
		score                     int
		profile                   string
	}{
		{"lowest", "under_3y", "sell_all", "unstable", 0, "conservative"},                  // 0 + 0 + 0
		{"just below moderate", "3_to_7y", "sell_all", "unstable", 3, "conservative"},      // 3 + 0 + 0
		{"moderate at its minimum", "3_to_7y", "hold", "unstable", 5, "moderate"},          // 3 + 2 + 0
		{"moderate below aggressive", "3_to_7y", "buy_more", "stable", 9, "moderate"},      // 3 + 4 + 2
		{"aggressive at its minimum", "over_7y", "buy_more", "unstable", 10, "aggressive"}, // 6 + 4 + 0
		{"highest", "over_7y", "buy_more", "stable", 12, "aggressive"},                     // 6 + 4 + 2
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := q.Score(map[string]string{"horizon": tt.horizon, "drawdown": tt.drawdown, "income": tt.income})
			if err != nil {
				t.Fatal(err)
			}
			if a.Score != tt.score || a.Profile != tt.profile || a.Model != tt.profile || len(a.Answers) != 3 || a.Answers[0].Question != "horizon" {
				t.Errorf("%+v, want score %d, profile %s", a, tt.score, tt.profile)
			}
		})
	}
}

func TestQuestionnaireRefusesBadAnswers(t *testing.T) {
	q := questionnaire(t)
	tests := []struct {
		answers map[string]string
		field   string
	}{
		{map[string]string{"horizon": "over_7y", "drawdown": "hold"}, "answers.income"},
		{map[string]string{"horizon": "forever", "drawdown": "hold", "income": "stable"}, "answers.horizon"},
		{map[string]string{"horizon": "over_7y", "drawdown": "hold", "income": "stable", "age": "40"}, "answers.age"},
	}
	for _, tt := range tests {
		_, err := q.Score(tt.answers)
		var fe *managed.FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%v: %v, want a field error on %s", tt.answers, err, tt.field)
		}
	}
}

func TestQuestionnaireRefusedAtLoad(t *testing.T) {
	good, err := os.ReadFile("testdata/questionnaire.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, to, field string
	}{
		{"bands out of order", `{"profile": "moderate", "min_score": 5}`, `{"profile": "moderate", "min_score": 0}`, "bands[1].min_score"},
		{"lowest band above the lowest score", `{"profile": "conservative", "min_score": 0}`, `{"profile": "conservative", "min_score": 1}`, "bands[0].min_score"},
		{"a profile without a model", `"aggressive": "aggressive"`, `"aggressive": ""`, "models.aggressive"},
		{"an answer twice", `{"value": "stable", "score": 2}`, `{"value": "unstable", "score": 2}`, "questions[2].options[1].value"},
		{"a negative score", `{"value": "hold", "score": 2}`, `{"value": "hold", "score": -2}`, "questions[1].options[1].score"},
		{"an unknown field", `"version": 1,`, `"version": 1, "extra": true,`, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.Replace(string(good), tt.from, tt.to, 1)
			if b == string(good) {
				t.Fatalf("%q not in the fixture", tt.from)
			}
			_, err := managed.ParseQuestionnaire([]byte(b))
			var fe *managed.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("%v, want a field error on %s", err, tt.field)
			}
		})
	}
}

// FuzzQuestionnaire: any bytes either fail with a field error or give a
// questionnaire whose every answer sheet of first answers scores into a
// profile with a model.
func FuzzQuestionnaire(f *testing.F) {
	good, err := os.ReadFile("testdata/questionnaire.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"x","version":1,"effective":"2026-01-01","questions":[{"id":"a","options":[{"value":"p","score":0},{"value":"q","score":9}]}],"bands":[{"profile":"conservative","min_score":0},{"profile":"moderate","min_score":1},{"profile":"aggressive","min_score":2}],"models":{"conservative":"c","moderate":"m","aggressive":"a"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := managed.ParseQuestionnaire(b)
		if err != nil {
			var fe *managed.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("not a field error: %v", err)
			}
			return
		}
		for i := range 2 {
			ans := map[string]string{}
			for _, qu := range q.Questions {
				ans[qu.ID] = qu.Options[i%len(qu.Options)].Value
			}
			a, err := q.Score(ans)
			if err != nil || a.Profile == "" || a.Model == "" {
				t.Fatalf("%+v %v", a, err)
			}
		}
	})
}
