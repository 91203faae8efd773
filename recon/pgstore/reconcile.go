// Package pgstore is recon's Store in Postgres: SQL only. The decisions it
// applies (cause codes, the order of the cause rules, which causes clear
// themselves, the statuses) come from recon and fund as query parameters.
package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Store is recon.Store on a Postgres pool.
type Store struct{ Pool *pgxpool.Pool }

// New returns the store of pool.
func New(pool *pgxpool.Pool) Store { return Store{Pool: pool} }

var _ recon.Store = Store{}

// sentinel for "no window": before any NAV.
var allHistory = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// codes are the terms the SQL below compares with and writes, as named
// parameters (@name), each from its one definition in Go. The names are
// fixed here; the values may change in fund and recon alone.
func codes() pgx.NamedArgs {
	var waiting, unitsIn []string
	for _, st := range recon.Waiting {
		waiting = append(waiting, string(st))
	}
	for _, k := range recon.UnitsIn {
		unitsIn = append(unitsIn, k.String())
	}
	unitsIn = append(unitsIn, recon.LedgerUnitsIn...)
	return pgx.NamedArgs{
		"missing_in_ledger": string(fund.MissingInLedger), "missing_at_rta": string(fund.MissingAtRTA),
		"units_mismatch": string(fund.UnitsMismatch), "amount_mismatch": string(fund.AmountMismatch),
		"nav_date_mismatch": string(fund.NAVDateMismatch), "duplicate": string(fund.Duplicate),

		"pending_nav": fund.CausePendingNAV, "rounding_step": fund.CauseRoundingStep, "merger": fund.CauseMerger,
		"after_cutoff": fund.CauseAfterCutoff, "stamp_duty": fund.CauseStampDuty,
		"unmatched_transaction": fund.CauseUnmatchedTxn, "unknown_product": fund.CauseUnknownCode,

		"open": fund.BreakOpen, "explained": fund.BreakExplained, "resolved": fund.BreakResolved,

		"self_clearing": recon.SelfClearing, "waiting": waiting, "units_in": unitsIn, "no_units": recon.NoUnits,
		"sip": fund.SIP.String(), "purchase": fund.Purchase.String(),
	}
}

