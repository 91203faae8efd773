package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

var _ investors.BankStore = Store{}

// AccountsToVerify lists current accounts never asked for, and pending ones
// whose last request got no gateway id before staleBefore.
func (s Store) AccountsToVerify(ctx context.Context, staleBefore time.Time, limit int) ([]investors.BankAccountRef, error) {
	rows, err := s.Pool.Query(ctx, `SELECT a.investor_id, a.account_fp, a.ifsc, a.holder_name, a.account_enc
		FROM investor_bank_accounts a
		WHERE a.removed_at IS NULL AND (a.verification = 'unverified' OR (a.verification = 'pending' AND NOT EXISTS (
			SELECT 1 FROM bank_validations v WHERE v.investor_id = a.investor_id AND v.account_fp = a.account_fp
				AND (v.gateway_id <> '' OR v.requested_at >= $1))))
		ORDER BY a.investor_id, a.account_fp LIMIT $2`, staleBefore, limit)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (investors.BankAccountRef, error) {
		var a investors.BankAccountRef
		err := r.Scan(&a.InvestorID, &a.AccountFP, &a.IFSC, &a.HolderName, &a.AccountEnc)
		return a, err
	})
	return out, postgres.Classify(err)
}

// StartValidation records the request and marks the account pending.
func (s Store) StartValidation(ctx context.Context, ref string, a investors.BankAccountRef, at time.Time) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO bank_validations (reference_id, investor_id, account_fp, status, requested_at)
			VALUES ($1, $2, $3, 'requested', $4) ON CONFLICT (reference_id) DO NOTHING`, ref, a.InvestorID, a.AccountFP, at); err != nil {
			return fmt.Errorf("validation: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE investor_bank_accounts SET verification = 'pending'
			WHERE investor_id = $1 AND account_fp = $2 AND verification IN ('unverified', 'pending')`, a.InvestorID, a.AccountFP)
		return err
	}))
}

// ValidationCreated records the gateway's id.
func (s Store) ValidationCreated(ctx context.Context, ref, gatewayID string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE bank_validations SET gateway_id = $2, status = CASE WHEN status = 'requested' THEN 'created' ELSE status END
		WHERE reference_id = $1`, ref, gatewayID)
	return postgres.Classify(err)
}

// FinishValidation stores the outcome and the account's verification. The
// account is changed only while this validation is its latest request: an
// older answer arriving late never overrides a newer one.
func (s Store) FinishValidation(ctx context.Context, r investors.BankResult) (string, bool, bool, error) {
	var inv, fp, status string
	applied := false
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT investor_id, account_fp, status FROM bank_validations WHERE reference_id = $1 FOR UPDATE`, r.Ref).
			Scan(&inv, &fp, &status)
		if err != nil {
			return err
		}
		if status == "completed" || status == "failed" {
			return nil // a redelivery
		}
		if _, err := tx.Exec(ctx, `UPDATE bank_validations SET gateway_id = $2, status = $3, account_status = $4, registered_name_enc = $5,
			name_match_score = $6, utr = $7, reason = $8, event_id = $9, completed_at = $10 WHERE reference_id = $1`,
			r.Ref, r.GatewayID, r.Status, r.AccountStatus, r.RegisteredNameEnc, r.Score, r.UTR, r.Reason, r.EventID, r.At); err != nil {
			return fmt.Errorf("validation: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE investor_bank_accounts SET verification = $3, name_match_score = $4, verify_reason = $5,
			verified_at = CASE WHEN $3 = 'verified' THEN $6::timestamptz END
			WHERE investor_id = $1 AND account_fp = $2 AND removed_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM bank_validations v WHERE v.investor_id = $1 AND v.account_fp = $2
				AND v.requested_at > (SELECT requested_at FROM bank_validations WHERE reference_id = $7))`,
			inv, fp, r.Verification, r.Score, r.VerifyReason, r.At, r.Ref); err != nil {
			return fmt.Errorf("account: %w", err)
		}
		applied = true
		return nil
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, postgres.Classify(err)
	}
	return inv, true, applied, nil
}

// DefaultVerification reads the verification of each onboarded investor's
// current default account ("" : none).
func (s Store) DefaultVerification(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.investor_id, coalesce(a.verification, '') FROM investor_profiles p
		LEFT JOIN investor_bank_accounts a ON a.investor_id = p.investor_id AND a.is_default AND a.removed_at IS NULL
		WHERE $1::text[] IS NULL OR p.investor_id = ANY($1)`, ids)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out := map[string]string{}
	var id, v string
	_, err = pgx.ForEachRow(rows, []any{&id, &v}, func() error { out[id] = v; return nil })
	return out, postgres.Classify(err)
}

