package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

var _ investors.KYCStore = Store{}

// LookupKYC reads, in one statement, what the gate needs of a batch's PAN
// fingerprints: the investors each is the KYC PAN of (their own, or a
// minor's guardian's when the minor has none), with each investor's
// kyc_status, kyc restriction and whether they are a minor flagged as of
// age. Nested loops of index lookups: on investor_profiles_pan_fp
// (index-only: it carries the investor, tax status and majority flag,
// migration 064), then, in investor id order, one each by primary key on
// kyc_status and investor_restrictions. Only the columns the gate reads
// are sent: the state's From and PANFP, which any change replaces, are
// left zero, and of the restriction what sameRestriction compares.
func (s Store) LookupKYC(ctx context.Context, fps []string) (investors.KYCLookup, error) {
	out := investors.KYCLookup{Match: map[string][]string{}, States: map[string]investors.KYCState{},
		Restrictions: map[string]ledger.Restriction{}, OfAge: map[string]bool{}}
	if len(fps) == 0 {
		return out, nil
	}
	// Each LATERAL subquery has OFFSET 0, so it is not flattened into a
	// join. (Planned as a join, a custom plan that knows the array's length
	// hashes all of investor_profiles, kyc_status and investor_restrictions
	// in parallel: 9 s for 100,000 PANs against 1 M investors, where the
	// lookups take about 1.5 s.) The PANs go sorted: consecutive lookups
	// then walk investor_profiles_pan_fp's leaf pages in order. The matches
	// are then sorted by investor id (in memory: work_mem below), so the
	// lookups on kyc_status and investor_restrictions walk their primary
	// keys in order too, instead of one random descent each (EXPLAIN
	// ANALYZE, 100,000 PANs of 200,000 investors: 9 and 7 µs a lookup in
	// PAN order, 4 and 3 µs in id order). A join on the unnested array, not
	// "= ANY($1)": a generic plan cannot use the partial indexes for = ANY.
	sorted := slices.Clone(fps)
	slices.Sort(sorted)
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// JIT would compile the plan of a custom plan's estimate (100,000
		// loops) for half a second: the lookups themselves are cheap.
		// Memoize would cache each investor's row for a second lookup that
		// never comes (an investor is matched by one PAN): every probe a
		// miss, its cache evicting.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL enable_memoize = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT p.fp, p.investor_id, p.of_age,
			k.investor_id IS NOT NULL, coalesce(k.status, ''), coalesce(k.kra, ''), coalesce(k.kra_code, ''),
			k.status_at, coalesce(k.remarks, ''), coalesce(k.pan_inoperative, false), k.aadhaar_at,
			coalesce(k.status_source_file, ''), coalesce(k.status_source_line, 0),
			coalesce(k.aadhaar_source_file, ''), coalesce(k.aadhaar_source_line, 0),
			r.investor_id IS NOT NULL, coalesce(r.reason, ''), coalesce(r.detail, ''), coalesce(r.blocks_purchase, false),
			coalesce(r.blocks_redemption, false), coalesce(r.blocks_new_folio, false)
		FROM (SELECT f.fp, p.investor_id, p.of_age FROM unnest($1::text[]) AS f(fp)
			CROSS JOIN LATERAL (
				SELECT p.investor_id, p.tax_status = 'minor' AND p.majority_flagged_at IS NOT NULL AS of_age
				FROM investor_profiles p WHERE p.pan_fp = f.fp AND p.pan_fp <> ''
				UNION ALL SELECT p.investor_id, p.tax_status = 'minor' AND p.majority_flagged_at IS NOT NULL
				FROM investor_profiles p WHERE p.guardian_pan_fp = f.fp AND p.guardian_pan_fp <> '' AND p.pan_fp = ''
				OFFSET 0) p
			ORDER BY p.investor_id OFFSET 0) p
		LEFT JOIN LATERAL (SELECT k.investor_id, k.status, k.kra, k.kra_code, k.status_at, k.remarks, k.pan_inoperative, k.aadhaar_at,
				k.status_source_file, k.status_source_line, k.aadhaar_source_file, k.aadhaar_source_line
			FROM kyc_status k WHERE k.investor_id = p.investor_id OFFSET 0) k ON true
		LEFT JOIN LATERAL (SELECT r.investor_id, r.reason, r.detail, r.blocks_purchase, r.blocks_redemption, r.blocks_new_folio
			FROM investor_restrictions r WHERE r.investor_id = p.investor_id AND r.source = 'kyc' OFFSET 0) r ON true`,
			sorted)
		if err != nil {
			return err
		}
		return scanLookup(rows, out)
	})
	return out, postgres.Classify(err)
}

// scanLookup reads LookupKYC's rows into out.
func scanLookup(rows pgx.Rows, out investors.KYCLookup) error {
	var fp, id, status string
	var ofAge, hasState, hasRestr bool
	var st investors.KYCState
	var at, aat *time.Time
	var x ledger.Restriction
	_, err := pgx.ForEachRow(rows, []any{&fp, &id, &ofAge, &hasState, &status, &st.KRA, &st.Code, &at, &st.Remarks,
		&st.Inoperative, &aat, &st.StatusFrom.File, &st.StatusFrom.Line, &st.AadhaarFrom.File, &st.AadhaarFrom.Line,
		&hasRestr, &x.Reason, &x.Detail, &x.BlocksPurchase, &x.BlocksRedemption, &x.BlocksNewFolio}, func() error {
		out.Match[fp] = append(out.Match[fp], id)
		if ofAge {
			out.OfAge[id] = true
		}
		if hasState {
			y := st
			y.Status = kyc.Status(status)
			if at != nil {
				y.At = at.UTC()
			}
			if aat != nil {
				y.AadhaarAt = aat.UTC()
			}
			out.States[id] = y
		}
		if hasRestr {
			r := x
			r.InvestorID, r.Source = id, ledger.HoldKYC
			out.Restrictions[id] = r
		}
		return nil
	})
	for _, ids := range out.Match {
		slices.Sort(ids) // a guardian's minors, in id order
	}
	return err
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

// StoreKYC writes the states in one transaction, set-based: the writes go
// to a temporary table by COPY, and from there, each in one statement,
// kyc_status is upserted (the last write of an investor wins), every write
// appends its kyc_status_history row (the audit trail of those columns),
// and each write with an event takes the next change_seq of its investor
// (change_seq is the one sequence of versions and events, see
// notes/events-contract.md) and gets its investors.changed event. A KYC
// change writes no investor_versions row and leaves investor_profiles
// alone: the record did not change. Its change_seq is on its history row
// and, the investor's latest, on kyc_status; the next change of either
// kind follows the later of kyc_status's and the profile's (latestSeq).
// One audit_log row per batch carries the digest of its history rows; no
// per-investor audit row repeats them. The investors with an event are
// locked first, in id order: the lock Apply takes.
func (s Store) StoreKYC(ctx context.Context, ws []investors.KYCWrite) error {
	if len(ws) == 0 {
		return nil
	}
	var evIDs []string
	seen := map[string]bool{}
	for _, w := range ws {
		if w.Event != nil && !seen[w.InvestorID] {
			seen[w.InvestorID] = true
			evIDs = append(evIDs, w.InvestorID)
		}
	}
	slices.Sort(evIDs)
	now := time.Now().UTC()
	hist := make([]investors.KYCHistoryRow, len(ws))
	rows := make([][]any, len(ws))
	by := investors.By
	for i, w := range ws {
		st := w.State
		eff := investors.Effective(st)
		var event bool
		var evAt *time.Time
		var evBy, evStatus, evFrom, evAtText string
		if e := w.Event; e != nil {
			at := e.At.UTC()
			event, evAt, evBy, evStatus = true, &at, e.By, e.KYCStatus
			evFrom, evAtText = at.Format(time.RFC3339), at.Format("2006-01-02T15:04:05.000Z07:00")
			by = e.By
		}
		rows[i] = []any{int32(i), w.InvestorID, st.PANFP, string(st.Status), st.KRA, st.Code, nullTime(st.At), st.Remarks, st.Inoperative,
			nullTime(st.AadhaarAt), eff, st.From.File, st.From.SHA256, int32(st.From.Line), st.StatusFrom.File, int32(st.StatusFrom.Line),
			st.AadhaarFrom.File, int32(st.AadhaarFrom.Line), event, evAt, evBy, evStatus, evFrom, evAtText, nil}
		hist[i] = investors.KYCHistoryRow{InvestorID: w.InvestorID, State: st}
	}
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// JIT would compile (and optimise and inline: the estimates of
		// 50,000-row arrays pass every jit_*_above_cost) the statements of
		// a large batch for a fraction of a second each (the lock statement
		// for 50,000 of 1,000,000 investors: 1.45 s with JIT, 0.48 s
		// without); the work is row by row through indexes. The three
		// statements each sort the batch (by investor, by line): with the
		// default work_mem (4 MB) a batch of 50,000 spilled each sort to
		// disk.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		if len(evIDs) > 0 {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM investors WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, evIDs); err != nil {
				return fmt.Errorf("lock investors: %w", err)
			}
			// Each event the next change_seq of its investor, in write order.
			// The base is the later of the record's latest version (the
			// profile's) and the investor's latest KYC change (kyc_status's),
			// read after the lock in a statement of its own (its snapshot
			// then sees the change of whoever held the lock before).
			if err := numberEvents(ctx, tx, evIDs, ws, rows); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE kyc_apply (ord int, investor_id text, pan_fp text, status text, kra text, kra_code text,
			status_at timestamptz, remarks text, pan_inoperative bool, aadhaar_at timestamptz, effective_status text, source_file text,
			source_sha256 text, source_line int, status_source_file text, status_source_line int, aadhaar_source_file text,
			aadhaar_source_line int, event bool, event_at timestamptz, event_by text, event_status text, event_from text,
			event_at_text text, change_seq int) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("kyc_apply: %w", err)
		}
		// No ANALYZE: the statements below read kyc_apply alone (no join
		// to plan), each in one pass.
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"kyc_apply"}, []string{"ord", "investor_id", "pan_fp", "status", "kra", "kra_code",
			"status_at", "remarks", "pan_inoperative", "aadhaar_at", "effective_status", "source_file", "source_sha256", "source_line",
			"status_source_file", "status_source_line", "aadhaar_source_file", "aadhaar_source_line", "event", "event_at", "event_by", "event_status", "event_from", "event_at_text", "change_seq"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy kyc_apply: %w", err)
		}
		// The last write of each investor, with the change_seq of its last
		// event in the batch (none: the one on file stays). The window's
		// frame is the whole partition, as without an ORDER BY, but
		// ordered as DISTINCT ON wants: one sort of the batch, not two.
		if _, err := tx.Exec(ctx, `INSERT INTO kyc_status (investor_id, pan_fp, status, kra, kra_code, status_at, remarks, pan_inoperative,
			aadhaar_at, source_file, source_sha256, source_line, status_source_file, status_source_line, aadhaar_source_file,
			aadhaar_source_line, updated_at, change_seq)
			SELECT DISTINCT ON (investor_id) investor_id, pan_fp, status, kra, kra_code, status_at, remarks, pan_inoperative, aadhaar_at,
				source_file, source_sha256, source_line, status_source_file, status_source_line, aadhaar_source_file, aadhaar_source_line,
				$1::timestamptz, max(change_seq) OVER (PARTITION BY investor_id ORDER BY ord DESC
					ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
			FROM kyc_apply ORDER BY investor_id, ord DESC
			ON CONFLICT (investor_id) DO UPDATE SET pan_fp = excluded.pan_fp, status = excluded.status, kra = excluded.kra,
				kra_code = excluded.kra_code, status_at = excluded.status_at, remarks = excluded.remarks,
				pan_inoperative = excluded.pan_inoperative, aadhaar_at = excluded.aadhaar_at, source_file = excluded.source_file,
				source_sha256 = excluded.source_sha256, source_line = excluded.source_line,
				status_source_file = excluded.status_source_file, status_source_line = excluded.status_source_line,
				aadhaar_source_file = excluded.aadhaar_source_file, aadhaar_source_line = excluded.aadhaar_source_line,
				updated_at = excluded.updated_at,
				change_seq = coalesce(excluded.change_seq, kyc_status.change_seq)`, now); err != nil {
			return fmt.Errorf("kyc_status: %w", err)
		}
		var first, last int64
		if err := tx.QueryRow(ctx, `WITH h AS (INSERT INTO kyc_status_history (investor_id, pan_fp, change_seq, status, kra, kra_code, status_at, remarks,
				pan_inoperative, aadhaar_at, effective_status, source_file, source_sha256, source_line, recorded_at, recorded_by)
			SELECT investor_id, pan_fp, change_seq, status, kra, kra_code, status_at, remarks, pan_inoperative, aadhaar_at, effective_status,
				source_file, source_sha256, source_line, $1, coalesce(nullif(event_by, ''), $2) FROM kyc_apply ORDER BY ord
			RETURNING id) SELECT min(id), max(id) FROM h`, now, by).Scan(&first, &last); err != nil {
			return fmt.Errorf("kyc_status_history: %w", err)
		}
		if len(evIDs) > 0 {
			// The payload is investors.Event's (every key present).
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
				SELECT $1 || ':' || investor_id || ':' || change_seq, $1, investor_id, jsonb_build_object(
					'event_id', $1 || ':' || investor_id || ':' || change_seq, 'investor_id', investor_id, 'change_seq', change_seq,
					'fields', '["kyc_status"]'::jsonb, 'fingerprints', '{}'::jsonb, 'kyc_status', event_status, 'channel', $2::text,
					'effective_from', event_from, 'at', event_at_text)
				FROM kyc_apply WHERE event ORDER BY ord`, investors.Topic, investors.ChannelKRAFeed); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
		}
		return postgres.AppendAuditBy(ctx, tx, by, "kyc_status_history", fmt.Sprintf("%d-%d", first, last), "kyc_status_batch", map[string]any{
			"history_ids": []int64{first, last}, "rows": len(ws), "events": countEvents(ws), "sha256": HistoryDigest(hist),
			"source_file": ws[0].State.From.File, "source_sha256": ws[0].State.From.SHA256,
			"first_line": ws[0].State.From.Line, "last_line": ws[len(ws)-1].State.From.Line})
	}))
}