// Reconcile implements recon.Store: Postgres does the joins, neither side
// is held in this process.
func (s Store) Reconcile(ctx context.Context, opt recon.Options) (recon.Result, error) {
	t0 := time.Now()
	res := recon.Result{Date: opt.Date}
	d := opt.Date.Time()
	from := allHistory
	if !opt.WindowFrom.IsZero() {
		from = opt.WindowFrom.Time()
	}
	last := time.Now()
	step := func(name string) {
		now := time.Now()
		res.Steps = append(res.Steps, recon.Step{Name: name, Seconds: now.Sub(last).Seconds()})
		last = now
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// One reconciliation at a time; big joins get room to hash in memory.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('folio-recon', 0))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
			return err
		}
		var latest *time.Time
		if err := tx.QueryRow(ctx, `SELECT max(recon_date) FROM recon_runs WHERE finished_at IS NOT NULL`).Scan(&latest); err != nil {
			return err
		}
		if latest != nil && latest.After(d) {
			return fmt.Errorf("%w: asked for %s, reconciled up to %s", recon.ErrBehind, opt.Date, fund.DateOf(*latest))
		}
		var txnFiles []int64
		if err := tx.QueryRow(ctx, `SELECT
				coalesce(array_agg(DISTINCT rta) FILTER (WHERE kind = 'holdings'), '{}'),
				coalesce(array_agg(DISTINCT rta) FILTER (WHERE kind = 'transactions'), '{}'),
				coalesce(array_agg(id) FILTER (WHERE kind = 'transactions'), '{}')
			FROM rta_files WHERE as_of = $1`, d).Scan(&res.HoldingsRTAs, &res.TransactionsRTAs, &txnFiles); err != nil {
			return fmt.Errorf("find the feeds of %s: %w", opt.Date, err)
		}
		if len(res.HoldingsRTAs) == 0 && len(res.TransactionsRTAs) == 0 {
			return fmt.Errorf("%w (%s)", recon.ErrNoFeeds, opt.Date)
		}
		var window *time.Time
		if !opt.WindowFrom.IsZero() {
			window = &from
		}
		if err := tx.QueryRow(ctx, `INSERT INTO recon_runs (recon_date, window_from, holdings_rtas, transactions_rtas)
			VALUES ($1, $2, $3, $4) RETURNING id`, d, window, res.HoldingsRTAs, res.TransactionsRTAs).Scan(&res.RunID); err != nil {
			return err
		}
		for _, st := range reconSetup {
			if _, err := tx.Exec(ctx, st); err != nil {
				return fmt.Errorf("recon setup: %w", err)
			}
		}
		// Rows COPYed just now have no statistics yet: without them the
		// planner takes millions of rows for a dozen and picks nested loops.
		for _, t := range []string{"rta_holding_rows", "rta_txn_rows"} {
			// app_analyze: the application's role does not own the table (011_app_analyze.sql).
			if _, err := tx.Exec(ctx, `SELECT app_analyze($1::regclass)`, t); err != nil {
				return fmt.Errorf("analyze %s: %w", t, err)
			}
		}
		step("setup")
		// Every statement below takes its values by name from one set.
		args := codes()
		args["date"], args["from"], args["files"], args["run"] = d, from, txnFiles, res.RunID
		args["holding_rtas"], args["txn_rtas"] = res.HoldingsRTAs, res.TransactionsRTAs
		if len(res.HoldingsRTAs) > 0 {
			if _, err := tx.Exec(ctx, sqlHoldingDups, args); err != nil {
				return fmt.Errorf("holding duplicates: %w", err)
			}
			step("holding duplicates")
			if err := tx.QueryRow(ctx, sqlHoldings, args).Scan(&res.LedgerHoldings, &res.RTAHoldings); err != nil {
				return fmt.Errorf("compare holdings: %w", err)
			}
			step("holdings")
		}
		if len(res.TransactionsRTAs) > 0 {
			if _, err := tx.Exec(ctx, sqlTxnDupKeys, args); err != nil {
				return fmt.Errorf("transaction duplicates: %w", err)
			}
			if _, err := tx.Exec(ctx, `ANALYZE recon_dup_keys`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, sqlTxnDups, args); err != nil {
				return fmt.Errorf("transaction duplicates: %w", err)
			}
			step("transaction duplicates")
			if _, err := tx.Exec(ctx, sqlTransactions, args); err != nil {
				return fmt.Errorf("compare transactions: %w", err)
			}
			step("transactions")
			if err := tx.QueryRow(ctx, sqlTxnCounts, args).Scan(&res.LedgerTransactions, &res.RTATransactions); err != nil {
				return fmt.Errorf("count transactions: %w", err)
			}
			step("transaction counts")
			if _, err := tx.Exec(ctx, sqlKindNotesByRef, args); err != nil {
				return fmt.Errorf("compare transaction kinds: %w", err)
			}
			if _, err := tx.Exec(ctx, sqlMatchByContent, args); err != nil {
				return fmt.Errorf("match transactions without a reference: %w", err)
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM recon_kind_notes`).Scan(&res.KindMismatches); err != nil {
				return fmt.Errorf("transaction kind notes: %w", err)
			}
			notes, err := kindNotes(ctx, tx)
			if err != nil {
				return fmt.Errorf("transaction kind notes: %w", err)
			}
			res.KindNotes = notes
			step("transaction kinds")
		}
		for _, r := range recon.CauseRules {
			sqls, ok := causeSQL[r.Cause]
			if !ok {
				return fmt.Errorf("infer causes: no SQL for the rule %q", r.Cause)
			}
			for _, q := range sqls {
				if _, err := tx.Exec(ctx, q, args); err != nil {
					return fmt.Errorf("infer causes (%s: %s): %w", r.Cause, r.What, err)
				}
			}
		}
		step("causes")
		if err := tx.QueryRow(ctx, sqlMerge, args).Scan(&res.NewBreaks); err != nil {
			return fmt.Errorf("merge breaks: %w", err)
		}
		if err := tx.QueryRow(ctx, sqlResolve, args).Scan(&res.Resolved); err != nil {
			return fmt.Errorf("resolve breaks: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT l.scheme_code ORDER BY l.scheme_code), '{}')
			FROM holdings l WHERE l.units > 0 AND NOT EXISTS (SELECT 1 FROM rta_schemes s WHERE s.scheme_code = l.scheme_code)`).
			Scan(&res.UnmappedSchemes); err != nil {
			return fmt.Errorf("unmapped schemes: %w", err)
		}
		if err := tx.QueryRow(ctx, `UPDATE recon_runs SET rta_holdings = @rta_holdings, ledger_holdings = @ledger_holdings,
				rta_transactions = @rta_transactions, ledger_transactions = @ledger_transactions, new_breaks = @new_breaks,
				resolved = @resolved_n, unmapped_schemes = @unmapped, finished_at = now(),
				breaks = (SELECT count(*) FROM recon_breaks WHERE last_run = @run AND status <> @resolved)
			WHERE id = @run RETURNING breaks`,
			pgx.NamedArgs{"run": res.RunID, "rta_holdings": res.RTAHoldings, "ledger_holdings": res.LedgerHoldings,
				"rta_transactions": res.RTATransactions, "ledger_transactions": res.LedgerTransactions, "new_breaks": res.NewBreaks,
				"resolved_n": res.Resolved, "unmapped": res.UnmappedSchemes, "resolved": fund.BreakResolved}).Scan(&res.Breaks); err != nil {
			return err
		}
		step("merge and resolve")
		if opt.RetainDays > 0 {
			cut := opt.Date.AddDays(-opt.RetainDays).Time()
			for _, st := range []string{
				`DELETE FROM rta_holding_rows WHERE file_id IN (SELECT id FROM rta_files WHERE as_of < $1)`,
				`DELETE FROM rta_txn_rows WHERE file_id IN (SELECT id FROM rta_files WHERE as_of < $1)`,
			} {
				if _, err := tx.Exec(ctx, st, cut); err != nil {
					return fmt.Errorf("retention: %w", err)
				}
			}
		}
		step("retention")
		return nil
	})
	step("commit")
	res.Took = time.Since(t0)
	return res, postgres.Classify(err)
}

