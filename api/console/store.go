package console

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/jobs/backfill"
	"github.com/fundflow/fundflow/jobs/navfreshness"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/freshness"
)

// Store is everything the console reads. Where a CLI command reads the
// same thing (fundflow runs, quarantine list/show, check completeness) it
// goes through that command's own function; the rest are plain queries.
type Store struct {
	PG *postgres.Store
	// Freshness are nav-freshness's options (SLA, calendar, dead days), as
	// navfreshness.OptionsFrom reads them from the config.
	Freshness freshness.Options
}

// navPipelines are the pipelines whose quarantined rows are NAV rows: the
// rows `fundflow quarantine list|replay` looks at.
var navPipelines = []string{navingest.Name, backfill.Name}

// Overview is the console's front page: one number per page.
type Overview struct {
	FailedRuns24h    int64
	RunningRuns      int64
	OpenQuarantine   int64
	OpenBreaks       int64
	ExplainedBreaks  int64
	OpenAlerts       int64
	PaymentBreaks    int64
	RefundsDue       int64
	LastRunByJob     []postgres.RunRow
	StaleSchemes     int
	LiveSchemes      int
	FreshnessErr     string
	CompletenessDay  string
	CompletenessMiss int
}

func (s *Store) Overview(ctx context.Context, now time.Time) (Overview, error) {
	var o Overview
	err := s.PG.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM job_runs WHERE status IN ('failed', 'abandoned') AND started_at > $1::timestamptz - interval '24 hours'),
			(SELECT count(*) FROM job_runs WHERE status = 'running'),
			(SELECT count(*) FROM quarantine WHERE status = 'open' AND pipeline = ANY($2)),
			(SELECT count(*) FROM recon_breaks WHERE status = 'open'),
			(SELECT count(*) FROM recon_breaks WHERE status = 'explained'),
			(SELECT count(*) FROM alerts WHERE resolved_at IS NULL),
			(SELECT count(*) FROM payment_breaks WHERE resolved_at IS NULL),
			(SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND kind = $3)`, now, navPipelines, ledger.AlertRefundDue).
		Scan(&o.FailedRuns24h, &o.RunningRuns, &o.OpenQuarantine, &o.OpenBreaks, &o.ExplainedBreaks, &o.OpenAlerts, &o.PaymentBreaks, &o.RefundsDue)
	if err != nil {
		return o, fmt.Errorf("overview: %w", postgres.Classify(err))
	}
	// The last run of each job, as a skip scan over job_runs_pipeline_started:
	// a job that runs every second leaves many rows, and DISTINCT ON would
	// read them all.
	rows, err := s.PG.Pool.Query(ctx, `WITH RECURSIVE p AS (
			(SELECT pipeline FROM job_runs ORDER BY pipeline LIMIT 1)
			UNION ALL
			SELECT (SELECT j.pipeline FROM job_runs j WHERE j.pipeline > p.pipeline ORDER BY j.pipeline LIMIT 1) FROM p WHERE p.pipeline IS NOT NULL)
		SELECT r.* FROM p CROSS JOIN LATERAL (
			SELECT id, pipeline, status, started_at, finished_at, batches, records_in, records_out, quarantined, reasons, error, host, pid, tick
			FROM job_runs j WHERE j.pipeline = p.pipeline ORDER BY started_at DESC, id DESC LIMIT 1) r
		ORDER BY r.pipeline`)
	if err != nil {
		return o, fmt.Errorf("overview: %w", postgres.Classify(err))
	}
	if o.LastRunByJob, err = pgx.CollectRows(rows, pgx.RowToStructByPos[postgres.RunRow]); err != nil {
		return o, fmt.Errorf("overview: %w", postgres.Classify(err))
	}
	if f, err := s.FreshnessByAMC(ctx, now, fund.Date{}); err != nil {
		o.FreshnessErr = err.Error()
	} else {
		o.LiveSchemes, o.StaleSchemes = f.Live, f.Stale
		o.CompletenessDay, o.CompletenessMiss = f.Completeness.Date, f.Completeness.MissingCount
	}
	return o, nil
}

// Runs are the latest runs, newest first: `fundflow runs` (which first
// marks the runs whose process is gone abandoned).
func (s *Store) Runs(ctx context.Context, pipeline string, limit int) ([]postgres.RunRow, error) {
	return s.PG.ListRuns(ctx, pipeline, limit)
}

// Run is one job_runs row.
func (s *Store) Run(ctx context.Context, id int64) (postgres.RunRow, error) {
	rows, err := s.PG.Pool.Query(ctx, `SELECT id, pipeline, status, started_at, finished_at, batches, records_in, records_out,
			quarantined, reasons, error, host, pid, tick
		FROM job_runs WHERE id = $1`, id)
	if err != nil {
		return postgres.RunRow{}, fmt.Errorf("run %d: %w", id, postgres.Classify(err))
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[postgres.RunRow])
	if err == pgx.ErrNoRows {
		return r, postgres.ErrNotFound
	}
	return r, postgres.Classify(err)
}

// AMCFreshness is one AMC's schemes judged by transforms/freshness.
type AMCFreshness struct {
	AMC         string
	Live, Stale int
	MaxLate     time.Duration
	Worst       string // the latest scheme's code
	WorstNext   fund.Date
}

// Freshness is NAV freshness by AMC and the last due business day's
// completeness, judged at At.
type Freshness struct {
	At           time.Time
	SLA          time.Duration
	Live, Dead   int
	Stale        int
	ByAMC        []AMCFreshness // stale AMCs first, then by name
	Completeness freshness.Completeness
	Today        fund.Date // in IST, for the page's links
	LastDue      fund.Date // the last business day whose NAVs were due
}

// FreshnessByAMC judges every scheme's latest NAV with the nav-freshness
// job's own verdicts (its Report) and the completeness `fundflow check
// completeness` prints (its Completeness), without setting its metrics or
// touching its alerts.
//
// The completeness is of day, or (zero day) of the last business day whose
// NAVs were due, as `fundflow check completeness` picks it.
func (s *Store) FreshnessByAMC(ctx context.Context, now time.Time, day fund.Date) (Freshness, error) {
	job := &navfreshness.Job{Store: s.PG, Options: s.Freshness}
	rep, err := job.Report(ctx, now)
	if err != nil {
		return Freshness{}, err
	}
	lastDue, err := fund.LastDueBusinessDay(now, s.Freshness.Calendar)
	if err != nil {
		return Freshness{}, err
	}
	f := Freshness{At: now, SLA: s.Freshness.SLA, Live: len(rep.Live), Dead: rep.Dead, Stale: rep.StaleCount(),
		Today: fund.DateOf(now.In(fund.IST())), LastDue: lastDue}
	by := map[string]*AMCFreshness{}
	for _, a := range rep.Live {
		x := by[a.AMC]
		if x == nil {
			x = &AMCFreshness{AMC: a.AMC}
			by[a.AMC] = x
		}
		x.Live++
		if a.Late > s.Freshness.SLA {
			x.Stale++
		}
		if a.Late > x.MaxLate {
			x.MaxLate, x.Worst, x.WorstNext = a.Late, a.Code, a.Next
		}
	}
	for _, x := range by {
		f.ByAMC = append(f.ByAMC, *x)
	}
	sort.Slice(f.ByAMC, func(i, j int) bool {
		a, b := f.ByAMC[i], f.ByAMC[j]
		if (a.Stale > 0) != (b.Stale > 0) {
			return a.Stale > 0
		}
		return a.AMC < b.AMC
	})
	if day.IsZero() {
		day = f.LastDue
	}
	if f.Completeness, err = job.Completeness(ctx, day, now); err != nil {
		return f, err
	}
	return f, nil
}

