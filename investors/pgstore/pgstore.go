// Package pgstore is the investor master's SQL (investors.Store) on
// PostgreSQL: sql/postgres/*_investor_master.sql (027 at the merge) and the investors row
// of 003.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Store implements investors.Store.
type Store struct {
	Pool *pgxpool.Pool
}

var _ investors.Store = Store{}

// Current reads the investor's latest version of the record, numbered
// with the investor's latest change_seq: a KYC change (kyc_status's, no
// version) may be later than the record's.
func (s Store) Current(ctx context.Context, id string) (investors.Current, bool, error) {
	var c investors.Current
	err := s.Pool.QueryRow(ctx, `SELECT greatest(v.change_seq, p.change_seq, k.change_seq), v.record_enc, v.record_sha256, v.effective_from
		FROM investor_versions v LEFT JOIN investor_profiles p ON p.investor_id = v.investor_id
			LEFT JOIN kyc_status k ON k.investor_id = v.investor_id
		WHERE v.investor_id = $1 ORDER BY v.change_seq DESC LIMIT 1`, id).Scan(&c.Seq, &c.RecordEnc, &c.RecordSHA256, &c.EffectiveFrom)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, postgres.Classify(err)
	}
	return c, true, nil
}

// latestSeq is the investor's latest change_seq, 0 when none: of the
// record's versions (the profile's) or of a KYC change (kyc_status's).
// Read under the investor's lock, which StoreKYC takes too.
func latestSeq(ctx context.Context, tx pgx.Tx, id string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT greatest((SELECT max(change_seq) FROM investor_versions WHERE investor_id = $1),
		(SELECT change_seq FROM investor_profiles WHERE investor_id = $1), (SELECT change_seq FROM kyc_status WHERE investor_id = $1), 0)`,
		id).Scan(&n)
	return n, err
}

// Apply stores one version in one transaction (see investors.Store): the
// investor row is locked first, so two changes of one investor queue and
// the second finds its base stale.
func (s Store) Apply(ctx context.Context, v investors.Version) error {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO investors (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, v.InvestorID); err != nil {
			return fmt.Errorf("investor row: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM investors WHERE id = $1 FOR NO KEY UPDATE`, v.InvestorID); err != nil {
			return fmt.Errorf("lock investor: %w", err)
		}
		// Read the latest change after the lock, in a statement of its own:
		// its snapshot then sees the change of whoever held the lock before.
		latest, err := latestSeq(ctx, tx, v.InvestorID)
		if err != nil {
			return fmt.Errorf("latest change: %w", err)
		}
		if latest != v.Seq-1 {
			return investors.ErrStale
		}
		if _, err := tx.Exec(ctx, `INSERT INTO investor_versions (investor_id, change_seq, effective_from, recorded_at, channel, fields,
			record_enc, record_sha256, changed_by) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)`,
			v.InvestorID, v.Seq, v.EffectiveFrom, v.Channel, v.Fields, v.RecordEnc, v.RecordSHA256, v.By); err != nil {
			return fmt.Errorf("version: %w", err)
		}
		p := v.Profile
		var majority *time.Time
		if p.MajorityOn != nil {
			t := p.MajorityOn.Time()
			majority = &t
		}
		if _, err := tx.Exec(ctx, `INSERT INTO investor_profiles (investor_id, change_seq, tax_status, pan_fp, guardian_pan_fp, majority_on,
			nomination, nominee_count, fatca_declared, foreign_tax_residency, effective_from, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
			ON CONFLICT (investor_id) DO UPDATE SET change_seq = excluded.change_seq, tax_status = excluded.tax_status,
				pan_fp = excluded.pan_fp, guardian_pan_fp = excluded.guardian_pan_fp, majority_on = excluded.majority_on,
				nomination = excluded.nomination, nominee_count = excluded.nominee_count, fatca_declared = excluded.fatca_declared,
				foreign_tax_residency = excluded.foreign_tax_residency, effective_from = excluded.effective_from, updated_at = excluded.updated_at`,
			v.InvestorID, v.Seq, string(p.TaxStatus), p.PANFingerprint, p.GuardianPANFP, majority, p.Nomination, p.NomineeCount,
			p.FATCADeclared, p.ForeignTaxResidency, v.EffectiveFrom); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "investor_profiles_pan_fp" {
				return investors.ErrPANTaken
			}
			return fmt.Errorf("profile: %w", err)
		}
		if err := applyAccounts(ctx, tx, v); err != nil {
			return err
		}
		r := v.Row
		if _, err := tx.Exec(ctx, `UPDATE investors SET name = $2, email = $3, phone = $4, address = $5, tax_country = $6,
			pan_enc = $7, bank_account_enc = $8, updated_at = $9 WHERE id = $1`,
			v.InvestorID, r.Name, r.Email, r.Phone, r.Address, r.TaxCountry, r.PANEnc, r.BankAccountEnc, v.EffectiveFrom); err != nil {
			return fmt.Errorf("investor row: %w", err)
		}
		payload, err := json.Marshal(v.Event)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`,
			v.Event.EventID, investors.Topic, v.InvestorID, payload); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		// The audit row names the change, never its values (the trail is
		// kept forever): the sealed version holds them.
		return postgres.AppendAuditBy(ctx, tx, v.By, "investor", v.InvestorID, "changed", map[string]any{
			"change_seq": v.Seq, "fields": v.Fields, "channel": v.Channel, "record_sha256": v.RecordSHA256,
			"effective_from": v.EffectiveFrom.Format(time.RFC3339)})
	})
	if errors.Is(err, investors.ErrStale) || errors.Is(err, investors.ErrPANTaken) {
		return err
	}
	return postgres.Classify(err)
}

// applyAccounts makes the current accounts those of v: the ones no longer
// in the record are marked removed (kept: a payout may name one), the rest
// upserted with the one default.
func applyAccounts(ctx context.Context, tx pgx.Tx, v investors.Version) error {
	fps := make([]string, len(v.Accounts))
	for i, a := range v.Accounts {
		fps[i] = a.Fingerprint
	}
	if _, err := tx.Exec(ctx, `UPDATE investor_bank_accounts SET is_default = false,
		removed_at = CASE WHEN account_fp = ANY($2) THEN NULL ELSE coalesce(removed_at, $3) END
		WHERE investor_id = $1 AND (is_default OR removed_at IS NULL)`, v.InvestorID, fps, v.EffectiveFrom); err != nil {
		return fmt.Errorf("bank accounts: %w", err)
	}
	for _, a := range v.Accounts {
		if _, err := tx.Exec(ctx, `INSERT INTO investor_bank_accounts (investor_id, account_fp, ifsc, account_enc, account_mask, holder_name,
			account_type, is_default, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (investor_id, account_fp) DO UPDATE SET ifsc = excluded.ifsc, account_enc = excluded.account_enc,
				account_mask = excluded.account_mask, holder_name = excluded.holder_name, account_type = excluded.account_type,
				is_default = excluded.is_default, removed_at = NULL,
				-- a new holder name is verified again (the penny drop matched the old one)
				verification = CASE WHEN investor_bank_accounts.holder_name = excluded.holder_name
					THEN investor_bank_accounts.verification ELSE 'unverified' END`,
			v.InvestorID, a.Fingerprint, a.IFSC, a.Enc, a.Mask, a.HolderName, a.Type, a.Default, v.EffectiveFrom); err != nil {
			return fmt.Errorf("bank account %s: %w", a.Mask, err)
		}
	}
	return nil
}
