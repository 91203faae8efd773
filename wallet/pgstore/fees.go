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
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

var _ wallet.FeeStore = Store{}
var _ wallet.FeeTx = Tx{}

// InFeeTx runs fn in one transaction.
func (s Store) InFeeTx(ctx context.Context, fn func(wallet.FeeTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// Value values every wallet with fee terms in effect on day in one
// statement: its cash plus each holding of its auto-invest folio at the
// NAV of day or the last before it, each truncated to the paisa.
func (s Store) Value(ctx context.Context, day fund.Date) (int64, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO fee_valuations (wallet_id, day, cash, holdings, aum)
		SELECT w.id, $1::date, w.balance, coalesce(v.value, 0), w.balance + coalesce(v.value, 0)
		FROM wallets w
		LEFT JOIN autoinvest_terms a ON a.wallet_id = w.id
		LEFT JOIN LATERAL (
			SELECT sum(trunc(h.units * n.nav, 2)) AS value FROM holdings h
			CROSS JOIN LATERAL (SELECT nav FROM navs WHERE scheme_code = h.scheme_code AND nav_date <= $1::date ORDER BY nav_date DESC LIMIT 1) n
			WHERE h.folio_no = a.folio_no AND h.units > 0) v ON true
		WHERE EXISTS (SELECT 1 FROM fee_terms t WHERE t.wallet_id = w.id AND t.valid_from <= $1::date)
		ON CONFLICT (wallet_id, day) DO NOTHING`, day.Time())
	return tag.RowsAffected(), err
}

// FeeWallets lists wallets with fee terms in effect by to.
func (s Store) FeeWallets(ctx context.Context, to fund.Date, after string, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT wallet_id FROM fee_terms WHERE valid_from <= $1 AND wallet_id > $2 ORDER BY wallet_id LIMIT $3`,
		to.Time(), after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DueInvoices lists invoices not paid yet.
func (s Store) DueInvoices(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM fee_invoices WHERE status = 'due' ORDER BY created_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// FeeTerms reads a wallet's fee terms by date.
func (t Tx) FeeTerms(ctx context.Context, walletID string) ([]wallet.FeeTerms, error) {
	rows, err := t.tx.Query(ctx, `SELECT valid_from, aum_rate_pct, perf_pct, hurdle_pct, charge_from FROM fee_terms WHERE wallet_id = $1 ORDER BY valid_from`, walletID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.FeeTerms, error) {
		ft := wallet.FeeTerms{WalletID: walletID}
		var from time.Time
		err := r.Scan(&from, &ft.AUMRatePct, &ft.PerfPct, &ft.HurdlePct, &ft.ChargeFrom)
		ft.From = fund.DateOf(from)
		return ft, err
	})
}

// PutFeeTerms upserts a wallet's terms from a date.
func (t Tx) PutFeeTerms(ctx context.Context, ft wallet.FeeTerms) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO fee_terms (wallet_id, valid_from, aum_rate_pct, perf_pct, hurdle_pct, charge_from) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (wallet_id, valid_from) DO UPDATE SET aum_rate_pct = excluded.aum_rate_pct, perf_pct = excluded.perf_pct,
			hurdle_pct = excluded.hurdle_pct, charge_from = excluded.charge_from`,
		ft.WalletID, ft.From.Time(), ft.AUMRatePct, ft.PerfPct, ft.HurdlePct, ft.ChargeFrom)
	return err
}

// Valuations reads the last valuation on or before from and all after it
// through to.
func (t Tx) Valuations(ctx context.Context, walletID string, from, to fund.Date) ([]managed.AUM, error) {
	rows, err := t.tx.Query(ctx, `SELECT day, aum FROM fee_valuations WHERE wallet_id = $1 AND day <= $3
		AND day >= coalesce((SELECT max(day) FROM fee_valuations WHERE wallet_id = $1 AND day <= $2), $2) ORDER BY day`,
		walletID, from.Time(), to.Time())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (managed.AUM, error) {
		var day time.Time
		var v decimal.Decimal
		if err := r.Scan(&day, &v); err != nil {
			return managed.AUM{}, err
		}
		a, err := fund.AmountFromDecimal(v, fund.NoRounding)
		return managed.AUM{Date: fund.DateOf(day), Value: a}, err
	})
}

// NetFlows sums what came into the wallet from outside less what left it
// to the investor, as posted so far (through is not used: wallet postings
// carry the database's time, not the business day; see FeeTx.NetFlows).
func (t Tx) NetFlows(ctx context.Context, walletID string, through fund.Date) (fund.Amount, error) {
	var v decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT coalesce(sum(CASE kind WHEN 'deposit' THEN amount ELSE -amount END), 0) FROM wallet_transactions
		WHERE wallet_id = $1 AND kind IN ('deposit', 'withdrawal', 'reversal')`, walletID).Scan(&v)
	if err != nil {
		return fund.Amount{}, err
	}
	return fund.AmountFromDecimal(v, fund.NoRounding)
}

// HWM reads the wallet's high-water mark (zeros before the first).
func (t Tx) HWM(ctx context.Context, walletID string) (fund.Amount, fund.Amount, bool, error) {
	var h, s decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT hwm_gain, start_gain FROM fee_hwm WHERE wallet_id = $1 FOR UPDATE`, walletID).Scan(&h, &s)
	if errors.Is(err, pgx.ErrNoRows) {
		return fund.Amount{}, fund.Amount{}, false, nil
	}
	if err != nil {
		return fund.Amount{}, fund.Amount{}, false, err
	}
	ha, err := fund.AmountFromDecimal(h, fund.NoRounding)
	if err != nil {
		return ha, fund.Amount{}, false, err
	}
	sa, err := fund.AmountFromDecimal(s, fund.NoRounding)
	return ha, sa, err == nil, err
}

// PutHWM writes the high-water mark.
func (t Tx) PutHWM(ctx context.Context, walletID string, hwmGain, startGain fund.Amount, asOf fund.Date) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO fee_hwm (wallet_id, hwm_gain, start_gain, as_of) VALUES ($1, $2, $3, $4)
		ON CONFLICT (wallet_id) DO UPDATE SET hwm_gain = excluded.hwm_gain, start_gain = excluded.start_gain, as_of = excluded.as_of`,
		walletID, hwmGain.Decimal(), startGain.Decimal(), asOf.Time())
	return err
}