// reconSetup makes the run's scratch tables. recon_now holds the breaks of
// this run (a few, normally); recon_dup_later the positions of RTA rows that
// repeat an earlier row (reported as duplicates and left out of matching).
var reconSetup = []string{
	`CREATE TEMP TABLE recon_now (
		break_key text, scope text, type text, rta text, folio text, scheme_code text, product_code text,
		order_id text, rta_txn_no text, ledger_tx_id bigint,
		rta_units numeric(24,9), ledger_units numeric(24,9), units_diff numeric(24,9),
		rta_amount numeric(18,2), ledger_amount numeric(18,2), payment_amount numeric(18,2),
		rta_stamp_duty numeric(18,2), ledger_stamp_duty numeric(18,2),
		rta_nav_date date, ledger_nav_date date, rta_file_id bigint, rta_line integer,
		cause text NOT NULL DEFAULT '', detail text NOT NULL DEFAULT '', user_ref text NOT NULL DEFAULT '',
		rta_kind text, ledger_kind text) ON COMMIT DROP`,
	`CREATE TEMP TABLE recon_dup_later (file_id bigint, line integer) ON COMMIT DROP`,
	`CREATE TEMP TABLE recon_kind_notes (rta text, folio text, scheme_code text, order_id text, rta_txn_no text,
		rta_kind text, ledger_kind text) ON COMMIT DROP`,
}

// sqlSIPOrders are our SIP instalments' orders: purchases the plans service
// placed for an instalment of a SIP (plan_instalments.order_id is the order
// request; a purchase request has one leg). The ledger books them as
// purchases; the RTAs as SIP transactions.
// (plans.kind of a SIP is fund.SIP's code, @sip.)
const sqlSIPOrders = `SELECT o.id FROM plan_instalments i JOIN plans p ON p.id = i.plan_id AND p.kind = @sip::text
    JOIN orders o ON o.request_id = i.order_id AND o.kind = @purchase::text`

// sqlKindNotesByRef notes the pairs matched by our order id where one side
// says SIP instalment and the other a plain purchase (see recon.KindNote).
const sqlKindNotesByRef = `
INSERT INTO recon_kind_notes (rta, folio, scheme_code, order_id, rta_txn_no, rta_kind, ledger_kind)
SELECT r.rta, r.folio, l.scheme_code, l.order_id, r.txn_no, r.kind, CASE WHEN sip.id IS NULL THEN l.kind ELSE @sip::text END
FROM rta_txn_rows r JOIN ledger_transactions l ON l.order_id = r.user_ref
LEFT JOIN (` + sqlSIPOrders + `) sip ON sip.id = l.order_id
WHERE r.file_id = ANY(@files) AND r.nav_date <= @date AND r.nav_date >= @from AND r.user_ref <> ''
  AND r.kind IN (@sip::text, @purchase::text) AND l.kind = @purchase::text
  AND (r.kind = @sip::text) <> (sip.id IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM recon_dup_later x WHERE x.file_id = r.file_id AND x.line = r.line)`

// maxKindNotes caps the notes a Result lists (KindMismatches counts all).
const maxKindNotes = 1000

func kindNotes(ctx context.Context, tx pgx.Tx) ([]recon.KindNote, error) {
	rows, err := tx.Query(ctx, `SELECT rta, folio, scheme_code, order_id, rta_txn_no, rta_kind, ledger_kind
		FROM recon_kind_notes ORDER BY rta, folio, order_id LIMIT $1`, maxKindNotes)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (recon.KindNote, error) {
		var n recon.KindNote
		err := r.Scan(&n.RTA, &n.Folio, &n.SchemeCode, &n.OrderID, &n.RTATxnNo, &n.RTAKind, &n.LedgerKind)
		return n, err
	})
}

// sqlHoldingDups: a folio and scheme the RTA reports twice on one date is
// a duplicate break (with both positions); the rows after the first are left
// out of the comparison.
const sqlHoldingDups = `
WITH keys AS (
    SELECT rta, folio, product_code FROM rta_holding_rows
    WHERE as_of = @date AND rta = ANY(@holding_rtas)
    GROUP BY rta, folio, product_code HAVING count(*) > 1
), rows AS (
    SELECT r.rta, r.folio, r.product_code, r.file_id, r.line, r.units,
           row_number() OVER (PARTITION BY r.rta, r.folio, r.product_code ORDER BY r.file_id, r.line) AS n,
           count(*) OVER (PARTITION BY r.rta, r.folio, r.product_code) AS copies
    FROM rta_holding_rows r JOIN keys k USING (rta, folio, product_code)
    WHERE r.as_of = @date
), later AS (
    INSERT INTO recon_dup_later (file_id, line) SELECT file_id, line FROM rows WHERE n > 1
)
INSERT INTO recon_now (break_key, scope, type, rta, folio, scheme_code, product_code, rta_units, rta_file_id, rta_line, detail)
SELECT 'h|' || @duplicate::text || '|' || r.rta || '|' || r.folio || '|' || r.product_code, 'holding', @duplicate::text, r.rta, r.folio,
       coalesce(m.scheme_code, ''), r.product_code, r.units, r.file_id, r.line,
       format('the RTA reports folio %s in %s %s times on %s; the first is compared, the others are left out',
              r.folio, r.product_code, r.copies, @date::date)
FROM rows r LEFT JOIN rta_schemes m ON m.rta = r.rta AND m.product_code = r.product_code
WHERE r.n = 1`

