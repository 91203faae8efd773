package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
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
	rows, err := s.Pool.Query(ctx, `SELECT investor_id, source, reason, detail, blocks_purchase, blocks_redemption, updated_by, since, blocks_new_folio
		FROM investor_restrictions WHERE investor_id = ANY($1) AND source = 'kyc'`, ids)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var x ledger.Restriction
	_, err = pgx.ForEachRow(rows, []any{&x.InvestorID, &x.Source, &x.Reason, &x.Detail, &x.BlocksPurchase, &x.BlocksRedemption, &x.By, &x.Since, &x.BlocksNewFolio},
		func() error { out[x.InvestorID] = x; return nil })
	return out, postgres.Classify(err)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// StoreKYC writes the states in one transaction, set-based: the
// investors' rows are locked first (in id order: the lock Apply takes, so
// record versions and KYC versions form one sequence), kyc_status upserted
// (the last write of an investor wins), and each write with an event gets
// the next version of its investor (the record unchanged, fields
// kyc_status), its investors.changed event and its audit row.
func (s Store) StoreKYC(ctx context.Context, ws []investors.KYCWrite) error {
	if len(ws) == 0 {
		return nil
	}
	last := map[string]int{} // investor -> index of its last write
	var ids []string
	for i, w := range ws {
		if _, ok := last[w.InvestorID]; !ok {
			ids = append(ids, w.InvestorID)
		}
		last[w.InvestorID] = i
	}
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM investors WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
			return fmt.Errorf("lock investors: %w", err)
		}
		n := len(ids)
		inv, pan, status, kraName, code, remarks, file, sha := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at, aat := make([]*time.Time, n), make([]*time.Time, n)
		inop, line := make([]bool, n), make([]int32, n)
		now := time.Now().UTC()
		for k, id := range ids {
			st := ws[last[id]].State
			inv[k], pan[k], status[k], kraName[k], code[k], remarks[k] = id, st.PANFP, string(st.Status), st.KRA, st.Code, st.Remarks
			at[k], aat[k], inop[k] = nullTime(st.At), nullTime(st.AadhaarAt), st.Inoperative
			file[k], sha[k], line[k] = st.From.File, st.From.SHA256, int32(st.From.Line)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kyc_status (investor_id, pan_fp, status, kra, kra_code, status_at, remarks, pan_inoperative,
			aadhaar_at, source_file, source_sha256, source_line, updated_at)
			SELECT u.*, $13::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
				$8::bool[], $9::timestamptz[], $10::text[], $11::text[], $12::int[]) AS u
			ON CONFLICT (investor_id) DO UPDATE SET pan_fp = excluded.pan_fp, status = excluded.status, kra = excluded.kra,
				kra_code = excluded.kra_code, status_at = excluded.status_at, remarks = excluded.remarks,
				pan_inoperative = excluded.pan_inoperative, aadhaar_at = excluded.aadhaar_at, source_file = excluded.source_file,
				source_sha256 = excluded.source_sha256, source_line = excluded.source_line, updated_at = excluded.updated_at`,
			inv, pan, status, kraName, code, at, remarks, inop, aat, file, sha, line, now); err != nil {
			return fmt.Errorf("kyc_status: %w", err)
		}
		// The events: the next versions of the investors that have one.
		var evIDs []string
		seen := map[string]bool{}
		for _, w := range ws {
			if w.Event != nil && !seen[w.InvestorID] {
				seen[w.InvestorID] = true
				evIDs = append(evIDs, w.InvestorID)
			}
		}
		if len(evIDs) == 0 {
			return nil
		}
		type latest struct {
			seq int
			enc []byte
			sha string
		}
		cur := map[string]*latest{}
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (investor_id) investor_id, change_seq, record_enc, record_sha256
			FROM investor_versions WHERE investor_id = ANY($1) ORDER BY investor_id, change_seq DESC`, evIDs)
		if err != nil {
			return err
		}
		var id string
		var l latest
		if _, err := pgx.ForEachRow(rows, []any{&id, &l.seq, &l.enc, &l.sha}, func() error { x := l; cur[id] = &x; return nil }); err != nil {
			return err
		}
		var vInv, vSHA, vBy, oID, oPayload []string
		var vSeq []int32
		var vAt []time.Time
		var encs [][]byte
		var audits []postgres.AuditEntry
		fields := []string{"kyc_status"}
		for _, w := range ws {
			if w.Event == nil {
				continue
			}
			c := cur[w.InvestorID]
			if c == nil {
				return fmt.Errorf("investor %s has no record: a KYC status applies to onboarded investors only", w.InvestorID)
			}
			c.seq++
			ev := w.Event
			e := investors.Event{EventID: investors.EventID(w.InvestorID, c.seq), InvestorID: w.InvestorID, ChangeSeq: c.seq, Fields: fields,
				Fingerprints: map[string]string{}, KYCStatus: ev.KYCStatus, Channel: investors.ChannelKRAFeed,
				EffectiveFrom: ev.At.Format(time.RFC3339), At: ev.At.Format("2006-01-02T15:04:05.000Z07:00")}
			payload, err := json.Marshal(e)
			if err != nil {
				return err
			}
			vInv, vSeq, vAt, vSHA, vBy = append(vInv, w.InvestorID), append(vSeq, int32(c.seq)), append(vAt, ev.At), append(vSHA, c.sha), append(vBy, ev.By)
			encs = append(encs, c.enc)
			oID, oPayload = append(oID, e.EventID), append(oPayload, string(payload))
			st := w.State
			audits = append(audits, postgres.AuditEntry{Entity: "investor", ID: w.InvestorID, Action: "kyc_status", Payload: map[string]any{
				"change_seq": c.seq, "kyc_status": ev.KYCStatus, "kra": st.KRA, "kra_code": st.Code, "pan_inoperative": st.Inoperative,
				"source_file": st.From.File, "source_line": st.From.Line}})
		}
		if _, err := tx.Exec(ctx, `INSERT INTO investor_versions (investor_id, change_seq, effective_from, recorded_at, channel, fields,
			record_enc, record_sha256, changed_by)
			SELECT i, s, a, a, $4, $5, e, h, b FROM unnest($1::text[], $2::int[], $3::timestamptz[], $6::bytea[], $7::text[], $8::text[])
				AS u(i, s, a, e, h, b)`, vInv, vSeq, vAt, investors.ChannelKRAFeed, fields, encs, vSHA, vBy); err != nil {
			return fmt.Errorf("versions: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE investor_profiles p SET change_seq = u.s, updated_at = u.a
			FROM (SELECT DISTINCT ON (i) i, s, a FROM unnest($1::text[], $2::int[], $3::timestamptz[]) AS u(i, s, a) ORDER BY i, s DESC) u
			WHERE p.investor_id = u.i`, vInv, vSeq, vAt); err != nil {
			return fmt.Errorf("profiles: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
			SELECT e, $3, k, p::jsonb FROM unnest($1::text[], $2::text[], $4::text[]) WITH ORDINALITY AS u(e, k, p, n) ORDER BY n`,
			oID, vInv, investors.Topic, oPayload); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		return postgres.AppendAudits(ctx, tx, investors.By, audits)
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

// MinorsOfAge says which investors are minors flagged as of age.
func (s Store) MinorsOfAge(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.Pool.Query(ctx, `SELECT investor_id FROM investor_profiles
		WHERE investor_id = ANY($1) AND tax_status = 'minor' AND majority_flagged_at IS NOT NULL`, ids)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error { out[id] = true; return nil })
	return out, postgres.Classify(err)
}

