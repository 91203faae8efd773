package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/managed"
	"github.com/fundflow/fundflow/pool"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

// FeeTerms reads a pool's fee terms by date.
func (t Tx) FeeTerms(ctx context.Context, poolID string) ([]pool.FeeTerms, error) {
	rows, err := t.tx.Query(ctx, `SELECT valid_from, aum_rate_pct, perf_pct, hurdle_pct FROM pool_fee_terms WHERE pool_id = $1 ORDER BY valid_from`, poolID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pool.FeeTerms, error) {
		ft := pool.FeeTerms{Pool: poolID}
		var from time.Time
		err := r.Scan(&from, &ft.AUMRatePct, &ft.PerfPct, &ft.HurdlePct)
		ft.From = fund.DateOf(from)
		return ft, err
	})
}

// PutFeeTerms upserts a pool's terms from a date.
func (t Tx) PutFeeTerms(ctx context.Context, ft pool.FeeTerms) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO pool_fee_terms (pool_id, valid_from, aum_rate_pct, perf_pct, hurdle_pct) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (pool_id, valid_from) DO UPDATE SET aum_rate_pct = excluded.aum_rate_pct, perf_pct = excluded.perf_pct, hurdle_pct = excluded.hurdle_pct`,
		ft.Pool, ft.From.Time(), ft.AUMRatePct, ft.PerfPct, ft.HurdlePct)
	return err
}

const accrualCols = `nav_date, days_from, days_to, aum, fee, runs, coalesce(invoice_id, ''), gst`

func scanAccrual(r pgx.Row, poolID string) (pool.Accrual, error) {
	a := pool.Accrual{Pool: poolID}
	var nd, from, to time.Time
	var aum, fee, gst decimal.Decimal
	var runs []byte
	if err := r.Scan(&nd, &from, &to, &aum, &fee, &runs, &a.InvoiceID, &gst); err != nil {
		return a, err
	}
	a.NAVDate, a.From, a.To = fund.DateOf(nd), fund.DateOf(from), fund.DateOf(to)
	var err error
	if a.AUM, err = amount(aum); err != nil {
		return a, err
	}
	if a.Fee, err = amount(fee); err != nil {
		return a, err
	}
	if a.GST, err = amount(gst); err != nil {
		return a, err
	}
	if err := json.Unmarshal(runs, &a.Runs); err != nil {
		return a, fmt.Errorf("accrual %s %s runs: %w", poolID, a.NAVDate, err)
	}
	return a, nil
}

// LastAccrual reads the pool's latest accrual.
func (t Tx) LastAccrual(ctx context.Context, poolID string) (pool.Accrual, bool, error) {
	a, err := scanAccrual(t.tx.QueryRow(ctx, `SELECT `+accrualCols+` FROM pool_fee_accruals WHERE pool_id = $1 ORDER BY nav_date DESC LIMIT 1`, poolID), poolID)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// InsertAccrual writes a NAV date's accrual (a second one of the date is
// a unique violation: the NAV row is written in the same transaction).
func (t Tx) InsertAccrual(ctx context.Context, a pool.Accrual) error {
	runs, err := json.Marshal(a.Runs)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO pool_fee_accruals (pool_id, nav_date, days_from, days_to, aum, fee, runs, gst) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.Pool, a.NAVDate.Time(), a.From.Time(), a.To.Time(), a.AUM.Decimal(), a.Fee.Decimal(), string(runs), a.GST.Decimal())
	return err
}

// OpenAccruals reads the pool's unbilled accruals of NAV dates through
// to (every one left open before the period too), locked.
func (t Tx) OpenAccruals(ctx context.Context, poolID string, from, to fund.Date) ([]pool.Accrual, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+accrualCols+` FROM pool_fee_accruals
		WHERE pool_id = $1 AND nav_date <= $2 AND invoice_id IS NULL ORDER BY nav_date FOR UPDATE`, poolID, to.Time())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pool.Accrual, error) { return scanAccrual(r, poolID) })
}

// SettleAccruals marks the unbilled accruals through to billed.
func (t Tx) SettleAccruals(ctx context.Context, poolID string, from, to fund.Date, invoiceID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE pool_fee_accruals SET invoice_id = $3 WHERE pool_id = $1 AND nav_date <= $2 AND invoice_id IS NULL`,
		poolID, to.Time(), invoiceID)
	return err
}

