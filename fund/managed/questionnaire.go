package managed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/fundflow/fundflow/fund"
)

// Questionnaire is one version of the risk questionnaire, effective from a
// date: its questions (each answer scores points), the score bands that
// make a profile, and the model portfolio each profile invests in.
type Questionnaire struct {
	ID        string            `json:"id"`
	Version   int               `json:"version"`
	Effective fund.Date         `json:"effective"`
	Questions []Question        `json:"questions"`
	Bands     []Band            `json:"bands"`  // by min_score, ascending: conservative, moderate, aggressive
	Models    map[string]string `json:"models"` // profile → model id
}

// Question is one question and its answers.
type Question struct {
	ID      string   `json:"id"`
	Text    string   `json:"text"`
	Options []Option `json:"options"`
}

// Option is one answer and the points it scores.
type Option struct {
	Value string `json:"value"`
	Score int    `json:"score"`
}

// Band: a total score of at least MinScore (and below the next band's) is
// Profile.
type Band struct {
	Profile  string `json:"profile"`
	MinScore int    `json:"min_score"`
}

// FieldError names the field of a questionnaire or an answer sheet that is
// wrong (the API answers it as a 422 naming the field).
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// profileOrder is the bands' order, least risk first.
var profileOrder = []string{Conservative, Moderate, Aggressive}

// Validate refuses a questionnaire that cannot score every answer sheet
// into exactly one profile with a model: no questions, a question or an
// answer twice, fewer than two answers to a question, a negative score,
// bands that are not the three profiles in order with rising minimums, a
// lowest band above the lowest possible score, or a profile without a
// model.
func (q Questionnaire) Validate() error {
	switch {
	case q.ID == "":
		return fieldErr("id", "empty")
	case q.Version < 1:
		return fieldErr("version", "%d is below 1", q.Version)
	case q.Effective.IsZero():
		return fieldErr("effective", "missing")
	case len(q.Questions) == 0:
		return fieldErr("questions", "none")
	}
	seen := map[string]bool{}
	minTotal := 0
	for i, qu := range q.Questions {
		f := fmt.Sprintf("questions[%d]", i)
		if qu.ID == "" {
			return fieldErr(f+".id", "empty")
		}
		if seen[qu.ID] {
			return fieldErr(f+".id", "%q is listed twice", qu.ID)
		}
		seen[qu.ID] = true
		if len(qu.Options) < 2 {
			return fieldErr(f+".options", "a question needs at least two answers")
		}
		vals := map[string]bool{}
		low := -1
		for j, o := range qu.Options {
			of := fmt.Sprintf("%s.options[%d]", f, j)
			if o.Value == "" {
				return fieldErr(of+".value", "empty")
			}
			if vals[o.Value] {
				return fieldErr(of+".value", "%q is listed twice", o.Value)
			}
			vals[o.Value] = true
			if o.Score < 0 || o.Score > 1000 {
				return fieldErr(of+".score", "%d is not in [0, 1000]", o.Score)
			}
			if low < 0 || o.Score < low {
				low = o.Score
			}
		}
		minTotal += low
	}
	if len(q.Bands) != len(profileOrder) {
		return fieldErr("bands", "want one band for each of conservative, moderate, aggressive, in that order")
	}
	for i, b := range q.Bands {
		f := fmt.Sprintf("bands[%d]", i)
		if b.Profile != profileOrder[i] {
			return fieldErr(f+".profile", "%q: want %s here", b.Profile, profileOrder[i])
		}
		if i > 0 && b.MinScore <= q.Bands[i-1].MinScore {
			return fieldErr(f+".min_score", "%d does not rise above %d", b.MinScore, q.Bands[i-1].MinScore)
		}
	}
	if q.Bands[0].MinScore > minTotal {
		return fieldErr("bands[0].min_score", "%d is above the lowest possible score %d: some answers would have no profile", q.Bands[0].MinScore, minTotal)
	}
	for _, p := range profileOrder {
		if q.Models[p] == "" {
			return fieldErr("models."+p, "no model for the %s profile", p)
		}
	}
	for p := range q.Models {
		if p != Conservative && p != Moderate && p != Aggressive {
			return fieldErr("models."+p, "not a profile")
		}
	}
	return nil
}

// ParseQuestionnaire decodes a questionnaire strictly (unknown fields and
// trailing data are errors) and validates it.
func ParseQuestionnaire(b []byte) (Questionnaire, error) {
	var q Questionnaire
	if err := strictJSON(b, &q); err != nil {
		return Questionnaire{}, fieldErr("body", "%v", err)
	}
	if err := q.Validate(); err != nil {
		return Questionnaire{}, err
	}
	return q, nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// Answer is one answered question, kept as the evidence of an assessment.
type Answer struct {
	Question string `json:"question"`
	Value    string `json:"value"`
	Score    int    `json:"score"`
}

// Assessment is an answer sheet scored into a profile and its model.
type Assessment struct {
	Questionnaire string    `json:"questionnaire"`
	Version       int       `json:"questionnaire_version"`
	Answers       []Answer  `json:"answers"` // in the questionnaire's order
	Score         int       `json:"score"`
	Profile       string    `json:"profile"`
	Model         string    `json:"model"`
	Effective     fund.Date `json:"effective"` // the questionnaire version's
}

// Score scores an answer sheet (question id → the answer's value): every
// question answered with one of its answers, no other keys. The profile is
// the band with the highest minimum at or below the total.
func (q Questionnaire) Score(answers map[string]string) (Assessment, error) {
	a := Assessment{Questionnaire: q.ID, Version: q.Version, Effective: q.Effective}
	known := map[string]bool{}
	for _, qu := range q.Questions {
		known[qu.ID] = true
		v, ok := answers[qu.ID]
		if !ok {
			return Assessment{}, fieldErr("answers."+qu.ID, "not answered")
		}
		found := false
		for _, o := range qu.Options {
			if o.Value == v {
				a.Answers = append(a.Answers, Answer{Question: qu.ID, Value: v, Score: o.Score})
				a.Score += o.Score
				found = true
				break
			}
		}
		if !found {
			return Assessment{}, fieldErr("answers."+qu.ID, "%q is not one of its answers", v)
		}
	}
	extra := []string{}
	for k := range answers {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return Assessment{}, fieldErr("answers."+extra[0], "no such question in %s version %d", q.ID, q.Version)
	}
	for _, b := range q.Bands {
		if a.Score >= b.MinScore {
			a.Profile = b.Profile
		}
	}
	if a.Profile == "" { // unreachable for a validated questionnaire
		return Assessment{}, fieldErr("answers", "score %d is below every band", a.Score)
	}
	a.Model = q.Models[a.Profile]
	return a, nil
}