// DueMajority lists the unflagged minors of age on day.
func (s Store) DueMajority(ctx context.Context, day fund.Date) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT investor_id FROM investor_profiles
		WHERE tax_status = 'minor' AND majority_on <= $1 AND majority_flagged_at IS NULL ORDER BY investor_id`, day.Time())
	if err != nil {
		return nil, postgres.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, postgres.Classify(err)
}

// MarkMajority flags the minor, with a version of the (unchanged) record
// touching tax_status, its event and its audit row, in one transaction.
func (s Store) MarkMajority(ctx context.Context, id string, at time.Time, by string) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM investors WHERE id = $1 FOR NO KEY UPDATE`, id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE investor_profiles SET majority_flagged_at = $2 WHERE investor_id = $1 AND majority_flagged_at IS NULL`, id, at)
		if err != nil || tag.RowsAffected() == 0 {
			return err // flagged already: nothing more
		}
		var seq int
		var enc []byte
		var sha string
		if err := tx.QueryRow(ctx, `SELECT change_seq, record_enc, record_sha256 FROM investor_versions WHERE investor_id = $1
			ORDER BY change_seq DESC LIMIT 1`, id).Scan(&seq, &enc, &sha); err != nil {
			return err
		}
		seq++
		fields := []string{"tax_status"}
		if _, err := tx.Exec(ctx, `INSERT INTO investor_versions (investor_id, change_seq, effective_from, recorded_at, channel, fields,
			record_enc, record_sha256, changed_by) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8)`,
			id, seq, at, investors.ChannelKRAFeed, fields, enc, sha, by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE investor_profiles SET change_seq = $2 WHERE investor_id = $1`, id, seq); err != nil {
			return err
		}
		e := investors.Event{EventID: investors.EventID(id, seq), InvestorID: id, ChangeSeq: seq, Fields: fields,
			Fingerprints: map[string]string{}, Channel: investors.ChannelKRAFeed,
			EffectiveFrom: at.Format(time.RFC3339), At: at.Format("2006-01-02T15:04:05.000Z07:00")}
		payload, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)`, e.EventID, investors.Topic, id, payload); err != nil {
			return err
		}
		return postgres.AppendAuditBy(ctx, tx, by, "investor", id, "minor_attained_majority", map[string]any{"change_seq": seq})
	}))
}
