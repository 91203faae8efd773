package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// NAVSink writes validated NAVs: every NAV to navs (with its file and line),
// the newest per scheme to nav_latest (forward only), and the scheme master
// with a new version whenever a scheme's attributes change (each change also
// an audit_log row). One batch is one
// transaction; replaying a batch changes nothing.
type NAVSink struct{ Pool *pgxpool.Pool }

// Name labels the sink's metrics.
func (NAVSink) Name() string { return "postgres" }

var navInColumns = []string{"code", "name", "isin_growth", "isin_reinvest", "plan", "option", "category", "scheme_type", "amc",
	"nav_date", "nav", "repurchase", "sale", "source_file", "source_sha256", "source_line"}

// Write stores a batch in one transaction.
func (s NAVSink) Write(ctx context.Context, b pipelines.Batch[fund.NAVLine]) error {
	if len(b.Items) == 0 {
		return nil
	}
	return classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// One temp table per connection, emptied at every commit: creating
		// and dropping it per batch costs catalog writes on every batch.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS nav_in (
			code text, name text, isin_growth text, isin_reinvest text, plan text, option text, category text,
			scheme_type text, amc text, nav_date date, nav numeric(18,8), repurchase numeric(18,8), sale numeric(18,8),
			source_file text, source_sha256 text, source_line integer) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		rows := make([][]any, len(b.Items))
		for i, n := range b.Items {
			rows[i] = []any{n.SchemeCode, n.SchemeName, n.ISINGrowth, n.ISINReinvest, n.Plan, n.Option, n.Category,
				n.SchemeType, n.AMC, n.Date.Time(), n.NAV, n.Repurchase, n.Sale, n.From.File, n.From.SHA256, n.From.Line}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"nav_in"}, navInColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy navs%s: %w", copyRowOf(err, b.Items), err)
		}
		for _, stmt := range navStatements {
			if _, err := tx.Exec(ctx, stmt.sql); err != nil {
				return fmt.Errorf("%s: %w", stmt.what, err)
			}
		}
		return nil
	}))
}

var copyLine = regexp.MustCompile(`^COPY \w+, line (\d+)`)

// copyRowOf names the record a COPY error is about (Postgres says "COPY
// nav_in, line 3, column nav"), so an error says which file line to look at.
func copyRowOf(err error, items []fund.NAVLine) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return ""
	}
	m := copyLine.FindStringSubmatch(pe.Where)
	if m == nil {
		return ""
	}
	i, _ := strconv.Atoi(m[1])
	if i < 1 || i > len(items) {
		return ""
	}
	f := items[i-1].From
	return fmt.Sprintf(" (%s line %d, scheme %s)", f.File, f.Line, items[i-1].SchemeCode)
}