// sqlHoldings compares the RTAs' unit balances dated @date with our ledger's
// units as of @date (the signed sum of allotments with nav_date <= @date), per
// folio and scheme, for the schemes of the RTAs @holding_rtas. A zero balance on one
// side and no row on the other is no break. Returns the number of ledger
// and RTA holdings compared.
const sqlHoldings = `
WITH rh AS (
    SELECT r.rta, r.folio, r.product_code, m.scheme_code, r.units, r.file_id, r.line
    FROM rta_holding_rows r LEFT JOIN rta_schemes m ON m.rta = r.rta AND m.product_code = r.product_code
    WHERE r.as_of = @date AND r.rta = ANY(@holding_rtas)
      AND NOT EXISTS (SELECT 1 FROM recon_dup_later x WHERE x.file_id = r.file_id AND x.line = r.line)
), lh AS (
    SELECT s.rta, s.product_code, t.folio_no, t.scheme_code,
           sum(CASE WHEN t.kind = ANY(@units_in) THEN t.units ELSE -t.units END) AS units, max(t.id) AS last_tx
    FROM ledger_transactions t JOIN rta_schemes s ON s.scheme_code = t.scheme_code
    WHERE t.nav_date <= @date AND s.rta = ANY(@holding_rtas) AND t.kind <> ALL(@no_units::text[]) -- moves no units
    GROUP BY s.rta, s.product_code, t.folio_no, t.scheme_code
), j AS MATERIALIZED (
    SELECT coalesce(lh.rta, rh.rta) AS rta, coalesce(lh.folio_no, rh.folio) AS folio,
           coalesce(lh.scheme_code, rh.scheme_code, '') AS scheme_code, coalesce(rh.product_code, lh.product_code) AS product_code,
           lh.folio_no IS NOT NULL AS in_ledger, rh.folio IS NOT NULL AS at_rta,
           lh.units AS ledger_units, rh.units AS rta_units, lh.last_tx, rh.file_id, rh.line
    FROM lh FULL JOIN rh ON rh.rta = lh.rta AND rh.folio = lh.folio_no AND rh.scheme_code = lh.scheme_code
), breaks AS (
    INSERT INTO recon_now (break_key, scope, type, rta, folio, scheme_code, product_code, ledger_tx_id,
                           rta_units, ledger_units, units_diff, rta_file_id, rta_line, cause, detail)
    SELECT 'h|' || b.type || '|' || j.rta || '|' || j.folio || '|' || CASE WHEN j.scheme_code = '' THEN 'p:' || j.product_code ELSE j.scheme_code END,
           'holding', b.type, j.rta, j.folio, j.scheme_code, j.product_code, j.last_tx,
           j.rta_units, j.ledger_units, coalesce(j.rta_units, 0) - coalesce(j.ledger_units, 0), j.file_id, j.line,
           CASE WHEN j.at_rta AND j.scheme_code = '' THEN @unknown_product::text ELSE '' END,
           CASE b.type
             WHEN @missing_at_rta::text THEN format('our ledger holds %s units of %s in folio %s as of %s; the RTA''s holdings file has no such row',
                                               j.ledger_units, j.scheme_code, j.folio, @date::date)
             WHEN @missing_in_ledger::text THEN format('the RTA reports %s units of %s in folio %s; our ledger has no allotment of it as of %s',
                                               j.rta_units, CASE WHEN j.scheme_code = '' THEN j.product_code || ' (an RTA code not in rta_schemes)' ELSE j.scheme_code END,
                                               j.folio, @date::date)
             ELSE format('the RTA reports %s units, our ledger %s (difference %s)', j.rta_units, j.ledger_units, j.rta_units - j.ledger_units)
           END
    FROM (SELECT * FROM j WHERE NOT (j.in_ledger AND j.at_rta AND j.ledger_units = j.rta_units)) j CROSS JOIN LATERAL (VALUES
        (@missing_at_rta::text, j.in_ledger AND NOT j.at_rta AND j.ledger_units <> 0),
        (@missing_in_ledger::text, j.at_rta AND NOT j.in_ledger AND j.rta_units <> 0),
        (@units_mismatch::text, j.in_ledger AND j.at_rta AND j.ledger_units <> j.rta_units)) AS b(type, hit)
    WHERE b.hit
)
SELECT count(*) FILTER (WHERE in_ledger), count(*) FILTER (WHERE at_rta) FROM j`

