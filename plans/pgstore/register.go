package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/sinks/postgres"
)

var _ plans.Store = Store{}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const planColumns = `id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, coalesce(to_scheme_code, ''),
	coalesce(mandate_id, ''), coalesce(wallet_id, ''), frequency, start_date, end_date, instalments, step_up_amount, step_up_pct, status, status_reason,
	consecutive_failures, registered_at, updated_at`

// scanPlan reads one row of planColumns.
func scanPlan(row pgx.Row) (p plans.Plan, fingerprint string, err error) {
	var start time.Time
	var end *time.Time
	var inst *int32
	var stepAmt, stepPct *decimal.Decimal
	if err := row.Scan(&p.ID, &p.ClientID, &fingerprint, &p.Kind, &p.InvestorID, &p.Folio, &p.SchemeCode, &p.ToSchemeCode,
		&p.MandateID, &p.WalletID, &p.Frequency, &start, &end, &inst, &stepAmt, &stepPct, &p.Status, &p.StatusReason,
		&p.ConsecutiveFailures, &p.RegisteredAt, &p.UpdatedAt); err != nil {
		return p, "", err
	}
	p.StartDate = fund.DateOf(start)
	if end != nil {
		d := fund.DateOf(*end)
		p.EndDate = &d
	}
	if inst != nil {
		n := int(*inst)
		p.Instalments = &n
	}
	if stepAmt != nil {
		a, err := fund.AmountFromDecimal(*stepAmt, fund.NoRounding)
		if err != nil {
			return p, "", fmt.Errorf("plan %s step_up_amount: %w", p.ID, err)
		}
		p.StepUpAmount = &a
	}
	if stepPct != nil {
		pct := plans.PercentOf(*stepPct)
		p.StepUpPct = &pct
	}
	return p, fingerprint, nil
}

// loadPlan reads plan id with its versions and pauses (lock: FOR UPDATE,
// in q's transaction).
func loadPlan(ctx context.Context, q querier, id string, lock bool) (p plans.Plan, fingerprint string, found bool, err error) {
	sql := `SELECT ` + planColumns + ` FROM plans WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	p, fingerprint, err = scanPlan(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, "", false, nil
	}
	if err != nil {
		return p, "", false, err
	}
	if err := loadTerms(ctx, q, []*plans.Plan{&p}); err != nil {
		return p, "", false, err
	}
	return p, fingerprint, true, nil
}

// loadTerms fills the plans' versions and pauses, two queries for all.
func loadTerms(ctx context.Context, q querier, ps []*plans.Plan) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]string, len(ps))
	byID := make(map[string]*plans.Plan, len(ps))
	for i, p := range ps {
		ids[i], byID[p.ID] = p.ID, p
	}
	rows, err := q.Query(ctx, `SELECT plan_id, version, effective_from, amount, day_of_month, weekday FROM plan_versions
		WHERE plan_id = ANY($1) ORDER BY plan_id, version`, ids)
	if err != nil {
		return err
	}
	var pid string
	var v plans.Version
	var eff time.Time
	var amt decimal.Decimal
	var day, wd *int16
	if _, err := pgx.ForEachRow(rows, []any{&pid, &v.Version, &eff, &amt, &day, &wd}, func() error {
		a, err := fund.AmountFromDecimal(amt, fund.NoRounding)
		if err != nil {
			return fmt.Errorf("plan %s version %d amount: %w", pid, v.Version, err)
		}
		nv := plans.Version{Version: v.Version, EffectiveFrom: fund.DateOf(eff), Amount: a}
		if day != nil {
			d := int(*day)
			nv.DayOfMonth = &d
		}
		if wd != nil {
			w := plans.Weekday(*wd)
			nv.Weekday = &w
		}
		byID[pid].Versions = append(byID[pid].Versions, nv)
		return nil
	}); err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT plan_id, from_seq, to_seq FROM plan_pauses WHERE plan_id = ANY($1) ORDER BY plan_id, from_seq`, ids)
	if err != nil {
		return err
	}
	var pz plans.Pause
	_, err = pgx.ForEachRow(rows, []any{&pid, &pz.FromSeq, &pz.ToSeq}, func() error {
		byID[pid].Pauses = append(byID[pid].Pauses, pz)
		return nil
	})
	return err
}

// PlanByClientID returns the plan registered under clientID.
func (s Store) PlanByClientID(ctx context.Context, clientID string) (plans.Plan, string, bool, error) {
	var id string
	err := s.Pool.QueryRow(ctx, `SELECT id FROM plans WHERE client_id = $1`, clientID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return plans.Plan{}, "", false, nil
	}
	if err != nil {
		return plans.Plan{}, "", false, postgres.Classify(err)
	}
	p, fp, found, err := loadPlan(ctx, s.Pool, id, false)
	return p, fp, found, postgres.Classify(err)
}