var navStatements = []struct{ what, sql string }{
	{"insert navs", `
INSERT INTO navs (scheme_code, nav_date, nav, repurchase, sale, source_file, source_sha256, source_line)
SELECT DISTINCT ON (code, nav_date) code, nav_date, nav, repurchase, sale, source_file, source_sha256, source_line
FROM nav_in ORDER BY code, nav_date, source_line
ON CONFLICT (scheme_code, nav_date) DO NOTHING`},
	// Forward only: an older NAV never replaces a newer one.
	{"advance nav_latest", `
INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
SELECT DISTINCT ON (code) code, nav_date, nav, source_file, source_sha256, source_line
FROM nav_in ORDER BY code, nav_date DESC, source_line DESC
ON CONFLICT (scheme_code) DO UPDATE SET nav_date = excluded.nav_date, nav = excluded.nav,
    source_file = excluded.source_file, source_sha256 = excluded.source_sha256,
    source_line = excluded.source_line, updated_at = now()
WHERE excluded.nav_date > nav_latest.nav_date`},
	// Schemes whose attributes differ from their current version, as of the
	// newest row for them in this batch, get a new version; the old one is
	// closed. Rows older than the current version's start (stale NAVs) do not
	// make versions.
	{"version schemes", `
WITH changed AS (
    SELECT i.*, coalesce(s.version, 0) + 1 AS new_version
    FROM (SELECT DISTINCT ON (code) code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc,
                 nav_date, source_sha256, source_line
          FROM nav_in ORDER BY code, nav_date DESC, source_line DESC) i
    LEFT JOIN schemes s ON s.code = i.code
    WHERE s.code IS NULL
       OR (i.nav_date >= s.valid_from AND
           (s.name, s.isin_growth, s.isin_reinvest, s.plan, s.option, s.category, s.scheme_type, s.amc)
           IS DISTINCT FROM (i.name, i.isin_growth, i.isin_reinvest, i.plan, i.option, i.category, i.scheme_type, i.amc))
), closed AS (
    UPDATE scheme_versions v SET valid_to = c.nav_date
    FROM changed c WHERE v.code = c.code AND v.valid_to IS NULL
), added AS (
    INSERT INTO scheme_versions (code, version, valid_from, name, isin_growth, isin_reinvest, plan, option, category,
                                 scheme_type, amc, source_sha256, source_line)
    SELECT code, new_version, nav_date, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc,
           source_sha256, source_line
    FROM changed
), audited AS (
    -- The scheme master's changes go to the audit trail in this transaction.
    INSERT INTO audit_log (entity, entity_id, action, actor, payload)
    SELECT 'scheme', code, CASE WHEN new_version = 1 THEN 'created' ELSE 'version' END, 'nav-ingest',
           jsonb_build_object('version', new_version, 'valid_from', nav_date, 'name', name, 'isin_growth', isin_growth,
               'isin_reinvest', isin_reinvest, 'plan', plan, 'option', option, 'category', category,
               'scheme_type', scheme_type, 'amc', amc, 'source_sha256', source_sha256, 'source_line', source_line)
    FROM changed ORDER BY code
)
INSERT INTO schemes (code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc, version, valid_from)
SELECT code, name, isin_growth, isin_reinvest, plan, option, category, scheme_type, amc, new_version, nav_date
FROM changed
ON CONFLICT (code) DO UPDATE SET name = excluded.name, isin_growth = excluded.isin_growth,
    isin_reinvest = excluded.isin_reinvest, plan = excluded.plan, option = excluded.option,
    category = excluded.category, scheme_type = excluded.scheme_type, amc = excluded.amc,
    version = excluded.version, valid_from = excluded.valid_from, updated_at = now()`},
}