// SourceRestrictions reads the investors' restrictions of source.
func (s Store) SourceRestrictions(ctx context.Context, ids []string, source string) (map[string]ledger.Restriction, error) {
	out := map[string]ledger.Restriction{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT investor_id, source, reason, detail, blocks_purchase, blocks_redemption, updated_by, since, blocks_new_folio
		FROM investor_restrictions WHERE investor_id = ANY($1) AND source = $2`, ids, source)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var x ledger.Restriction
	_, err = pgx.ForEachRow(rows, []any{&x.InvestorID, &x.Source, &x.Reason, &x.Detail, &x.BlocksPurchase, &x.BlocksRedemption, &x.By, &x.Since, &x.BlocksNewFolio},
		func() error { out[x.InvestorID] = x; return nil })
	return out, postgres.Classify(err)
}

// SyncPayoutHolds makes the open payout holds what the bank restrictions
// say, for the investors ids (nil: all), in one transaction, set-based:
// first the open holds are released whose investor has no bank
// restriction any more (bank_verified) or whose money is no longer due
// (settled: the payout account's balance is nil, the refund_due alert
// resolved); then a hold is raised, with the restriction's reason, for
// each payout account with a balance and each open refund_due of an
// investor with a bank restriction that has none open. One audit row
// names the holds raised and released.
func (s Store) SyncPayoutHolds(ctx context.Context, ids []string, at time.Time, by string) (raised, released int, err error) {
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT h.id, NOT EXISTS (SELECT 1 FROM investor_restrictions r WHERE r.investor_id = h.investor_id AND r.source = 'bank') AS verified,
					CASE h.kind WHEN 'refund' THEN NOT EXISTS (SELECT 1 FROM alerts a WHERE a.kind = 'refund_due' AND a.subject = h.subject
							AND a.resolved_at IS NULL)
						ELSE coalesce((SELECT sum(lp.amount) FROM ledger_postings lp WHERE lp.account = h.subject AND lp.asset = 'INR'), 0) = 0
					END AS settled
				FROM payout_holds h WHERE h.released_at IS NULL AND ($3::text[] IS NULL OR h.investor_id = ANY($3)))
			UPDATE payout_holds h SET released_at = $1, released_by = $2,
				release_reason = CASE WHEN due.verified THEN 'bank_verified' ELSE 'settled' END
			FROM due WHERE due.id = h.id AND (due.verified OR due.settled) RETURNING h.id`, at, by, ids)
		if err != nil {
			return fmt.Errorf("release payout holds: %w", err)
		}
		rel, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("release payout holds: %w", err)
		}
		rows, err = tx.Query(ctx, `INSERT INTO payout_holds (investor_id, kind, subject, amount, reason, raised_at)
			SELECT r.investor_id, 'payout_account', lp.account, sum(lp.amount), r.reason, $1::timestamptz
			FROM investor_restrictions r JOIN folios f ON f.investor_id = r.investor_id
				JOIN ledger_postings lp ON lp.account = 'payout:' || f.folio_no AND lp.asset = 'INR'
			WHERE r.source = 'bank' AND ($2::text[] IS NULL OR r.investor_id = ANY($2))
			GROUP BY r.investor_id, lp.account, r.reason HAVING sum(lp.amount) <> 0
			UNION ALL
			SELECT r.investor_id, 'refund', a.subject, p.amount, r.reason, $1
			FROM alerts a JOIN payments p ON p.id = a.subject JOIN orders o ON o.id = p.order_id
				JOIN investor_restrictions r ON r.investor_id = o.investor_id AND r.source = 'bank'
			WHERE a.kind = 'refund_due' AND a.resolved_at IS NULL AND ($2::text[] IS NULL OR r.investor_id = ANY($2))
			ON CONFLICT (kind, subject) WHERE released_at IS NULL DO NOTHING RETURNING id`, at, ids)
		if err != nil {
			return fmt.Errorf("raise payout holds: %w", err)
		}
		rai, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("raise payout holds: %w", err)
		}
		raised, released = len(rai), len(rel)
		if raised+released == 0 {
			return nil
		}
		return postgres.AppendAuditBy(ctx, tx, by, "payout_holds", at.UTC().Format(time.RFC3339Nano), "payout_holds_synced",
			map[string]any{"raised": rai, "released": rel})
	})
	return raised, released, postgres.Classify(err)
}

var _ investors.PayoutHoldStore = Store{}

// PayoutHolds lists payout holds, newest first.
func (s Store) PayoutHolds(ctx context.Context, f investors.PayoutHoldFilter) ([]investors.PayoutHold, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := s.Pool.Query(ctx, `SELECT id, investor_id, kind, subject, amount, reason, raised_at, released_at,
			coalesce(release_reason, ''), coalesce(released_by, '')
		FROM payout_holds WHERE ($1 = '' OR investor_id = $1) AND (NOT $2 OR released_at IS NULL)
		ORDER BY id DESC LIMIT $3`, f.InvestorID, f.OpenOnly, f.Limit)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (investors.PayoutHold, error) {
		var h investors.PayoutHold
		err := r.Scan(&h.ID, &h.InvestorID, &h.Kind, &h.Subject, &h.Amount, &h.Reason, &h.RaisedAt, &h.ReleasedAt, &h.ReleaseReason, &h.ReleasedBy)
		return h, err
	})
	return out, postgres.Classify(err)
}