// RegistrationFacts reads the folio, the schemes, the scheme's plan terms
// and the mandate a registration names, in one snapshot.
func (s Store) RegistrationFacts(ctx context.Context, req plans.RegisterRequest) (plans.RegistrationFacts, error) {
	f := plans.RegistrationFacts{Schemes: map[string]bool{}}
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT investor_id FROM folios WHERE folio_no = $1`, req.Folio).Scan(&f.FolioOwner)
		switch {
		case err == nil:
			f.FolioFound = true
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("folio: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT code FROM schemes WHERE code = ANY($1)`, []string{req.SchemeCode, req.ToSchemeCode})
		if err != nil {
			return fmt.Errorf("schemes: %w", err)
		}
		var code string
		if _, err := pgx.ForEachRow(rows, []any{&code}, func() error { f.Schemes[code] = true; return nil }); err != nil {
			return fmt.Errorf("schemes: %w", err)
		}
		var t plans.Terms
		var days []int16
		err = tx.QueryRow(ctx, `SELECT min_amount, multiple, allowed_days, min_first_gap_days, min_instalments FROM scheme_plan_terms
			WHERE scheme_code = $1 AND kind = $2 AND frequency = $3`, req.SchemeCode, req.Kind, req.Frequency).
			Scan(&t.MinAmount, &t.Multiple, &days, &t.MinFirstGapDays, &t.MinInstalments)
		switch {
		case err == nil:
			if days != nil {
				t.AllowedDays = make([]int, len(days))
				for i, d := range days {
					t.AllowedDays[i] = int(d)
				}
			}
			f.Terms = &t
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("scheme_plan_terms: %w", err)
		}
		if req.WalletID != "" {
			var w plans.WalletFacts
			err := tx.QueryRow(ctx, `SELECT w.investor_id, w.status, coalesce(t.folio_no, '') FROM wallets w
				LEFT JOIN autoinvest_terms t ON t.wallet_id = w.id AND t.enabled WHERE w.id = $1`, req.WalletID).Scan(&w.InvestorID, &w.Status, &w.Folio)
			switch {
			case err == nil:
				f.Wallet = &w
			case !errors.Is(err, pgx.ErrNoRows):
				return fmt.Errorf("wallet: %w", err)
			}
		}
		if req.MandateID == "" {
			return nil
		}
		var m plans.Mandate
		var inv *string
		var starts, expires *time.Time
		err = tx.QueryRow(ctx, `SELECT id, investor_id, status, max_amount, starts_on, expires_on FROM mandates WHERE id = $1`, req.MandateID).
			Scan(&m.ID, &inv, &m.Status, &m.MaxAmount, &starts, &expires)
		switch {
		case err == nil:
			if inv != nil {
				m.InvestorID = *inv
			}
			m.StartsOn, m.ExpiresOn = datePtr(starts), datePtr(expires)
			f.Mandate = &m
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("mandate: %w", err)
		}
		return nil
	})
	return f, postgres.Classify(err)
}

func datePtr(t *time.Time) *fund.Date {
	if t == nil {
		return nil
	}
	d := fund.DateOf(*t)
	return &d
}

// InsertPlan stores the plan, its version 1 and the audit row in one
// transaction; a client id already taken stores nothing.
func (s Store) InsertPlan(ctx context.Context, np plans.NewPlan) (plans.Plan, string, bool, error) {
	r := np.Req
	var p plans.Plan
	var fp string
	inserted := false
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var stepAmt *decimal.Decimal
		if r.StepUpAmount != nil {
			d := r.StepUpAmount.Decimal()
			stepAmt = &d
		}
		var stepPct *decimal.Decimal
		if r.StepUpPct != nil {
			d := r.StepUpPct.Decimal()
			stepPct = &d
		}
		var end *time.Time
		if r.EndDate != nil {
			t := r.EndDate.Time()
			end = &t
		}
		tag, err := tx.Exec(ctx, `INSERT INTO plans (id, client_id, body_sha256, kind, investor_id, folio_no, scheme_code, to_scheme_code,
			mandate_id, frequency, start_date, end_date, instalments, step_up_amount, step_up_pct, status, registered_at, updated_at, wallet_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), nullif($9, ''), $10, $11, $12, $13, $14, $15, 'active', $16, $16, nullif($17, ''))
			ON CONFLICT (client_id) DO NOTHING`,
			np.ID, r.ClientID, np.Fingerprint, r.Kind, r.InvestorID, r.Folio, r.SchemeCode, r.ToSchemeCode, r.MandateID, r.Frequency,
			r.StartDate.Time(), end, r.Instalments, stepAmt, stepPct, np.At, r.WalletID)
		if err != nil {
			return fmt.Errorf("insert plan: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // a concurrent registration took the client id: read it after this transaction
		}
		v := plans.Version{Version: 1, EffectiveFrom: np.First, Amount: *r.Amount, DayOfMonth: r.DayOfMonth, Weekday: r.Weekday}
		if err := insertVersion(ctx, tx, np.ID, v, np.At); err != nil {
			return err
		}
		inserted = true
		return postgres.AppendAudit(ctx, tx, "plan", np.ID, "registered", map[string]any{"client_id": r.ClientID, "request": r})
	})
	if err != nil {
		return p, "", false, postgres.Classify(err)
	}
	if !inserted {
		p, fp, _, err = s.PlanByClientID(ctx, r.ClientID)
		return p, fp, false, err
	}
	p, fp, _, err = loadPlan(ctx, s.Pool, np.ID, false)
	return p, fp, true, postgres.Classify(err)
}

func insertVersion(ctx context.Context, tx pgx.Tx, planID string, v plans.Version, at time.Time) error {
	var day, wd *int16
	if v.DayOfMonth != nil {
		d := int16(*v.DayOfMonth)
		day = &d
	}
	if v.Weekday != nil {
		w := int16(*v.Weekday)
		wd = &w
	}
	if _, err := tx.Exec(ctx, `INSERT INTO plan_versions (plan_id, version, effective_from, amount, day_of_month, weekday, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, planID, v.Version, v.EffectiveFrom.Time(), v.Amount.Decimal(), day, wd, at); err != nil {
		return fmt.Errorf("insert plan version %d: %w", v.Version, err)
	}
	return nil
}