const poolInvoiceCols = `id, pool_id, period_from, period_to, aum_fee, perf_fee, fee, gst, total, body, status`

func scanPoolInvoice(row pgx.Row) (wallet.FeeInvoice, error) {
	var inv wallet.FeeInvoice
	var from, to time.Time
	var amts [5]decimal.Decimal
	var body []byte
	if err := row.Scan(&inv.ID, &inv.PoolID, &from, &to, &amts[0], &amts[1], &amts[2], &amts[3], &amts[4], &body, &inv.Status); err != nil {
		return inv, err
	}
	inv.From, inv.To = fund.DateOf(from), fund.DateOf(to)
	var err error
	for i, p := range []*fund.Amount{&inv.AUMFee, &inv.PerfFee, &inv.Fee, &inv.GST, &inv.Total} {
		if *p, err = amount(amts[i]); err != nil {
			return inv, err
		}
	}
	var b struct {
		Accrual managed.Accrual          `json:"accrual"`
		Perf    *managed.Crystallisation `json:"performance"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return inv, fmt.Errorf("invoice %s body: %w", inv.ID, err)
	}
	inv.Accrual, inv.Perf = b.Accrual.Expanded(), b.Perf
	return inv, nil
}

// FeeInvoice reads the pool's invoice of the period starting from.
func (t Tx) FeeInvoice(ctx context.Context, poolID string, from fund.Date) (wallet.FeeInvoice, bool, error) {
	inv, err := scanPoolInvoice(t.tx.QueryRow(ctx, `SELECT `+poolInvoiceCols+` FROM pool_fee_invoices WHERE pool_id = $1 AND period_from = $2 AND status <> 'cancelled'`, poolID, from.Time()))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, false, nil
	}
	return inv, err == nil, err
}

// LastFeeInvoice reads the pool's invoice of the latest period.
func (t Tx) LastFeeInvoice(ctx context.Context, poolID string) (wallet.FeeInvoice, bool, error) {
	inv, err := scanPoolInvoice(t.tx.QueryRow(ctx, `SELECT `+poolInvoiceCols+` FROM pool_fee_invoices WHERE pool_id = $1 AND status <> 'cancelled' ORDER BY period_to DESC LIMIT 1`, poolID))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, false, nil
	}
	return inv, err == nil, err
}

// InsertFeeInvoice writes an invoice, due (SetFeeInvoiceCharged marks it
// paid).
func (t Tx) InsertFeeInvoice(ctx context.Context, inv wallet.FeeInvoice) error {
	body, err := json.Marshal(map[string]any{"accrual": inv.Accrual, "performance": inv.Perf})
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO pool_fee_invoices (id, pool_id, period_from, period_to, aum_fee, perf_fee, fee, gst, total, body, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'due')`, inv.ID, inv.PoolID, inv.From.Time(), inv.To.Time(),
		inv.AUMFee.Decimal(), inv.PerfFee.Decimal(), inv.Fee.Decimal(), inv.GST.Decimal(), inv.Total.Decimal(), string(body))
	return err
}

// NAVOnOrBefore reads the pool's latest NAV row dated day or before.
func (t Tx) NAVOnOrBefore(ctx context.Context, poolID string, day fund.Date) (pool.DayNAV, bool, error) {
	var d time.Time
	err := t.tx.QueryRow(ctx, `SELECT max(nav_date) FROM pool_navs WHERE pool_id = $1 AND nav_date <= $2 HAVING count(*) > 0`, poolID, day.Time()).Scan(&d)
	if errors.Is(err, pgx.ErrNoRows) {
		return pool.DayNAV{}, false, nil
	}
	if err != nil {
		return pool.DayNAV{}, false, err
	}
	return t.NAV(ctx, poolID, fund.DateOf(d))
}