const invoiceCols = `id, wallet_id, investor_id, period_from, period_to, aum_fee, perf_fee, fee, gst, total, body, status`

func scanInvoice(row pgx.Row) (wallet.FeeInvoice, bool, error) {
	var inv wallet.FeeInvoice
	var from, to time.Time
	var amts [5]decimal.Decimal
	var body []byte
	err := row.Scan(&inv.ID, &inv.WalletID, &inv.InvestorID, &from, &to, &amts[0], &amts[1], &amts[2], &amts[3], &amts[4], &body, &inv.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return inv, false, nil
	}
	if err != nil {
		return inv, false, err
	}
	inv.From, inv.To = fund.DateOf(from), fund.DateOf(to)
	for i, p := range []*fund.Amount{&inv.AUMFee, &inv.PerfFee, &inv.Fee, &inv.GST, &inv.Total} {
		if *p, err = fund.AmountFromDecimal(amts[i], fund.NoRounding); err != nil {
			return inv, false, err
		}
	}
	var b struct {
		Accrual managed.Accrual          `json:"accrual"`
		Perf    *managed.Crystallisation `json:"performance"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return inv, false, fmt.Errorf("invoice %s body: %w", inv.ID, err)
	}
	inv.Accrual, inv.Perf = b.Accrual, b.Perf
	return inv, true, nil
}

// InvoiceFor reads the wallet's invoice of a period, locked.
func (t Tx) InvoiceFor(ctx context.Context, walletID string, from fund.Date) (wallet.FeeInvoice, bool, error) {
	return scanInvoice(t.tx.QueryRow(ctx, `SELECT `+invoiceCols+` FROM fee_invoices WHERE wallet_id = $1 AND period_from = $2 FOR UPDATE`, walletID, from.Time()))
}

// Invoice reads an invoice (no lock: ChargeDue locks the wallet, then the
// invoice, as Bill does).
func (t Tx) Invoice(ctx context.Context, id string) (wallet.FeeInvoice, bool, error) {
	return scanInvoice(t.tx.QueryRow(ctx, `SELECT `+invoiceCols+` FROM fee_invoices WHERE id = $1`, id))
}

// InsertInvoice stores an invoice.
func (t Tx) InsertInvoice(ctx context.Context, inv wallet.FeeInvoice) error {
	body, err := json.Marshal(map[string]any{"accrual": inv.Accrual, "performance": inv.Perf})
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO fee_invoices (`+invoiceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		inv.ID, inv.WalletID, inv.InvestorID, inv.From.Time(), inv.To.Time(), inv.AUMFee.Decimal(), inv.PerfFee.Decimal(),
		inv.Fee.Decimal(), inv.GST.Decimal(), inv.Total.Decimal(), string(body), inv.Status)
	return err
}

// SetInvoiceCharged marks an invoice paid.
func (t Tx) SetInvoiceCharged(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `UPDATE fee_invoices SET status = 'charged', charged_at = now() WHERE id = $1`, id)
	return err
}
