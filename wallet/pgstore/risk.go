package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.RiskStore = Store{}
var _ wallet.RiskTx = Tx{}

// InRiskTx runs fn in one transaction.
func (s Store) InRiskTx(ctx context.Context, fn func(wallet.RiskTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// PutQuestionnaire stores a version (the same again is fine; other content
// under a stored version is refused).
func (t Tx) PutQuestionnaire(ctx context.Context, q managed.Questionnaire) error {
	body, err := json.Marshal(q)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO risk_questionnaires (id, version, effective, body) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id, version) DO NOTHING`, q.ID, q.Version, q.Effective.Time(), string(body))
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	var same bool
	if err := t.tx.QueryRow(ctx, `SELECT body = $3::jsonb FROM risk_questionnaires WHERE id = $1 AND version = $2`, q.ID, q.Version, string(body)).Scan(&same); err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("questionnaire %s version %d exists with other content: make a new version", q.ID, q.Version)
	}
	return nil
}

// QuestionnaireAt reads the latest version effective on day, validated
// again.
func (t Tx) QuestionnaireAt(ctx context.Context, id string, day fund.Date) (managed.Questionnaire, bool, error) {
	var body []byte
	err := t.tx.QueryRow(ctx, `SELECT body FROM risk_questionnaires WHERE id = $1 AND effective <= $2 ORDER BY effective DESC, version DESC LIMIT 1`,
		id, day.Time()).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return managed.Questionnaire{}, false, nil
	}
	if err != nil {
		return managed.Questionnaire{}, false, err
	}
	q, err := managed.ParseQuestionnaire(body)
	return q, err == nil, err
}

// InvestorExists says whether the investor is known.
func (t Tx) InvestorExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM investors WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}

// InsertAssessment appends an assessment.
func (t Tx) InsertAssessment(ctx context.Context, p wallet.RiskProfile) (int64, error) {
	ans, err := json.Marshal(p.Assessment.Answers)
	if err != nil {
		return 0, err
	}
	a := p.Assessment
	var id int64
	err = t.tx.QueryRow(ctx, `INSERT INTO risk_assessments (investor_id, questionnaire_id, questionnaire_version, answers, score, profile, model_id, assessed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, p.InvestorID, a.Questionnaire, a.Version, string(ans), a.Score, a.Profile, a.Model, p.AssessedAt).Scan(&id)
	return id, err
}

// LatestAssessment reads an investor's latest assessment.
func (t Tx) LatestAssessment(ctx context.Context, investorID string) (wallet.RiskProfile, bool, error) {
	p := wallet.RiskProfile{InvestorID: investorID}
	var ans []byte
	var eff time.Time
	err := t.tx.QueryRow(ctx, `SELECT a.id, a.questionnaire_id, a.questionnaire_version, a.answers, a.score, a.profile, a.model_id, a.assessed_at, q.effective
		FROM risk_assessments a JOIN risk_questionnaires q ON q.id = a.questionnaire_id AND q.version = a.questionnaire_version
		WHERE a.investor_id = $1 ORDER BY a.assessed_at DESC, a.id DESC LIMIT 1`, investorID).
		Scan(&p.ID, &p.Assessment.Questionnaire, &p.Assessment.Version, &ans, &p.Assessment.Score, &p.Assessment.Profile, &p.Assessment.Model, &p.AssessedAt, &eff)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	p.Assessment.Effective = fund.DateOf(eff)
	p.AssessedAt = p.AssessedAt.UTC()
	if err := json.Unmarshal(ans, &p.Assessment.Answers); err != nil {
		return p, false, fmt.Errorf("assessment %d answers: %w", p.ID, err)
	}
	return p, true, nil
}