// sqlTxnDupKeys finds the RTA transaction numbers seen twice in the files
// of the date, and the user references (our order ids) carried by two
// different RTA transactions: one order allotted twice at the RTA. Two hash
// aggregations over the staged rows; the keys found are few.
const sqlTxnDupKeys = `
CREATE TEMP TABLE recon_dup_keys ON COMMIT DROP AS
SELECT 'n'::text AS kind, rta, txn_no AS k FROM rta_txn_rows
WHERE file_id = ANY(@files) AND nav_date <= @date AND nav_date >= @from
GROUP BY rta, txn_no HAVING count(*) > 1
UNION ALL
SELECT 'u', rta, user_ref FROM rta_txn_rows
WHERE file_id = ANY(@files) AND nav_date <= @date AND nav_date >= @from AND user_ref <> ''
GROUP BY rta, user_ref HAVING min(txn_no) <> max(txn_no)`

// sqlTxnDups reports each duplicate (with the first copy's position) and
// leaves the rows after the first out of matching. One scan picks the rows
// of the duplicate keys. @files files, @date date, @from window start.
const sqlTxnDups = `
WITH cand AS (
    SELECT r.rta, r.txn_no, r.user_ref, r.file_id, r.line, r.folio, r.product_code, r.units,
           EXISTS (SELECT 1 FROM recon_dup_keys k WHERE k.kind = 'n' AND k.rta = r.rta AND k.k = r.txn_no) AS by_no
    FROM rta_txn_rows r
    WHERE r.file_id = ANY(@files) AND r.nav_date <= @date AND r.nav_date >= @from
      AND ((r.rta, r.txn_no) IN (SELECT rta, k FROM recon_dup_keys WHERE kind = 'n')
        OR (r.rta, r.user_ref) IN (SELECT rta, k FROM recon_dup_keys WHERE kind = 'u'))
), dups AS (
    SELECT c.*, 'n:' || c.txn_no AS dkey,
           row_number() OVER (PARTITION BY c.rta, c.txn_no ORDER BY c.file_id, c.line) AS n,
           count(*) OVER (PARTITION BY c.rta, c.txn_no) AS copies
    FROM cand c WHERE c.by_no
    UNION ALL
    SELECT c.*, 'u:' || c.user_ref,
           row_number() OVER (PARTITION BY c.rta, c.user_ref ORDER BY c.file_id, c.line),
           count(*) OVER (PARTITION BY c.rta, c.user_ref)
    FROM cand c WHERE NOT c.by_no
), later AS (
    INSERT INTO recon_dup_later (file_id, line) SELECT file_id, line FROM dups WHERE n > 1
)
INSERT INTO recon_now (break_key, scope, type, rta, folio, scheme_code, product_code, order_id, rta_txn_no, rta_units,
                       rta_file_id, rta_line, user_ref, detail)
SELECT 't|' || @duplicate::text || '|' || d.rta || '|' || d.dkey, 'transaction', @duplicate::text, d.rta, d.folio, coalesce(m.scheme_code, ''),
       d.product_code, d.user_ref, d.txn_no, d.units, d.file_id, d.line, d.user_ref,
       CASE WHEN d.dkey LIKE 'n:%'
         THEN format('the RTA reports transaction %s %s times; the first is compared, the others are left out', d.txn_no, d.copies)
         ELSE format('the RTA reports %s transactions for our order %s; the first is compared, the others are left out', d.copies, d.user_ref)
       END
FROM dups d LEFT JOIN rta_schemes m ON m.rta = d.rta AND m.product_code = d.product_code
WHERE d.n = 1`