// HWM reads the pool's high-water mark, locked.
func (t Tx) HWM(ctx context.Context, poolID string) (pool.HWM, bool, error) {
	h := pool.HWM{Pool: poolID}
	var hwm, start decimal.Decimal
	var asOf time.Time
	err := t.tx.QueryRow(ctx, `SELECT hwm_nav, start_nav, as_of FROM pool_fee_hwm WHERE pool_id = $1 FOR UPDATE`, poolID).Scan(&hwm, &start, &asOf)
	if errors.Is(err, pgx.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	h.AsOf = fund.DateOf(asOf)
	if h.NAV, err = fund.NAVFromDecimal(hwm, fund.NoRounding); err != nil {
		return h, false, err
	}
	h.StartNAV, err = fund.NAVFromDecimal(start, fund.NoRounding)
	return h, err == nil, err
}

// PutHWM writes the pool's high-water mark (the table's trigger refuses
// one that falls).
func (t Tx) PutHWM(ctx context.Context, h pool.HWM) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO pool_fee_hwm (pool_id, hwm_nav, start_nav, as_of) VALUES ($1, $2, $3, $4)
		ON CONFLICT (pool_id) DO UPDATE SET hwm_nav = excluded.hwm_nav, start_nav = excluded.start_nav, as_of = excluded.as_of`,
		h.Pool, h.NAV.Decimal(), h.StartNAV.Decimal(), h.AsOf.Time())
	return err
}

// AccruedGST sums the GST provisioned by an invoice's accruals.
func (t Tx) AccruedGST(ctx context.Context, poolID, invoiceID string) (fund.Amount, error) {
	var v decimal.Decimal
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(gst), 0) FROM pool_fee_accruals WHERE pool_id = $1 AND invoice_id = $2`, poolID, invoiceID).Scan(&v); err != nil {
		return fund.Amount{}, err
	}
	return amount(v)
}

// ChargedAfterNAV sums what the bills made while navDate was the latest
// NAV paid beyond their AUM fee and its provisioned GST.
func (t Tx) ChargedAfterNAV(ctx context.Context, poolID string, navDate fund.Date) (fund.Amount, error) {
	var v decimal.Decimal
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(i.total - i.aum_fee - (SELECT coalesce(sum(a.gst), 0) FROM pool_fee_accruals a WHERE a.pool_id = i.pool_id AND a.invoice_id = i.id)), 0)
		FROM pool_fee_invoices i WHERE i.pool_id = $1 AND i.after_nav = $2 AND i.status IN ('due', 'charged')`,
		poolID, navDate.Time()).Scan(&v); err != nil {
		return fund.Amount{}, err
	}
	return amount(v)
}

// FeePools lists the pools with fee terms in effect by to.
func (s Store) FeePools(ctx context.Context, to fund.Date) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT pool_id FROM pool_fee_terms WHERE valid_from <= $1 ORDER BY pool_id`, to.Time())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// FeeInvoices lists a pool's invoices, oldest period first.
func (s Store) FeeInvoices(ctx context.Context, poolID string) ([]wallet.FeeInvoice, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+poolInvoiceCols+` FROM pool_fee_invoices WHERE pool_id = $1 ORDER BY period_from, id`, poolID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.FeeInvoice, error) { return scanPoolInvoice(r) })
}

// FolioLots reads the folio's holdings with their open lots (the wallet
// store's, as the wallet's fees from units read them).
func (t Tx) FolioLots(ctx context.Context, folio string) ([]managed.Holding, error) {
	return t.Tx.Holdings(ctx, folio)
}

// InsertFeeSales fixes a due invoice's sales.
func (t Tx) InsertFeeSales(ctx context.Context, ss []pool.FeeSale) error {
	rows := make([][]any, len(ss))
	for i, x := range ss {
		rows[i] = []any{x.OrderID, x.InvoiceID, x.Pool, x.Folio, x.Scheme, x.Amount.Decimal(), x.Request, x.Status}
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"pool_fee_sales"}, []string{"order_id", "invoice_id", "pool_id", "folio_no", "scheme_code", "amount", "request", "status"},
		pgx.CopyFromRows(rows))
	return err
}

