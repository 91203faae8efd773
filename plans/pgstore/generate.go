package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/plans"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// NextGenerateBatch implements plans.GenerateStore (an index-only walk of
// plans_generating).
func (s Store) NextGenerateBatch(ctx context.Context, after string, limit int) (string, error) {
	var last string
	err := s.Pool.QueryRow(ctx, `SELECT coalesce(max(id), '') FROM (
			SELECT id FROM plans WHERE status IN ('active', 'paused') AND NOT generated_all AND id > $1
			ORDER BY id LIMIT $2) b`, after, limit).Scan(&last)
	if err != nil {
		return "", fmt.Errorf("next plans to generate: %w", err)
	}
	return last, nil
}

// GenerateBatch implements plans.GenerateStore: one UPDATE that locks,
// moves and returns the batch's plans, two reads, the plan computed in Go,
// then COPY, in one transaction.
func (s Store) GenerateBatch(ctx context.Context, after, last string, through fund.Date, plan func([]plans.GenPlan) (plans.GenWrite, error)) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		ps, err := moveGenPlans(ctx, tx, after, last, through)
		if err != nil || len(ps) == 0 {
			return err
		}
		w, err := plan(ps)
		if err != nil {
			return err
		}
		return writeGen(ctx, tx, w)
	})
}

// moveGenPlans moves the watermarks of the span's plans that are behind
// through and returns those plans as they were, with their versions and
// pauses. The UPDATE takes the plans' row locks first, so a change (pause,
// modification, cancel) that locks its plan row is either committed before
// the reads below or waits for the batch; a concurrent run that moved a
// watermark first makes the re-checked row drop out.
func moveGenPlans(ctx context.Context, tx pgx.Tx, after, last string, through fund.Date) ([]plans.GenPlan, error) {
	rows, err := tx.Query(ctx, `UPDATE plans p SET generated_through = $3
		FROM plans o
		WHERE o.id = p.id AND p.id > $1 AND p.id <= $2 AND o.id > $1 AND o.id <= $2
			AND p.status IN ('active', 'paused') AND NOT p.generated_all
			AND (p.generated_through IS NULL OR p.generated_through < $3)
			AND p.generated_through IS NOT DISTINCT FROM o.generated_through
		RETURNING p.id, p.kind, p.investor_id, p.folio_no, p.scheme_code, coalesce(p.to_scheme_code, ''), p.frequency,
			p.start_date, p.end_date, coalesce(p.instalments, 0), coalesce(p.step_up_amount, 0), coalesce(p.step_up_pct, 0),
			p.status, o.generated_through`, after, last, through.Time())
	if err != nil {
		return nil, fmt.Errorf("move watermarks: %w", err)
	}
	var ps []plans.GenPlan
	var start time.Time
	var end, wm *time.Time
	for rows.Next() {
		var p plans.GenPlan
		if err := rows.Scan(&p.ID, &p.Kind, &p.InvestorID, &p.FolioNo, &p.SchemeCode, &p.ToSchemeCode, &p.Frequency,
			&start, &end, &p.Count, &p.StepUpAmount, &p.StepUpPct, &p.Status, &wm); err != nil {
			rows.Close()
			return nil, fmt.Errorf("move watermarks: %w", err)
		}
		p.Start = fund.DateOf(start)
		if end != nil {
			p.End = fund.DateOf(*end)
		}
		if wm != nil {
			p.GeneratedThrough = fund.DateOf(*wm)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("move watermarks: %w", err)
	}
	if len(ps) == 0 {
		return nil, nil
	}
	byID := make(map[string]*plans.GenPlan, len(ps))
	for i := range ps {
		byID[ps[i].ID] = &ps[i]
	}
	// The span's rows; those of plans not moved are dropped.
	rows, err = tx.Query(ctx, `SELECT plan_id, version, effective_from, amount, coalesce(day_of_month, 0), coalesce(weekday, -1)
		FROM plan_versions WHERE plan_id > $1 AND plan_id <= $2`, after, last)
	if err != nil {
		return nil, fmt.Errorf("read plan versions: %w", err)
	}
	var id string
	var eff time.Time
	for rows.Next() {
		var v plans.GenVersion
		if err := rows.Scan(&id, &v.Version, &eff, &v.Amount, &v.DayOfMonth, &v.Weekday); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read plan versions: %w", err)
		}
		if p := byID[id]; p != nil {
			v.EffectiveFrom = fund.DateOf(eff)
			p.Versions = append(p.Versions, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read plan versions: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT plan_id, from_seq, to_seq FROM plan_pauses WHERE plan_id > $1 AND plan_id <= $2`, after, last)
	if err != nil {
		return nil, fmt.Errorf("read plan pauses: %w", err)
	}
	for rows.Next() {
		var pz plans.GenPause
		if err := rows.Scan(&id, &pz.From, &pz.To); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read plan pauses: %w", err)
		}
		if p := byID[id]; p != nil {
			p.Pauses = append(p.Pauses, pz)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read plan pauses: %w", err)
	}
	return ps, nil
}

var (
	genInstalmentCols = []string{"plan_id", "due_date", "seq", "nominal_date", "merged_nominal", "amount", "status", "reason", "notified_at", "present_after"}
	genEventCols      = []string{"plan_id", "due_date", "event_id", "topic", "key", "payload"}
)

func instalmentRows(w plans.GenWrite) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(w.Instalments), func(i int) ([]any, error) {
		in := &w.Instalments[i]
		var merged, notified, present any
		if !in.Merged.IsZero() {
			merged = in.Merged.Time()
		}
		if !in.Notified.IsZero() {
			notified, present = in.Notified, in.PresentFrom
		}
		return []any{in.PlanID, in.Due.Time(), in.Seq, in.Nominal.Time(), merged, in.Amount, in.Status, in.Reason, notified, present}, nil
	})
}

// writeGen writes a batch: straight COPY when every row should be new,
// through temp tables and ON CONFLICT DO NOTHING when one may exist or the
// COPY met one.
func writeGen(ctx context.Context, tx pgx.Tx, w plans.GenWrite) error {
	merge := w.MayConflict
	if !merge {
		sp, err := tx.Begin(ctx) // a savepoint: a conflict undoes the COPY, not the batch
		if err != nil {
			return err
		}
		err = copyGen(ctx, sp, w)
		var pgErr *pgconn.PgError
		switch {
		case err == nil:
			if err := sp.Commit(ctx); err != nil {
				return err
			}
		case errors.As(err, &pgErr) && pgErr.Code == "23505": // unique_violation
			if err := sp.Rollback(ctx); err != nil {
				return err
			}
			merge = true
		default:
			return err
		}
	}
	if merge {
		n, err := writeGenMerging(ctx, tx, w)
		if err != nil {
			return err
		}
		if n < len(w.Instalments) {
			slog.Warn("instalment run: rows already there (or their seq) kept, the new ones dropped", "dropped", len(w.Instalments)-n)
		}
	}
	if len(w.Done) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE plans SET generated_all = true WHERE id = ANY($1)`, w.Done); err != nil {
			return fmt.Errorf("mark plans generated: %w", err)
		}
	}
	if len(w.Held) > 0 {
		ids := make([]string, len(w.Held))
		back := make([]*time.Time, len(w.Held))
		for i, h := range w.Held {
			ids[i] = h.PlanID
			if !h.Through.IsZero() {
				t := h.Through.Time()
				back[i] = &t
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE plans p SET generated_through = u.through
			FROM unnest($1::text[], $2::date[]) AS u(id, through) WHERE p.id = u.id`, ids, back); err != nil {
			return fmt.Errorf("hold plans back: %w", err)
		}
	}
	return nil
}

// copyGen copies the rows and their events straight in.
func copyGen(ctx context.Context, tx pgx.Tx, w plans.GenWrite) error {
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"plan_instalments"}, genInstalmentCols, instalmentRows(w)); err != nil {
		return fmt.Errorf("copy instalments: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, genEventCols[2:], pgx.CopyFromSlice(len(w.Events), func(i int) ([]any, error) {
		e := &w.Events[i]
		return []any{e.EventID, e.Topic, e.Key, e.Payload}, nil
	})); err != nil {
		return fmt.Errorf("copy instalment events: %w", err)
	}
	return nil
}

// writeGenMerging writes the rows that do not exist yet, and the events of
// exactly those; it returns how many rows it wrote.
func writeGenMerging(ctx context.Context, tx pgx.Tx, w plans.GenWrite) (int, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE gen_instalments (plan_id text, due_date date, seq integer, nominal_date date,
			merged_nominal date, amount numeric(18,2), status text, reason text, notified_at timestamptz, present_after timestamptz) ON COMMIT DROP;
		CREATE TEMP TABLE gen_events (plan_id text, due_date date, event_id text, topic text, key text, payload jsonb) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("temp tables: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gen_instalments"}, genInstalmentCols, instalmentRows(w)); err != nil {
		return 0, fmt.Errorf("copy instalments: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gen_events"}, genEventCols, pgx.CopyFromSlice(len(w.Events), func(i int) ([]any, error) {
		e := &w.Events[i]
		return []any{e.PlanID, e.Due.Time(), e.EventID, e.Topic, e.Key, e.Payload}, nil
	})); err != nil {
		return 0, fmt.Errorf("copy instalment events: %w", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO plan_instalments (plan_id, due_date, seq, nominal_date, merged_nominal, amount, status, reason, notified_at, present_after)
			SELECT plan_id, due_date, seq, nominal_date, merged_nominal, amount, status, reason, notified_at, present_after FROM gen_instalments
			ON CONFLICT DO NOTHING
			RETURNING plan_id, due_date),
		ev AS (
			INSERT INTO outbox (event_id, topic, key, payload)
			SELECT e.event_id, e.topic, e.key, e.payload FROM gen_events e JOIN ins USING (plan_id, due_date)
			ON CONFLICT (event_id) DO NOTHING)
		SELECT count(*) FROM ins`).Scan(&n); err != nil {
		return 0, fmt.Errorf("insert instalments: %w", err)
	}
	return n, nil
}

// RaiseAlert implements plans.GenerateStore.
func (s Store) RaiseAlert(ctx context.Context, kind, subject, detail string) error {
	return postgres.Store{Pool: s.Pool}.RaiseAlert(ctx, kind, subject, detail)
}

// ResolveAlerts implements plans.GenerateStore.
func (s Store) ResolveAlerts(ctx context.Context, kind string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE alerts SET resolved_at = now() WHERE kind = $1 AND resolved_at IS NULL`, kind)
	return err
}