// sqlTransactions matches the RTA's transactions of the date's files with
// our allotments in the window (NAV dates @from..@date, schemes of the RTAs
// @txn_rtas) by
// our order id = the RTA's user reference, and each matched purchase with
// its payment: missing on either side, units, NAV date and amount (gross,
// stamp duty, payment) differences.
const sqlTransactions = `
WITH rt AS (
    SELECT r.rta, r.folio, r.product_code, m.scheme_code, r.txn_no, r.user_ref, r.kind, r.nav_date, r.units,
           r.amount, r.stamp_duty, r.file_id, r.line
    FROM rta_txn_rows r LEFT JOIN rta_schemes m ON m.rta = r.rta AND m.product_code = r.product_code
    WHERE r.file_id = ANY(@files) AND r.nav_date <= @date AND r.nav_date >= @from
      AND NOT EXISTS (SELECT 1 FROM recon_dup_later x WHERE x.file_id = r.file_id AND x.line = r.line)
), lt AS (
    SELECT s.rta, s.product_code, l.id, l.order_id, CASE WHEN sip.id IS NULL THEN l.kind ELSE @sip::text END AS kind,
           l.folio_no, l.scheme_code, l.nav_date,
           CASE WHEN l.kind = ANY(@units_in) THEN l.units ELSE -l.units END AS units,
           l.amount, l.stamp_duty, l.payment_id
    FROM ledger_transactions l JOIN rta_schemes s ON s.scheme_code = l.scheme_code
    LEFT JOIN (` + sqlSIPOrders + `) sip ON sip.id = l.order_id -- our SIP instalments say so in a break's words
    WHERE s.rta = ANY(@txn_rtas) AND l.nav_date <= @date AND l.nav_date >= @from
      AND l.kind <> ALL(@no_units::text[]) -- a failed switch's payout, an IDCW paid out: no RTA transaction of units
), j AS (
    SELECT coalesce(lt.rta, rt.rta) AS rta, coalesce(lt.folio_no, rt.folio) AS folio,
           coalesce(lt.scheme_code, rt.scheme_code, '') AS scheme_code, coalesce(rt.product_code, lt.product_code) AS product_code,
           lt.id IS NOT NULL AS in_ledger, rt.txn_no IS NOT NULL AS at_rta,
           lt.id AS ledger_tx_id, lt.order_id, rt.txn_no, rt.user_ref, rt.kind AS rta_kind, lt.kind AS ledger_kind,
           rt.units AS rta_units, lt.units AS ledger_units, rt.amount AS rta_amount, lt.amount AS ledger_amount,
           p.amount AS payment_amount, rt.stamp_duty AS rta_duty, lt.stamp_duty AS ledger_duty,
           rt.nav_date AS rta_nav_date, lt.nav_date AS ledger_nav_date, rt.file_id, rt.line,
           rt.scheme_code IS NULL AND rt.txn_no IS NOT NULL AS unknown_product
    FROM rt FULL JOIN lt ON lt.order_id = nullif(rt.user_ref, '')
    LEFT JOIN payments p ON p.id = lt.payment_id
    -- Only pairs with a difference go on to be typed (most have none).
    WHERE lt.id IS NULL OR rt.txn_no IS NULL OR rt.units <> lt.units OR rt.nav_date <> lt.nav_date
       OR rt.amount <> lt.amount OR rt.stamp_duty <> lt.stamp_duty OR p.amount <> rt.amount
)
INSERT INTO recon_now (break_key, scope, type, rta, folio, scheme_code, product_code, order_id, rta_txn_no, ledger_tx_id,
                           rta_units, ledger_units, units_diff, rta_amount, ledger_amount, payment_amount,
                           rta_stamp_duty, ledger_stamp_duty, rta_nav_date, ledger_nav_date, rta_file_id, rta_line,
                           user_ref, rta_kind, ledger_kind, cause, detail)
    SELECT 't|' || b.type || '|' || j.rta || '|' || CASE WHEN j.in_ledger THEN 'o:' || j.order_id ELSE 'n:' || j.txn_no END,
           'transaction', b.type, j.rta, j.folio, j.scheme_code, j.product_code, coalesce(j.order_id, j.user_ref, ''),
           coalesce(j.txn_no, ''), j.ledger_tx_id, j.rta_units, j.ledger_units, coalesce(j.rta_units, 0) - coalesce(j.ledger_units, 0),
           j.rta_amount, j.ledger_amount, j.payment_amount, j.rta_duty, j.ledger_duty, j.rta_nav_date, j.ledger_nav_date,
           j.file_id, j.line, coalesce(j.user_ref, ''), j.rta_kind, j.ledger_kind,
           CASE WHEN b.type = @missing_in_ledger::text AND j.unknown_product THEN @unknown_product::text ELSE '' END,
           CASE b.type
             WHEN @missing_in_ledger::text THEN format('the RTA reports %s transaction %s (user reference %L) of %s units on %s; no allotment of ours matches it',
                                                  j.rta_kind, j.txn_no, j.user_ref, j.rta_units, j.rta_nav_date)
             WHEN @missing_at_rta::text THEN format('our %s %s (ledger transaction %s) of %s units on %s is not in the RTA''s transactions',
                                               j.ledger_kind, j.order_id, j.ledger_tx_id, j.ledger_units, j.ledger_nav_date)
             WHEN @units_mismatch::text THEN format('RTA transaction %s has %s units, our allotment %s', j.txn_no, j.rta_units, j.ledger_units)
             WHEN @nav_date_mismatch::text THEN format('RTA transaction %s got the NAV of %s, our allotment the NAV of %s', j.txn_no, j.rta_nav_date, j.ledger_nav_date)
             ELSE format('RTA transaction %s: amount %s, stamp duty %s; ours: amount %s, stamp duty %s; payment %s',
                         j.txn_no, j.rta_amount, j.rta_duty, j.ledger_amount, j.ledger_duty, coalesce(j.payment_amount::text, 'none'))
           END
    FROM j CROSS JOIN LATERAL (VALUES
        (@missing_in_ledger::text, j.at_rta AND NOT j.in_ledger),
        (@missing_at_rta::text, j.in_ledger AND NOT j.at_rta),
        (@units_mismatch::text, j.in_ledger AND j.at_rta AND j.rta_units <> j.ledger_units),
        (@nav_date_mismatch::text, j.in_ledger AND j.at_rta AND j.rta_nav_date <> j.ledger_nav_date),
        (@amount_mismatch::text, j.in_ledger AND j.at_rta AND (j.rta_amount <> j.ledger_amount OR j.rta_duty <> j.ledger_duty
                             OR j.payment_amount <> j.rta_amount))) AS b(type, hit)
    WHERE b.hit`

// sqlTxnCounts counts what sqlTransactions compared (same filters).
const sqlTxnCounts = `
SELECT (SELECT count(*) FROM ledger_transactions l JOIN rta_schemes s ON s.scheme_code = l.scheme_code
        WHERE s.rta = ANY(@txn_rtas) AND l.nav_date <= @date AND l.nav_date >= @from AND l.kind <> ALL(@no_units::text[])),
       (SELECT count(*) FROM rta_txn_rows r WHERE r.file_id = ANY(@files) AND r.nav_date <= @date AND r.nav_date >= @from)`