// FeeSales reads an invoice's sales in order.
func (t Tx) FeeSales(ctx context.Context, invoiceID string) ([]pool.FeeSale, error) {
	rows, err := t.tx.Query(ctx, `SELECT order_id, invoice_id, pool_id, folio_no, scheme_code, amount, request, status, reason FROM pool_fee_sales
		WHERE invoice_id = $1 ORDER BY length(order_id), order_id`, invoiceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pool.FeeSale, error) {
		var x pool.FeeSale
		var amt decimal.Decimal
		if err := r.Scan(&x.OrderID, &x.InvoiceID, &x.Pool, &x.Folio, &x.Scheme, &amt, &x.Request, &x.Status, &x.Reason); err != nil {
			return x, err
		}
		var err error
		x.Amount, err = amount(amt)
		return x, err
	})
}

// SetFeeSalesPlaced marks an invoice's sales placed.
func (t Tx) SetFeeSalesPlaced(ctx context.Context, invoiceID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE pool_fee_sales SET status = 'placed' WHERE invoice_id = $1 AND status = 'proposed'`, invoiceID)
	return err
}

// FeeSalePayout reads the ledger's payout for a sale's redemption.
func (t Tx) FeeSalePayout(ctx context.Context, orderID string) (fund.Amount, bool, error) {
	var net decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT t.net_amount FROM ledger_transactions t WHERE t.order_id = $1 AND t.kind = 'redemption'`, orderID).Scan(&net)
	if errors.Is(err, pgx.ErrNoRows) {
		return fund.Amount{}, false, nil
	}
	if err != nil {
		return fund.Amount{}, false, err
	}
	a, err := amount(net)
	return a, err == nil, err
}

// FeeSalesSwept counts an invoice's sales not failed and those swept
// into the cash.
func (t Tx) FeeSalesSwept(ctx context.Context, invoiceID string) (int, int, error) {
	var n, swept int
	err := t.tx.QueryRow(ctx, `SELECT count(*), count(w.id) FROM pool_fee_sales s
		LEFT JOIN wallet_transactions w ON w.kind = 'pool_fee_sale' AND w.ref = s.order_id WHERE s.invoice_id = $1 AND s.status <> 'failed'`, invoiceID).Scan(&n, &swept)
	return n, swept, err
}

// FeeSalesNotSwept sums the pool's sale payouts allotted and not swept.
func (t Tx) FeeSalesNotSwept(ctx context.Context, poolID string) (fund.Amount, error) {
	var v decimal.Decimal
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(t.net_amount), 0) FROM pool_fee_sales s
		JOIN ledger_transactions t ON t.order_id = s.order_id AND t.kind = 'redemption'
		WHERE s.pool_id = $1 AND NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.kind = 'pool_fee_sale' AND w.ref = s.order_id)`, poolID).Scan(&v); err != nil {
		return fund.Amount{}, err
	}
	return amount(v)
}

// SetFeeInvoiceCharged marks an invoice paid, with the pool's latest NAV
// date then.
func (t Tx) SetFeeInvoiceCharged(ctx context.Context, id string, afterNAV fund.Date) error {
	var after any
	if !afterNAV.IsZero() {
		after = afterNAV.Time()
	}
	tag, err := t.tx.Exec(ctx, `UPDATE pool_fee_invoices SET status = 'charged', after_nav = coalesce(after_nav, $2) WHERE id = $1 AND status = 'due'`, id, after)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("invoice %s is not due", id)
	}
	return err
}

// PoolsToBill lists the pools with fee terms in effect by to and no
// charged invoice reaching to (none, one still due, or the last ending
// before to), with their first terms' date and latest invoice.
func (s Store) PoolsToBill(ctx context.Context, _, to fund.Date) ([]pool.PoolToBill, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.id, p.last_nav_date,
			(SELECT min(t.valid_from) FROM pool_fee_terms t WHERE t.pool_id = p.id),
			l.period_from, l.period_to, l.status
		FROM pools p
		LEFT JOIN LATERAL (SELECT i.period_from, i.period_to, i.status FROM pool_fee_invoices i
			WHERE i.pool_id = p.id ORDER BY i.period_to DESC LIMIT 1) l ON true
		WHERE EXISTS (SELECT 1 FROM pool_fee_terms t WHERE t.pool_id = p.id AND t.valid_from <= $1)
		  AND NOT EXISTS (SELECT 1 FROM pool_fee_invoices i WHERE i.pool_id = p.id AND i.period_to >= $1 AND i.status = 'charged')
		ORDER BY p.id`, to.Time())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pool.PoolToBill, error) {
		var x pool.PoolToBill
		var last, lf, lt *time.Time
		var first time.Time
		var status *string
		err := r.Scan(&x.ID, &last, &first, &lf, &lt, &status)
		if last != nil {
			x.LastNAV = fund.DateOf(*last)
		}
		x.FirstTerms = fund.DateOf(first)
		if lf != nil && lt != nil && status != nil {
			x.HasLast, x.LastFrom, x.LastTo, x.LastStatus = true, fund.DateOf(*lf), fund.DateOf(*lt), *status
		}
		return x, err
	})
}