// numberEvents sets the change_seq (the last column of rows) of each
// write with an event: its investor's latest change_seq plus its rank
// among the investor's events in the batch. evIDs are locked.
func numberEvents(ctx context.Context, tx pgx.Tx, evIDs []string, ws []investors.KYCWrite, rows [][]any) error {
	// Index lookups by primary key, whatever the planner estimates
	// (LATERAL … OFFSET 0, as in LookupKYC): planned as joins, a custom
	// plan that knows the array's length hashes all of investor_profiles
	// and kyc_status, spilling to disk, for every batch.
	q, err := tx.Query(ctx, `SELECT a.id, greatest(p.change_seq, k.change_seq) FROM unnest($1::text[]) AS a(id)
		CROSS JOIN LATERAL (SELECT p.change_seq FROM investor_profiles p WHERE p.investor_id = a.id OFFSET 0) p
		LEFT JOIN LATERAL (SELECT k.change_seq FROM kyc_status k WHERE k.investor_id = a.id OFFSET 0) k ON true`, evIDs)
	if err != nil {
		return fmt.Errorf("event seqs: %w", err)
	}
	next := make(map[string]int32, len(evIDs))
	var id string
	var base int32
	if _, err := pgx.ForEachRow(q, []any{&id, &base}, func() error { next[id] = base; return nil }); err != nil {
		return fmt.Errorf("event seqs: %w", err)
	}
	for i, w := range ws {
		if w.Event == nil {
			continue
		}
		seq, ok := next[w.InvestorID]
		if !ok {
			return fmt.Errorf("investor %s has no record: a KYC status applies to onboarded investors only", w.InvestorID)
		}
		seq++
		next[w.InvestorID] = seq
		rows[i][len(rows[i])-1] = seq
	}
	return nil
}