// sqlMatchByContent pairs the RTA transactions that carry no user
// reference (IDCW reinvestments, transactions the RTA keyed itself) with
// our unmatched allotments of the same folio, scheme, NAV date and units:
// such a pair is a match, not two breaks (an RTA's SIP instalment with no
// reference is matched so with our SIP purchase). A pair of a SIP and a
// plain purchase is noted (recon.KindNote).
const sqlMatchByContent = `
WITH a AS (
    SELECT break_key, rta, folio, scheme_code, rta_nav_date AS nav_date, rta_units AS units, rta_txn_no, rta_kind,
           row_number() OVER (PARTITION BY rta, folio, scheme_code, rta_nav_date, rta_units ORDER BY rta_txn_no) AS n
    FROM recon_now WHERE scope = 'transaction' AND type = @missing_in_ledger::text AND user_ref = ''
), b AS (
    SELECT break_key, rta, folio, scheme_code, ledger_nav_date AS nav_date, ledger_units AS units, order_id, ledger_kind,
           row_number() OVER (PARTITION BY rta, folio, scheme_code, ledger_nav_date, ledger_units ORDER BY ledger_tx_id) AS n
    FROM recon_now WHERE scope = 'transaction' AND type = @missing_at_rta::text
), pairs AS (
    SELECT a.break_key AS ak, b.break_key AS bk, rta, folio, scheme_code, b.order_id, a.rta_txn_no, a.rta_kind, b.ledger_kind
    FROM a JOIN b USING (rta, folio, scheme_code, nav_date, units, n)
), notes AS (
    INSERT INTO recon_kind_notes (rta, folio, scheme_code, order_id, rta_txn_no, rta_kind, ledger_kind)
    SELECT rta, folio, scheme_code, order_id, rta_txn_no, rta_kind, ledger_kind FROM pairs
    WHERE rta_kind IN (@sip::text, @purchase::text) AND ledger_kind IN (@sip::text, @purchase::text) AND rta_kind <> ledger_kind
)
DELETE FROM recon_now WHERE break_key IN (SELECT ak FROM pairs UNION ALL SELECT bk FROM pairs)`

// causeSQL is the SQL of each of recon.CauseRules (run in that order): it
// sets a cause only on a break that has none yet (a merger may replace
// unknown_product).
var causeSQL = map[string][]string{
	fund.CauseRoundingStep: {`
UPDATE recon_now r SET cause = @rounding_step::text
FROM (SELECT n.break_key, power(10::numeric, -coalesce(st.units_scale, 3)) AS step
      FROM recon_now n LEFT JOIN scheme_terms st ON st.scheme_code = n.scheme_code
      WHERE n.type = @units_mismatch::text) s
WHERE r.break_key = s.break_key AND r.cause = '' AND abs(r.units_diff) <= s.step`},
	fund.CauseMerger: {`
UPDATE recon_now r SET cause = @merger::text,
    detail = r.detail || format(' — probably a merger: the RTA reports the folio''s units of %s under %s', p.old_scheme, p.new_code)
FROM (SELECT rta, folio,
             max(scheme_code) FILTER (WHERE type = @missing_at_rta::text) AS old_scheme,
             max(CASE WHEN scheme_code = '' THEN product_code ELSE scheme_code END) FILTER (WHERE type = @missing_in_ledger::text) AS new_code
      FROM recon_now WHERE scope = 'holding' AND type IN (@missing_at_rta::text, @missing_in_ledger::text)
      GROUP BY rta, folio
      HAVING count(*) FILTER (WHERE type = @missing_at_rta::text) = 1 AND count(*) FILTER (WHERE type = @missing_in_ledger::text) = 1) p
WHERE r.scope = 'holding' AND r.type IN (@missing_at_rta::text, @missing_in_ledger::text) AND r.rta = p.rta AND r.folio = p.folio
  AND r.cause IN ('', @unknown_product::text)`},
	fund.CausePendingNAV: {`
UPDATE recon_now r SET cause = @pending_nav::text,
    detail = r.detail || format(' — our order %s is %s', o.id, replace(o.status, '_', ' '))
FROM orders o
WHERE r.scope = 'transaction' AND r.type = @missing_in_ledger::text AND r.cause = '' AND o.id = r.user_ref
  AND o.status = ANY(@waiting)`},
	fund.CauseAfterCutoff: {
		// missing at the RTA on the date itself
		`
UPDATE recon_now SET cause = @after_cutoff::text,
    detail = detail || ' — allotted on the date itself: the RTA probably put it on the next NAV date (time stamp after the cut-off)'
WHERE scope = 'transaction' AND type = @missing_at_rta::text AND cause = '' AND ledger_nav_date = @date`,
		// a later NAV date at the RTA
		`
UPDATE recon_now SET cause = @after_cutoff::text, detail = detail || ' — the RTA applied a later NAV: a time stamp after the cut-off'
WHERE type = @nav_date_mismatch::text AND cause = '' AND rta_nav_date > ledger_nav_date`},
	fund.CauseStampDuty: {`
UPDATE recon_now SET cause = @stamp_duty::text, detail = detail || ' — only the stamp duty differs'
WHERE type = @amount_mismatch::text AND cause = '' AND rta_amount = ledger_amount AND rta_stamp_duty <> ledger_stamp_duty
  AND (payment_amount IS NULL OR payment_amount = rta_amount)`},
	// A holding that differs (or is missing) by exactly the units of its
	// folio's transaction breaks takes their cause when they agree on one.
	fund.CauseUnmatchedTxn: {`
UPDATE recon_now h SET cause = CASE WHEN t.causes = ARRAY[@after_cutoff::text] THEN @after_cutoff::text
                                    WHEN t.causes = ARRAY[@pending_nav::text] THEN @pending_nav::text
                                    ELSE @unmatched_transaction::text END,
    detail = h.detail || format(' — the difference is the units of %s transaction break(s): %s', t.n, t.keys)
FROM (SELECT rta, folio, scheme_code, count(*) AS n, sum(units_diff) AS diff,
             array_agg(DISTINCT cause ORDER BY cause) AS causes,
             string_agg(coalesce(nullif(order_id, ''), rta_txn_no), ', ' ORDER BY break_key) AS keys
      FROM recon_now WHERE scope = 'transaction' AND type IN (@missing_at_rta::text, @missing_in_ledger::text, @units_mismatch::text)
      GROUP BY rta, folio, scheme_code) t
WHERE h.scope = 'holding' AND h.type IN (@units_mismatch::text, @missing_at_rta::text, @missing_in_ledger::text) AND h.cause = ''
  AND h.rta = t.rta AND h.folio = t.folio
  AND h.scheme_code = t.scheme_code AND h.units_diff = t.diff`},
}