// InsertExitFee writes a withdrawal's performance fee (a second one of
// the request is a unique violation: the request is priced once).
func (t Tx) InsertExitFee(ctx context.Context, ef pool.ExitFee) error {
	body, err := json.Marshal(ef.Perf)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO pool_exit_fees (request_id, invoice_id, pool_id, wallet_id, nav_date, units, nav, hwm_nav, gross, perf_fee, gst, total, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, ef.Request, ef.InvoiceID, ef.Pool, ef.Wallet, ef.NAVDate.Time(),
		ef.Units.Decimal(), ef.NAV.Decimal(), ef.HWM.Decimal(), ef.Gross.Decimal(), ef.Fee.Decimal(), ef.GST.Decimal(), ef.Total.Decimal(), string(body))
	return err
}

// SetFeeInvoiceProvisioned records, once, the latest NAV date when a due
// invoice's charge went into the pool's liability (ChargedAfterNAV counts
// it from then on).
func (t Tx) SetFeeInvoiceProvisioned(ctx context.Context, id string, afterNAV fund.Date) error {
	var after any
	if !afterNAV.IsZero() {
		after = afterNAV.Time()
	}
	_, err := t.tx.Exec(ctx, `UPDATE pool_fee_invoices SET after_nav = coalesce(after_nav, $2) WHERE id = $1 AND status = 'due'`, id, after)
	return err
}

// WithdrawnAfter sums the units of the pool's withdrawals priced at NAVs
// after day.
func (t Tx) WithdrawnAfter(ctx context.Context, poolID string, day fund.Date) (fund.Units, error) {
	var v decimal.Decimal
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(units), 0) FROM pool_requests
		WHERE pool_id = $1 AND kind = 'withdrawal' AND status = 'priced' AND nav_date > $2`, poolID, day.Time()).Scan(&v); err != nil {
		return fund.Units{}, err
	}
	return units3(v)
}

// DistributedPerUnit sums the pool's distributions per unit (amount ÷ the
// units they were shared over) of record dates from..before-1.
func (t Tx) DistributedPerUnit(ctx context.Context, poolID string, from, before fund.Date) (decimal.Decimal, error) {
	var v decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(d.amount / u.units), 0) FROM pool_distributions d
		JOIN LATERAL (SELECT sum(s.units) AS units FROM pool_distribution_shares s WHERE s.pool_id = d.pool_id AND s.record_date = d.record_date) u ON u.units > 0
		WHERE d.pool_id = $1 AND d.record_date >= $2 AND d.record_date < $3`, poolID, from.Time(), before.Time()).Scan(&v)
	return v, err
}