// Quarantine lists NAV rows in quarantine, newest first, as `fundflow
// quarantine list` does (status "" = every status).
func (s *Store) Quarantine(ctx context.Context, status, reason string, limit int) ([]postgres.Quarantined, error) {
	return s.PG.Quarantine(ctx, postgres.QuarantineFilter{Pipelines: navPipelines, Reason: reason, Status: status, Limit: limit}, false)
}

// Quarantined is one row, as `fundflow quarantine show` reads it.
func (s *Store) Quarantined(ctx context.Context, id int64) (postgres.Quarantined, error) {
	return s.PG.QuarantinedByID(ctx, id)
}

// QuarantineReasons counts the open rows by reason.
func (s *Store) QuarantineReasons(ctx context.Context) ([]Count, error) {
	return s.counts(ctx, `SELECT reason, count(*) FROM quarantine WHERE status = 'open' AND pipeline = ANY($1) GROUP BY 1 ORDER BY 2 DESC, 1`, navPipelines)
}

// Count is a labelled count.
type Count struct {
	Label string
	N     int64
}

func (s *Store) counts(ctx context.Context, sql string, args ...any) ([]Count, error) {
	rows, err := s.PG.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Count])
	return out, postgres.Classify(err)
}

// AgeBuckets are the ages (days since first seen) breaks are counted by.
var AgeBuckets = []struct {
	Label    string
	From, To int // days, inclusive; To < 0: no upper bound
}{{"0–1 d", 0, 1}, {"2–7 d", 2, 7}, {"8–30 d", 8, 30}, {"> 30 d", 31, -1}}