// sqlMerge writes this run's breaks into recon_breaks: new keys are new
// breaks (first_seen = the date); known ones get today's values and keep
// their first_seen, a resolved one comes back reopened. An explanation a
// person gave is kept. Returns the number of new (or reopened) breaks.
const sqlMerge = `
WITH up AS (
    INSERT INTO recon_breaks AS b (break_key, scope, type, rta, folio, scheme_code, product_code, order_id, rta_txn_no,
        ledger_tx_id, rta_units, ledger_units, units_diff, rta_amount, ledger_amount, payment_amount, rta_stamp_duty,
        ledger_stamp_duty, rta_nav_date, ledger_nav_date, rta_file, rta_file_sha256, rta_line, cause, detail, status,
        first_seen, last_seen, last_run)
    SELECT n.break_key, n.scope, n.type, n.rta, n.folio, coalesce(n.scheme_code, ''), coalesce(n.product_code, ''),
           coalesce(n.order_id, ''), coalesce(n.rta_txn_no, ''), n.ledger_tx_id, n.rta_units, n.ledger_units, n.units_diff,
           n.rta_amount, n.ledger_amount, n.payment_amount, n.rta_stamp_duty, n.ledger_stamp_duty, n.rta_nav_date,
           n.ledger_nav_date, coalesce(f.name, ''), coalesce(f.sha256, ''), n.rta_line, n.cause, n.detail,
           CASE WHEN n.cause = ANY(@self_clearing) THEN @explained::text ELSE @open::text END, @date, @date, @run
    FROM recon_now n LEFT JOIN rta_files f ON f.id = n.rta_file_id
    ON CONFLICT (break_key) DO UPDATE SET
        ledger_tx_id = excluded.ledger_tx_id, rta_units = excluded.rta_units, ledger_units = excluded.ledger_units,
        units_diff = excluded.units_diff, rta_amount = excluded.rta_amount, ledger_amount = excluded.ledger_amount,
        payment_amount = excluded.payment_amount, rta_stamp_duty = excluded.rta_stamp_duty,
        ledger_stamp_duty = excluded.ledger_stamp_duty, rta_nav_date = excluded.rta_nav_date,
        ledger_nav_date = excluded.ledger_nav_date, rta_file = excluded.rta_file, rta_file_sha256 = excluded.rta_file_sha256,
        rta_line = excluded.rta_line, cause = excluded.cause, detail = excluded.detail,
        status = CASE WHEN b.status = @explained::text AND b.explained_by <> '' THEN @explained::text ELSE excluded.status END,
        first_seen = CASE WHEN b.status = @resolved::text THEN excluded.first_seen ELSE b.first_seen END,
        resolved_on = NULL, resolved_run = NULL, last_seen = excluded.last_seen, last_run = excluded.last_run, updated_at = now()
    RETURNING b.first_seen = @date AS fresh
)
SELECT count(*) FILTER (WHERE fresh) FROM up`

// sqlResolve resolves the breaks this run did not see again, in the scopes
// it covered: holdings of the RTAs @holding_rtas, transactions of the RTAs
// @txn_rtas.
const sqlResolve = `
WITH r AS (
    UPDATE recon_breaks SET status = @resolved::text, resolved_on = @date, resolved_run = @run, updated_at = now()
    WHERE status <> @resolved::text AND last_run <> @run
      AND ((scope = 'holding' AND rta = ANY(@holding_rtas)) OR (scope = 'transaction' AND rta = ANY(@txn_rtas)))
    RETURNING 1
)
SELECT count(*) FROM r`
