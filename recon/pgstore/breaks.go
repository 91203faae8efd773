package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/recon"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// LatestRTADate implements recon.Store: the date a scheduled
// reconciliation runs for.
func (s Store) LatestRTADate(ctx context.Context) (fund.Date, error) {
	var d *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT coalesce(max(as_of) FILTER (WHERE kind = 'holdings'), max(as_of)) FROM rta_files`).Scan(&d); err != nil {
		return fund.Date{}, postgres.Classify(err)
	}
	if d == nil {
		return fund.Date{}, fmt.Errorf("%w: none has been loaded yet", recon.ErrNoFeeds)
	}
	return fund.DateOf(*d), nil
}

// EachBreak implements recon.Store: it streams the breaks a reconciliation run left (open and
// explained, last seen by the run) and those it resolved, ordered by type
// and key, to fn. Rows are read as they come: a feed gone wrong may mean a
// million breaks, and none is held here.
func (s Store) EachBreak(ctx context.Context, runID int64, fn func(fund.Break) error) error {
	rows, err := s.Pool.Query(ctx, `SELECT id, break_key, scope, type, rta, folio, scheme_code, product_code, order_id, rta_txn_no,
			coalesce(ledger_tx_id, 0), rta_units, ledger_units, units_diff, rta_amount, ledger_amount, payment_amount,
			rta_stamp_duty, ledger_stamp_duty, rta_nav_date, ledger_nav_date, rta_file, rta_file_sha256, coalesce(rta_line, 0),
			cause, detail, status, first_seen, last_seen, resolved_on
		FROM recon_breaks
		WHERE last_run = $1 OR resolved_run = $1
		ORDER BY type, break_key`, runID)
	if err != nil {
		return postgres.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var b fund.Break
		var typ string
		var rtaNAV, ledgerNAV, resolved *time.Time
		var first, last time.Time
		var line int32
		if err := rows.Scan(&b.ID, &b.Key, &b.Scope, &typ, &b.RTA, &b.Folio, &b.SchemeCode, &b.ProductCode, &b.OrderID, &b.RTATxnNo,
			&b.LedgerTxID, &b.RTAUnits, &b.LedgerUnits, &b.UnitsDiff, &b.RTAAmount, &b.LedgerAmount, &b.PaymentAmount,
			&b.RTAStampDuty, &b.LedgerStampDuty, &rtaNAV, &ledgerNAV, &b.RTAFile, &b.RTAFileSHA256, &line,
			&b.Cause, &b.Detail, &b.Status, &first, &last, &resolved); err != nil {
			return err
		}
		b.Type, b.RTALine = fund.BreakType(typ), int(line)
		b.FirstSeen, b.LastSeen = fund.DateOf(first), fund.DateOf(last)
		if rtaNAV != nil {
			b.RTANAVDate = fund.DateOf(*rtaNAV)
		}
		if ledgerNAV != nil {
			b.LedgerNAVDate = fund.DateOf(*ledgerNAV)
		}
		if resolved != nil {
			b.Resolved = fund.DateOf(*resolved)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return postgres.Classify(rows.Err())
}

// ExplainBreak implements recon.Store: it marks a break explained by a person, with their note; it
// stays explained while it is seen again, and is resolved like any other
// when it disappears.
func (s Store) ExplainBreak(ctx context.Context, id int64, by, note string) error {
	tag, err := s.Pool.Exec(ctx, `UPDATE recon_breaks SET status = @explained, explained_by = @by,
		detail = detail || ' — explained by ' || @by || ': ' || @note, updated_at = now()
		WHERE id = @id AND status <> @resolved`,
		pgx.NamedArgs{"id": id, "by": by, "note": note, "explained": fund.BreakExplained, "resolved": fund.BreakResolved})
	if err != nil {
		return postgres.Classify(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("no open break %d", id)
	}
	return nil
}