// BreakTypeAges is one break type's unresolved breaks by age bucket.
type BreakTypeAges struct {
	Type      string
	Open      int64
	Explained int64
	ByAge     []int64 // per AgeBuckets, open and explained
}

// Break is one unresolved reconciliation break.
type Break struct {
	ID                     int64
	Type, RTA, Folio       string
	Scheme, OrderID, TxnNo string
	Cause, Detail, Status  string
	ExplainedBy            string
	UnitsDiff              *decimal.Decimal
	FirstSeen, LastSeen    time.Time
	AgeDays                int
	File                   string
	Line                   int32
}

// Breaks are the unresolved recon breaks by type and age (as of today) and
// the oldest limit of them (status "" = open and explained).
func (s *Store) Breaks(ctx context.Context, today fund.Date, status, typ string, limit int) ([]BreakTypeAges, []Break, error) {
	rows, err := s.PG.Pool.Query(ctx, `SELECT type, status, ($1::date - first_seen) AS age, count(*)
		FROM recon_breaks WHERE status <> 'resolved' GROUP BY 1, 2, 3`, today.Time())
	if err != nil {
		return nil, nil, fmt.Errorf("breaks: %w", postgres.Classify(err))
	}
	by := map[string]*BreakTypeAges{}
	for _, t := range fund.BreakTypes {
		by[string(t)] = &BreakTypeAges{Type: string(t), ByAge: make([]int64, len(AgeBuckets))}
	}
	for rows.Next() {
		var typ, st string
		var age int32
		var n int64
		if err := rows.Scan(&typ, &st, &age, &n); err != nil {
			rows.Close()
			return nil, nil, err
		}
		x := by[typ]
		if x == nil {
			x = &BreakTypeAges{Type: typ, ByAge: make([]int64, len(AgeBuckets))}
			by[typ] = x
		}
		if st == fund.BreakExplained {
			x.Explained += n
		} else {
			x.Open += n
		}
		for i, b := range AgeBuckets {
			if int(age) >= b.From && (b.To < 0 || int(age) <= b.To) {
				x.ByAge[i] += n
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, postgres.Classify(err)
	}
	var types []BreakTypeAges
	for _, t := range fund.BreakTypes {
		types = append(types, *by[string(t)])
		delete(by, string(t))
	}
	for _, x := range by {
		types = append(types, *x)
	}
	rows, err = s.PG.Pool.Query(ctx, `SELECT id, type, rta, folio, scheme_code, order_id, rta_txn_no, cause, detail, status, explained_by,
			units_diff, first_seen, last_seen, ($1::date - first_seen), rta_file, coalesce(rta_line, 0)
		FROM recon_breaks
		WHERE status <> 'resolved' AND ($2 = '' OR status = $2) AND ($3 = '' OR type = $3)
		ORDER BY first_seen, id LIMIT $4`, today.Time(), status, typ, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("breaks: %w", postgres.Classify(err))
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Break, error) {
		var b Break
		var age int32
		err := r.Scan(&b.ID, &b.Type, &b.RTA, &b.Folio, &b.Scheme, &b.OrderID, &b.TxnNo, &b.Cause, &b.Detail, &b.Status, &b.ExplainedBy,
			&b.UnitsDiff, &b.FirstSeen, &b.LastSeen, &age, &b.File, &b.Line)
		b.AgeDays = int(age)
		return b, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("breaks: %w", postgres.Classify(err))
	}
	return types, list, nil
}

// Alert is one open alert.
type Alert struct {
	ID                    int64
	Kind, Subject, Detail string
	CreatedAt             time.Time
}

// OpenAlerts are the unresolved alerts, newest first (kind "" = all).
func (s *Store) OpenAlerts(ctx context.Context, kind string, limit int) ([]Alert, []Count, error) {
	byKind, err := s.counts(ctx, `SELECT kind, count(*) FROM alerts WHERE resolved_at IS NULL GROUP BY 1 ORDER BY 2 DESC, 1`)
	if err != nil {
		return nil, nil, fmt.Errorf("alerts: %w", err)
	}
	rows, err := s.PG.Pool.Query(ctx, `SELECT id, kind, subject, detail, created_at FROM alerts
		WHERE resolved_at IS NULL AND ($1 = '' OR kind = $1) ORDER BY created_at DESC, id DESC LIMIT $2`, kind, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("alerts: %w", postgres.Classify(err))
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Alert])
	if err != nil {
		return nil, nil, fmt.Errorf("alerts: %w", postgres.Classify(err))
	}
	return list, byKind, nil
}

// PaymentBreak is a payment that cannot realise an order, still open.
type PaymentBreak struct {
	ID                 int64
	PaymentID, OrderID string
	Reason, Detail     string
	CreatedAt          time.Time
	Amount             decimal.Decimal
	PaymentStatus      string
}

// RefundDue is a captured payment whose order ended without an allotment
// (an open refund_due alert).
type RefundDue struct {
	AlertID   int64
	PaymentID string
	Detail    string
	Since     time.Time
	Amount    *decimal.Decimal
	OrderID   *string
	Status    *string
}

// Payments are the open payment breaks and the refunds due, newest first.
func (s *Store) Payments(ctx context.Context, limit int) ([]PaymentBreak, []RefundDue, error) {
	rows, err := s.PG.Pool.Query(ctx, `SELECT b.id, b.payment_id, b.order_id, b.reason, b.detail, b.created_at, p.amount, p.status
		FROM payment_breaks b JOIN payments p ON p.id = b.payment_id
		WHERE b.resolved_at IS NULL ORDER BY b.created_at DESC, b.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("payment breaks: %w", postgres.Classify(err))
	}
	breaks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[PaymentBreak])
	if err != nil {
		return nil, nil, fmt.Errorf("payment breaks: %w", postgres.Classify(err))
	}
	rows, err = s.PG.Pool.Query(ctx, `SELECT a.id, a.subject, a.detail, a.created_at, p.amount, p.order_id, p.status
		FROM alerts a LEFT JOIN payments p ON p.id = a.subject
		WHERE a.kind = $2 AND a.resolved_at IS NULL ORDER BY a.created_at DESC, a.id DESC LIMIT $1`, limit, ledger.AlertRefundDue)
	if err != nil {
		return nil, nil, fmt.Errorf("refunds due: %w", postgres.Classify(err))
	}
	refunds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[RefundDue])
	if err != nil {
		return nil, nil, fmt.Errorf("refunds due: %w", postgres.Classify(err))
	}
	return breaks, refunds, nil
}
