package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

var _ investors.KYCStore = Store{}

// MatchPANs returns the investors each fingerprint is the KYC PAN of: their
// own, or a minor's guardian's when the minor has no PAN.
func (s Store) MatchPANs(ctx context.Context, fps []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(fps) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT pan_fp, investor_id FROM investor_profiles WHERE pan_fp = ANY($1)
		UNION ALL SELECT guardian_pan_fp, investor_id FROM investor_profiles WHERE guardian_pan_fp = ANY($1) AND pan_fp = ''
		ORDER BY 1, 2`, fps)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var fp, id string
	_, err = pgx.ForEachRow(rows, []any{&fp, &id}, func() error { out[fp] = append(out[fp], id); return nil })
	return out, postgres.Classify(err)
}

// KYCStates reads kyc_status of the investors.
func (s Store) KYCStates(ctx context.Context, ids []string) (map[string]investors.KYCState, error) {
	out := map[string]investors.KYCState{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT investor_id, pan_fp, status, kra, kra_code, status_at, remarks, pan_inoperative, aadhaar_at,
		source_file, source_sha256, source_line FROM kyc_status WHERE investor_id = ANY($1)`, ids)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var id, status string
	var st investors.KYCState
	var at, aat *time.Time
	_, err = pgx.ForEachRow(rows, []any{&id, &st.PANFP, &status, &st.KRA, &st.Code, &at, &st.Remarks, &st.Inoperative, &aat,
		&st.From.File, &st.From.SHA256, &st.From.Line}, func() error {
		x := st
		x.Status = kyc.Status(status)
		if at != nil {
			x.At = at.UTC()
		}
		if aat != nil {
			x.AadhaarAt = aat.UTC()
		}
		out[id] = x
		return nil
	})
	return out, postgres.Classify(err)
}

// KYCRestrictions reads the investors' kyc restrictions.
func (s Store) KYCRestrictions(ctx context.Context, ids []string) (map[string]ledger.Restriction, error) {
	out := map[string]ledger.Restriction{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT investor_id, source, reason, detail, blocks_purchase, blocks_redemption, updated_by, since
		FROM investor_restrictions WHERE investor_id = ANY($1) AND source = 'kyc'`, ids)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var x ledger.Restriction
	_, err = pgx.ForEachRow(rows, []any{&x.InvestorID, &x.Source, &x.Reason, &x.Detail, &x.BlocksPurchase, &x.BlocksRedemption, &x.By, &x.Since},
		func() error { out[x.InvestorID] = x; return nil })
	return out, postgres.Classify(err)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// StoreKYC upserts the investor's state; with ev, appends a version of the
// (unchanged) record touching kyc_status, its audit row and its
// investors.changed event, in the same transaction, under the investor
// row's lock (the lock Apply takes: one sequence of versions).
func (s Store) StoreKYC(ctx context.Context, id string, st investors.KYCState, ev *investors.KYCEvent) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM investors WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
			return fmt.Errorf("lock investor: %w", err)
		}
		now := time.Now().UTC()
		if ev != nil {
			now = ev.At
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kyc_status (investor_id, pan_fp, status, kra, kra_code, status_at, remarks, pan_inoperative,
			aadhaar_at, source_file, source_sha256, source_line, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (investor_id) DO UPDATE SET pan_fp = excluded.pan_fp, status = excluded.status, kra = excluded.kra,
				kra_code = excluded.kra_code, status_at = excluded.status_at, remarks = excluded.remarks,
				pan_inoperative = excluded.pan_inoperative, aadhaar_at = excluded.aadhaar_at, source_file = excluded.source_file,
				source_sha256 = excluded.source_sha256, source_line = excluded.source_line, updated_at = excluded.updated_at`,
			id, st.PANFP, string(st.Status), st.KRA, st.Code, nullTime(st.At), st.Remarks, st.Inoperative, nullTime(st.AadhaarAt),
			st.From.File, st.From.SHA256, st.From.Line, now); err != nil {
			return fmt.Errorf("kyc_status: %w", err)
		}
		if ev == nil {
			return nil
		}
		var seq int
		var enc []byte
		var sha string
		err := tx.QueryRow(ctx, `SELECT change_seq, record_enc, record_sha256 FROM investor_versions WHERE investor_id = $1
			ORDER BY change_seq DESC LIMIT 1`, id).Scan(&seq, &enc, &sha)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("investor %s has no record: a KYC status applies to onboarded investors only", id)
		}
		if err != nil {
			return err
		}
		seq++
		fields := []string{"kyc_status"}
		if _, err := tx.Exec(ctx, `INSERT INTO investor_versions (investor_id, change_seq, effective_from, recorded_at, channel, fields,
			record_enc, record_sha256, changed_by) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)`,
			id, seq, ev.At, investors.ChannelKRAFeed, fields, enc, sha, ev.By); err != nil {
			return fmt.Errorf("version: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE investor_profiles SET change_seq = $2, updated_at = $3 WHERE investor_id = $1`, id, seq, ev.At); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		e := investors.Event{EventID: investors.EventID(id, seq), InvestorID: id, ChangeSeq: seq, Fields: fields,
			Fingerprints: map[string]string{}, KYCStatus: ev.KYCStatus, Channel: investors.ChannelKRAFeed,
			EffectiveFrom: ev.At.Format(time.RFC3339), At: ev.At.Format("2006-01-02T15:04:05.000Z07:00")}
		payload, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`,
			e.EventID, investors.Topic, id, payload); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		return postgres.AppendAuditBy(ctx, tx, ev.By, "investor", id, "kyc_status", map[string]any{
			"change_seq": seq, "kyc_status": ev.KYCStatus, "kra": st.KRA, "kra_code": st.Code, "pan_inoperative": st.Inoperative,
			"source_file": st.From.File, "source_line": st.From.Line})
	}))
}

// StoreUnmatched keeps the latest row of an unknown PAN (by kind).
func (s Store) StoreUnmatched(ctx context.Context, u investors.Unmatched) error {
	_, err := s.Pool.Exec(ctx, `INSERT INTO kyc_unmatched (pan_fp, kind, pan_enc, status, kra_code, inoperative, status_at, source_file,
		source_line, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (pan_fp, kind) DO UPDATE SET pan_enc = excluded.pan_enc, status = excluded.status, kra_code = excluded.kra_code,
			inoperative = excluded.inoperative, status_at = excluded.status_at, source_file = excluded.source_file,
			source_line = excluded.source_line, seen_at = excluded.seen_at
		WHERE kyc_unmatched.status_at IS NULL OR excluded.status_at IS NULL OR excluded.status_at >= kyc_unmatched.status_at`,
		u.PANFP, string(u.Kind), u.PANEnc, string(u.Status), u.Code, u.Inoperative, nullTime(u.At), u.From.File, u.From.Line, u.SeenAt)
	return postgres.Classify(err)
}

// WithoutKYC lists the investors with no KRA status and an operative PAN:
// onboarded or created by an order alone.
func (s Store) WithoutKYC(ctx context.Context) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT i.id FROM investors i LEFT JOIN kyc_status k ON k.investor_id = i.id
		WHERE k.investor_id IS NULL OR (k.status = '' AND NOT k.pan_inoperative) ORDER BY i.id`)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, postgres.Classify(err)
}