// FeeSaleEnd reads how the ledger ended a fee sale's order: ended (the
// request rejected, or its leg rejected or cancelled, never allotted)
// with the reason, or held (an open hold on the leg, or a restriction
// blocking the investor's redemptions).
func (t Tx) FeeSaleEnd(ctx context.Context, orderID string) (pool.SaleEnd, error) {
	var e pool.SaleEnd
	var reqStatus, reqReason string
	var legStatus, legReason *string
	err := t.tx.QueryRow(ctx, `SELECT r.status, r.reason, o.status, o.reason,
			coalesce(o.status = 'pending_nav' AND (EXISTS (SELECT 1 FROM order_holds h WHERE h.order_id = o.id AND h.closed_at IS NULL)
				OR EXISTS (SELECT 1 FROM investor_restrictions x WHERE x.investor_id = o.investor_id AND x.blocks_redemption)), false)
		FROM order_requests r LEFT JOIN orders o ON o.request_id = r.id WHERE r.id = $1`, orderID).Scan(&reqStatus, &reqReason, &legStatus, &legReason, &e.Held)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, nil // not placed yet
	}
	if err != nil {
		return e, err
	}
	e.Placed = true
	switch {
	case reqStatus == "rejected":
		e.Ended, e.Reason = true, reqReason
	case legStatus != nil && (*legStatus == "rejected" || *legStatus == "cancelled"):
		e.Ended, e.Reason = true, *legStatus+": "+*legReason
	}
	return e, nil
}

// SetFeeSaleFailed marks a sale failed with the ledger's reason.
func (t Tx) SetFeeSaleFailed(ctx context.Context, orderID, reason string) error {
	_, err := t.tx.Exec(ctx, `UPDATE pool_fee_sales SET status = 'failed', reason = $2 WHERE order_id = $1 AND status <> 'failed'`, orderID, reason)
	return err
}

// PendingRedemptions lists the folio's redemptions and switch-outs placed
// and not allotted yet: the units they will take are set aside.
func (t Tx) PendingRedemptions(ctx context.Context, folio string) ([]pool.PendingRedemption, error) {
	rows, err := t.tx.Query(ctx, `SELECT scheme_code, amount, units, all_units FROM orders
		WHERE folio_no = $1 AND kind IN ('redemption', 'switch_out') AND status = 'pending_nav' ORDER BY id`, folio)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (pool.PendingRedemption, error) {
		var x pool.PendingRedemption
		var amt, units *decimal.Decimal
		if err := r.Scan(&x.Scheme, &amt, &units, &x.All); err != nil {
			return x, err
		}
		if amt != nil {
			a, err := amount(*amt)
			if err != nil {
				return x, err
			}
			x.Amount = &a
		}
		x.Units = units
		return x, nil
	})
}

// OpenFeeBreak opens (or restates) the invoice's break and its alert
// (pool_fee_unpayable, subject the invoice id).
func (t Tx) OpenFeeBreak(ctx context.Context, poolID, invoiceID, reason, detail string) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO pool_fee_breaks (invoice_id, pool_id, reason, detail) VALUES ($1, $2, $3, $4)
		ON CONFLICT (invoice_id) DO UPDATE SET reason = excluded.reason, detail = excluded.detail, resolved_at = NULL`, invoiceID, poolID, reason, detail); err != nil {
		return err
	}
	return postgres.RaiseAlertTx(ctx, t.tx, pool.AlertFeeUnpayable, invoiceID, detail)
}

// ResolveFeeBreak closes the invoice's open break and alert, if any.
func (t Tx) ResolveFeeBreak(ctx context.Context, invoiceID string) error {
	if _, err := t.tx.Exec(ctx, `UPDATE pool_fee_breaks SET resolved_at = now() WHERE invoice_id = $1 AND resolved_at IS NULL`, invoiceID); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE alerts SET resolved_at = now() WHERE kind = $1 AND subject = $2 AND resolved_at IS NULL`, pool.AlertFeeUnpayable, invoiceID)
	return err
}