// LatestNAVs returns every scheme's newest NAV (the jump check's baseline).
func LatestNAVs(ctx context.Context, pool *pgxpool.Pool) (map[string]fund.DatedNAV, error) {
	rows, err := pool.Query(ctx, `SELECT scheme_code, nav_date, nav FROM nav_latest`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	out := map[string]fund.DatedNAV{}
	for rows.Next() {
		var code string
		var l fund.DatedNAV
		var d time.Time
		if err := rows.Scan(&code, &d, &l.NAV); err != nil {
			return nil, err
		}
		l.Date = fund.DateOf(d)
		out[code] = l
	}
	return out, classify(rows.Err())
}

// NAVSelector picks stored NAVs to retract: every NAV a file gave (SHA256),
// or one scheme's NAVs (Scheme) on one date (Date) or from a date on
// (From). At least SHA256 or Scheme is set.
type NAVSelector struct {
	SHA256 string
	Scheme string
	Date   fund.Date // zero: any
	From   fund.Date // zero: any
}

// RetractedNAV is one NAV taken back out of navs.
type RetractedNAV struct {
	Scheme string
	Date   fund.Date
	NAV    string
	From   fund.Source
}

// ErrNAVInUse refuses to retract a NAV that allotted transactions applied.
var ErrNAVInUse = errors.New("NAV applied by allotted transactions")

// RetractNAVs is the repair path for NAVs that should never have been
// accepted (a mis-dated file, a row accepted from quarantine by mistake):
// in one transaction it deletes them from navs, rebuilds each affected
// scheme's nav_latest from the NAVs that remain (nav_latest only ever moves
// forward on its own, so a NAV dated 2062 would hold it there forever),
// marks a quarantined row that had been accepted or replayed as dismissed,
// and writes one audit_log row per NAV, by whom. A NAV that an allotment
// applied is refused (ErrNAVInUse): that needs the transaction reversed
// first.
func (s Store) RetractNAVs(ctx context.Context, sel NAVSelector, by string) ([]RetractedNAV, error) {
	if sel.SHA256 == "" && sel.Scheme == "" {
		return nil, errors.New("retract: name a file (sha256) or a scheme")
	}
	var out []RetractedNAV
	dateArg := func(d fund.Date) any {
		if d.IsZero() {
			return nil
		}
		return d.Time()
	}
	where := `($1 = '' OR source_sha256 = $1) AND ($2 = '' OR scheme_code = $2)
		AND ($3::date IS NULL OR nav_date = $3) AND ($4::date IS NULL OR nav_date >= $4)`
	args := []any{sel.SHA256, sel.Scheme, dateArg(sel.Date), dateArg(sel.From)}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var used int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions t JOIN navs n USING (scheme_code, nav_date) WHERE `+
			strings.ReplaceAll(where, "source_sha256", "n.source_sha256"), args...).Scan(&used); err != nil {
			return err
		}
		if used > 0 {
			return fmt.Errorf("retract: %w: %d transaction(s)", ErrNAVInUse, used)
		}
		rows, err := tx.Query(ctx, `DELETE FROM navs WHERE `+where+`
			RETURNING scheme_code, nav_date, nav::text, source_file, source_sha256, source_line`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r RetractedNAV
			var d time.Time
			if err := rows.Scan(&r.Scheme, &d, &r.NAV, &r.From.File, &r.From.SHA256, &r.From.Line); err != nil {
				return err
			}
			r.Date = fund.DateOf(d)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		codes := make([]string, 0, len(out))
		b := &pgx.Batch{}
		for _, r := range out {
			codes = append(codes, r.Scheme)
			b.Queue(`INSERT INTO audit_log (entity, entity_id, action, actor, payload) VALUES ('nav', $1, 'retracted', $2,
				jsonb_build_object('scheme_code', $3::text, 'nav_date', $4::date, 'nav', $5::text, 'source_file', $6::text, 'source_sha256', $7::text, 'source_line', $8::int))`,
				r.Scheme+"|"+r.Date.String(), by, r.Scheme, r.Date.Time(), r.NAV, r.From.File, r.From.SHA256, r.From.Line)
			b.Queue(`UPDATE quarantine SET status = 'dismissed', resolved_at = now(), resolved_by = $2
				WHERE pos_key = $1 AND status IN ('accepted', 'replayed')`, PosKey(pipelines.Position(r.From)), by)
		}
		b.Queue(`DELETE FROM nav_latest WHERE scheme_code = ANY($1)`, codes)
		b.Queue(`INSERT INTO nav_latest (scheme_code, nav_date, nav, source_file, source_sha256, source_line)
			SELECT DISTINCT ON (scheme_code) scheme_code, nav_date, nav, source_file, source_sha256, source_line
			FROM navs WHERE scheme_code = ANY($1) ORDER BY scheme_code, nav_date DESC`, codes)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// StoredNAV returns the NAV navs holds for a scheme on a date, if any.
func (s Store) StoredNAV(ctx context.Context, scheme string, date fund.Date) (fund.NAVLine, bool, error) {
	var l fund.NAVLine
	err := s.Pool.QueryRow(ctx, `SELECT nav, source_file, source_sha256, source_line FROM navs WHERE scheme_code = $1 AND nav_date = $2`,
		scheme, date.Time()).Scan(&l.NAV, &l.From.File, &l.From.SHA256, &l.From.Line)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, classify(err)
	}
	l.SchemeCode, l.Date = scheme, date
	return l, true, nil
}
