package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/ledger"
)

// TopicRiskAssessed is the event of an investor's new risk profile.
const TopicRiskAssessed = "risk.assessed"

// ErrNoQuestionnaire: no version of the questionnaire is in effect.
var ErrNoQuestionnaire = errors.New("no questionnaire version in effect")

// ErrNoInvestor: the investor is not known.
var ErrNoInvestor = errors.New("no such investor")

// RiskProfile is an investor's assessment as stored.
type RiskProfile struct {
	ID         int64              `json:"assessment_id"`
	InvestorID string             `json:"investor_id"`
	AssessedAt time.Time          `json:"assessed_at"`
	Assessment managed.Assessment `json:"assessment"`
}

// RiskStore is what risk profiling needs of the store.
type RiskStore interface {
	InRiskTx(ctx context.Context, fn func(RiskTx) error) error
}

// RiskTx is one transaction of risk profiling.
type RiskTx interface {
	Tx
	PutQuestionnaire(ctx context.Context, q managed.Questionnaire) error
	// QuestionnaireAt is the latest version effective on day.
	QuestionnaireAt(ctx context.Context, id string, day fund.Date) (managed.Questionnaire, bool, error)
	InvestorExists(ctx context.Context, id string) (bool, error)
	InsertAssessment(ctx context.Context, p RiskProfile) (int64, error)
	LatestAssessment(ctx context.Context, investorID string) (RiskProfile, bool, error)
}

// Risk scores investors' questionnaires into profiles and models
// (fund/managed.Questionnaire), keeping every answer sheet.
type Risk struct {
	Store         RiskStore
	Audit         bool
	Now           func() time.Time
	Questionnaire string // the questionnaire's id; "" : "risk"
}

func (r *Risk) qid() string {
	if r.Questionnaire == "" {
		return "risk"
	}
	return r.Questionnaire
}

func (r *Risk) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// PutQuestionnaire stores a questionnaire version after validating it
// (refused at load: a version already stored with other content too).
func (r *Risk) PutQuestionnaire(ctx context.Context, q managed.Questionnaire) error {
	if err := q.Validate(); err != nil {
		return err
	}
	return r.Store.InRiskTx(ctx, func(tx RiskTx) error { return tx.PutQuestionnaire(ctx, q) })
}

// Assess scores an investor's answers by the questionnaire version in
// effect today (IST) and records the assessment (answers, scores, profile,
// model) with its event and audit row. Bad answers: a *managed.FieldError.
func (r *Risk) Assess(ctx context.Context, investorID string, answers map[string]string) (RiskProfile, error) {
	var p RiskProfile
	at := r.now()
	err := r.Store.InRiskTx(ctx, func(tx RiskTx) error {
		ok, err := tx.InvestorExists(ctx, investorID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoInvestor
		}
		day := fund.DateOf(at.In(fund.IST()))
		q, ok, err := tx.QuestionnaireAt(ctx, r.qid(), day)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s on %s", ErrNoQuestionnaire, r.qid(), day)
		}
		a, err := q.Score(answers)
		if err != nil {
			return err
		}
		p = RiskProfile{InvestorID: investorID, AssessedAt: at.UTC(), Assessment: a}
		if p.ID, err = tx.InsertAssessment(ctx, p); err != nil {
			return fmt.Errorf("assessment: %w", err)
		}
		ev := ledger.Event{ID: fmt.Sprintf("%s:%d", TopicRiskAssessed, p.ID), Topic: TopicRiskAssessed, Key: investorID, Payload: p}
		if err := tx.WriteOutbox(ctx, []ledger.Event{ev}); err != nil {
			return err
		}
		if r.Audit {
			return tx.AppendAudit(ctx, []ledger.AuditEntry{{Entity: "risk_profile", ID: investorID, Action: "assessed", Payload: p}})
		}
		return nil
	})
	if err != nil {
		return RiskProfile{}, fmt.Errorf("assess %s: %w", investorID, err)
	}
	return p, nil
}

// Profile is an investor's latest assessment.
func (r *Risk) Profile(ctx context.Context, investorID string) (p RiskProfile, found bool, err error) {
	err = r.Store.InRiskTx(ctx, func(tx RiskTx) error {
		p, found, err = tx.LatestAssessment(ctx, investorID)
		return err
	})
	return p, found, err
}