// CancelFeeInvoice marks a due invoice cancelled and opens its accruals
// again (the period can be billed again).
func (t Tx) CancelFeeInvoice(ctx context.Context, id, reason string, at time.Time) error {
	tag, err := t.tx.Exec(ctx, `UPDATE pool_fee_invoices SET status = 'cancelled', cancel_reason = $2, cancelled_at = $3 WHERE id = $1 AND status = 'due'`, id, reason, at)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("invoice %s is not due", id)
	}
	_, err = t.tx.Exec(ctx, `UPDATE pool_fee_accruals SET invoice_id = NULL WHERE invoice_id = $1`, id)
	return err
}

// SetFeeInvoiceCancelling records an operator's cancel on a due invoice
// before its sales are ended (cancel_reason set, status still due): from
// then on no sale of it is placed, paid from or planned again.
func (t Tx) SetFeeInvoiceCancelling(ctx context.Context, id, reason string) error {
	_, err := t.tx.Exec(ctx, `UPDATE pool_fee_invoices SET cancel_reason = $2 WHERE id = $1 AND status = 'due' AND cancel_reason IS NULL`, id, reason)
	return err
}

// FeeInvoiceCancelling says a due invoice has a cancel under way.
func (t Tx) FeeInvoiceCancelling(ctx context.Context, id string) (bool, error) {
	var b bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pool_fee_invoices WHERE id = $1 AND status = 'due' AND cancel_reason IS NOT NULL)`, id).Scan(&b)
	return b, err
}

// CancelledInvoices counts the pool's cancelled invoices of the period
// starting from.
func (t Tx) CancelledInvoices(ctx context.Context, poolID string, from fund.Date) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM pool_fee_invoices WHERE pool_id = $1 AND period_from = $2 AND status = 'cancelled'`, poolID, from.Time()).Scan(&n)
	return n, err
}

// FeeInvoiceByID reads an invoice by its id, any status.
func (t Tx) FeeInvoiceByID(ctx context.Context, id string) (wallet.FeeInvoice, bool, error) {
	inv, err := scanPoolInvoice(t.tx.QueryRow(ctx, `SELECT `+poolInvoiceCols+` FROM pool_fee_invoices WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, false, nil
	}
	return inv, err == nil, err
}

// ExitFee reads a withdrawal's performance fee by its invoice id.
func (t Tx) ExitFee(ctx context.Context, invoiceID string) (pool.ExitFee, bool, error) {
	ef := pool.ExitFee{InvoiceID: invoiceID}
	var day time.Time
	var units, nav, hwm, gross, fee, gst, total decimal.Decimal
	var body []byte
	err := t.tx.QueryRow(ctx, `SELECT request_id, pool_id, wallet_id, nav_date, units, nav, hwm_nav, gross, perf_fee, gst, total, body
		FROM pool_exit_fees WHERE invoice_id = $1`, invoiceID).Scan(&ef.Request, &ef.Pool, &ef.Wallet, &day, &units, &nav, &hwm, &gross, &fee, &gst, &total, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return ef, false, nil
	}
	if err != nil {
		return ef, false, err
	}
	ef.NAVDate = fund.DateOf(day)
	if ef.Units, err = fund.UnitsFromDecimal(units, 3, fund.NoRounding); err != nil {
		return ef, false, err
	}
	if ef.NAV, err = fund.NAVFromDecimal(nav, fund.NoRounding); err != nil {
		return ef, false, err
	}
	if ef.HWM, err = fund.NAVFromDecimal(hwm, fund.NoRounding); err != nil {
		return ef, false, err
	}
	for _, x := range []struct {
		d decimal.Decimal
		p *fund.Amount
	}{{gross, &ef.Gross}, {fee, &ef.Fee}, {gst, &ef.GST}, {total, &ef.Total}} {
		if *x.p, err = amount(x.d); err != nil {
			return ef, false, err
		}
	}
	if err := json.Unmarshal(body, &ef.Perf); err != nil {
		return ef, false, fmt.Errorf("exit fee %s body: %w", invoiceID, err)
	}
	return ef, true, nil
}