// HistoryDigest is the sha256 a kyc_status_batch audit row carries: one
// line per history row, in id order (status_at and aadhaar_at RFC 3339
// UTC with nanoseconds, "" when null).
func HistoryDigest(rows []investors.KYCHistoryRow) string {
	h := sha256.New()
	for _, r := range rows {
		st := r.State
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s|%t|%s|%s|%s|%d\n", r.InvestorID, st.Status, st.KRA, st.Code, fmtTime(st.At), st.Remarks,
			st.Inoperative, fmtTime(st.AadhaarAt), st.From.File, st.From.SHA256, st.From.Line)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func countEvents(ws []investors.KYCWrite) int {
	n := 0
	for _, w := range ws {
		if w.Event != nil {
			n++
		}
	}
	return n
}

// StoreUnmatched keeps the latest row of each unknown PAN (by kind), in one
// statement: of a PAN's rows, the one with the latest status time, then
// the last, is offered; an older one than on file is not applied.
func (s Store) StoreUnmatched(ctx context.Context, us []investors.Unmatched) error {
	if len(us) == 0 {
		return nil
	}
	n := len(us)
	fp, kind, status, code, file := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	enc := make([][]byte, n)
	inop := make([]bool, n)
	at, seen := make([]*time.Time, n), make([]time.Time, n)
	line := make([]int32, n)
	for i, u := range us {
		fp[i], kind[i], status[i], code[i], file[i] = u.PANFP, string(u.Kind), string(u.Status), u.Code, u.From.File
		enc[i], inop[i], at[i], seen[i], line[i] = u.PANEnc, u.Inoperative, nullTime(u.At), u.SeenAt, int32(u.From.Line)
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO kyc_unmatched (pan_fp, kind, pan_enc, status, kra_code, inoperative, status_at, source_file,
		source_line, seen_at)
		SELECT DISTINCT ON (f, k) f, k, e, st, c, i, a, fl, l, sn
		FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::bool[], $7::timestamptz[], $8::text[], $9::int[],
			$10::timestamptz[]) WITH ORDINALITY AS u(f, k, e, st, c, i, a, fl, l, sn, n)
		ORDER BY f, k, a DESC NULLS FIRST, n DESC
		ON CONFLICT (pan_fp, kind) DO UPDATE SET pan_enc = excluded.pan_enc, status = excluded.status, kra_code = excluded.kra_code,
			inoperative = excluded.inoperative, status_at = excluded.status_at, source_file = excluded.source_file,
			source_line = excluded.source_line, seen_at = excluded.seen_at
		WHERE kyc_unmatched.status_at IS NULL OR excluded.status_at IS NULL OR excluded.status_at >= kyc_unmatched.status_at`,
		fp, kind, enc, status, code, inop, at, file, line, seen)
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
		var enc []byte
		var sha string
		if err := tx.QueryRow(ctx, `SELECT record_enc, record_sha256 FROM investor_versions WHERE investor_id = $1
			ORDER BY change_seq DESC LIMIT 1`, id).Scan(&enc, &sha); err != nil {
			return err
		}
		seq, err := latestSeq(ctx, tx, id) // a KYC change may be the latest: it has no version
		if err != nil {
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

// KYCHistory reads an investor's kyc_status_history, oldest first.
func (s Store) KYCHistory(ctx context.Context, investorID string) ([]investors.KYCHistoryRow, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id, investor_id, coalesce(change_seq, 0), pan_fp, status, kra, kra_code, status_at, remarks,
		pan_inoperative, aadhaar_at, effective_status, source_file, source_sha256, source_line, recorded_at, recorded_by
		FROM kyc_status_history WHERE investor_id = $1 ORDER BY id`, investorID)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	var out []investors.KYCHistoryRow
	var r investors.KYCHistoryRow
	var status string
	var at, aat *time.Time
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.InvestorID, &r.ChangeSeq, &r.State.PANFP, &status, &r.State.KRA, &r.State.Code, &at,
		&r.State.Remarks, &r.State.Inoperative, &aat, &r.Effective, &r.State.From.File, &r.State.From.SHA256, &r.State.From.Line,
		&r.RecordedAt, &r.By}, func() error {
		x := r
		x.State.Status = kyc.Status(status)
		x.State.At, x.State.AadhaarAt = time.Time{}, time.Time{}
		if at != nil {
			x.State.At = at.UTC()
		}
		if aat != nil {
			x.State.AadhaarAt = aat.UTC()
		}
		out = append(out, x)
		return nil
	})
	return out, postgres.Classify(err)
}
