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

// Value values every open or closing wallet with fee terms in effect on
// day in one statement: its cash plus each holding of its auto-invest
// folio at the NAV of day or the last before it, each truncated to the
// paisa. A closing wallet is valued too: its exit, finished or reopened,
// may still bill those days (a backfill of a day it lacks lets it).
func (s Store) Value(ctx context.Context, day fund.Date) (int64, error) {
	tag, err := s.Pool.Exec(ctx, valuationInsert+`
		WHERE EXISTS (SELECT 1 FROM fee_terms t WHERE t.wallet_id = w.id AND t.valid_from <= $1::date)
		  AND w.status IN ('open', 'closing') -- a closed wallet left managed investing (wallet.Exits): no fee accrues
		ON CONFLICT (wallet_id, day) DO NOTHING`, day.Time())
	return tag.RowsAffected(), err
}

// FeeWallets lists open and closing wallets with fee terms in effect by
// to.
func (s Store) FeeWallets(ctx context.Context, to fund.Date, after string, limit int) ([]string, error) {
	// A closed wallet was billed up to its exit by the exit (wallet.Exits):
	// left out. A closing one is listed so the run reports it skipped
	// (ErrExitInProgress) and retries it: its exit may yet be undone.
	rows, err := s.Pool.Query(ctx, `SELECT DISTINCT wallet_id FROM fee_terms WHERE valid_from <= $1 AND wallet_id > $2
		AND wallet_id NOT IN (SELECT id FROM wallets WHERE status = 'closed') ORDER BY wallet_id LIMIT $3`,
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

// LastValuation reads the date of the wallet's latest valuation dated day
// or before (ok false: none).
func (t Tx) LastValuation(ctx context.Context, walletID string, day fund.Date) (fund.Date, bool, error) {
	var d *time.Time
	if err := t.tx.QueryRow(ctx, `SELECT max(day) FROM fee_valuations WHERE wallet_id = $1 AND day <= $2`, walletID, day.Time()).Scan(&d); err != nil || d == nil {
		return fund.Date{}, false, err
	}
	return fund.DateOf(*d), true, nil
}

// FirstValuation reads the date of the wallet's first valuation (ok
// false: never valued).
func (t Tx) FirstValuation(ctx context.Context, walletID string) (fund.Date, bool, error) {
	var d *time.Time
	if err := t.tx.QueryRow(ctx, `SELECT min(day) FROM fee_valuations WHERE wallet_id = $1`, walletID).Scan(&d); err != nil || d == nil {
		return fund.Date{}, false, err
	}
	return fund.DateOf(*d), true, nil
}

// HWMAsOf reads the date of the wallet's last crystallisation (found
// false: never).
func (t Tx) HWMAsOf(ctx context.Context, walletID string) (fund.Date, bool, error) {
	var d time.Time
	err := t.tx.QueryRow(ctx, `SELECT as_of FROM fee_hwm WHERE wallet_id = $1`, walletID).Scan(&d)
	if errors.Is(err, pgx.ErrNoRows) {
		return fund.Date{}, false, nil
	}
	return fund.DateOf(d), err == nil, err
}

// LockWallets locks wallets in id order.
func (t Tx) LockWallets(ctx context.Context, ids []string) ([]wallet.Wallet, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, investor_id, status, balance FROM wallets WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.Wallet, error) {
		w, _, err := scanWallet(r)
		return w, err
	})
}

// BillInputs reads a chunk's billing inputs in one batch (one round
// trip): invoices (locked), terms, valuations (with the net flows each
// kept), and with perf the high-water marks (locked); a second round trip
// sums the flows of wallets whose last valuation predates kept flows
// (none written since 066).
func (t Tx) BillInputs(ctx context.Context, ids []string, from, to fund.Date, perf bool) (map[string]*wallet.BillInput, error) {
	out := make(map[string]*wallet.BillInput, len(ids))
	for _, id := range ids {
		out[id] = &wallet.BillInput{}
	}
	amount := func(v decimal.Decimal) (fund.Amount, error) { return fund.AmountFromDecimal(v, fund.NoRounding) }
	b := &pgx.Batch{}
	// Invoices overlapping from..to: the period's own if it exists, else
	// the first (billing refuses to bill a day twice).
	b.Queue(`SELECT `+invoiceCols+` FROM fee_invoices WHERE wallet_id = ANY($1) AND period_from <= $3 AND period_to >= $2
		ORDER BY wallet_id, period_from FOR UPDATE`, ids, from.Time(), to.Time()).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				inv, _, err := scanInvoice(rows)
				if err != nil {
					return err
				}
				if in := out[inv.WalletID]; in.Invoice == nil || inv.From == from {
					in.Invoice = &inv
				}
			}
			return rows.Err()
		})
	b.Queue(`SELECT wallet_id, valid_from, aum_rate_pct, perf_pct, hurdle_pct, charge_from FROM fee_terms
		WHERE wallet_id = ANY($1) AND valid_from <= $2 ORDER BY wallet_id, valid_from`, ids, to.Time()).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var ft wallet.FeeTerms
				var d time.Time
				if err := rows.Scan(&ft.WalletID, &d, &ft.AUMRatePct, &ft.PerfPct, &ft.HurdlePct, &ft.ChargeFrom); err != nil {
					return err
				}
				ft.From = fund.DateOf(d)
				out[ft.WalletID].Terms = append(out[ft.WalletID].Terms, ft)
			}
			return rows.Err()
		})
	// Each wallet's valuations from the last on or before from (or from)
	// through to, by the primary key; the last one's net flows.
	valued := make(map[string]decimal.NullDecimal, len(ids))
	b.Queue(`SELECT w, v.day, v.aum, v.net_flows FROM unnest($1::text[]) AS w
		CROSS JOIN LATERAL (SELECT coalesce((SELECT max(day) FROM fee_valuations WHERE wallet_id = w AND day <= $2), $2) AS first) s
		JOIN fee_valuations v ON v.wallet_id = w AND v.day >= s.first AND v.day <= $3
		ORDER BY w, v.day`, ids, from.Time(), to.Time()).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				var d time.Time
				var v decimal.Decimal
				var flows decimal.NullDecimal
				if err := rows.Scan(&id, &d, &v, &flows); err != nil {
					return err
				}
				a, err := amount(v)
				if err != nil {
					return err
				}
				out[id].Valuations = append(out[id].Valuations, managed.AUM{Date: fund.DateOf(d), Value: a})
				valued[id] = flows
			}
			return rows.Err()
		})
	if perf {
		b.Queue(`SELECT wallet_id, hwm_gain, start_gain FROM fee_hwm WHERE wallet_id = ANY($1) ORDER BY wallet_id FOR UPDATE`, ids).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var id string
					var h, s decimal.Decimal
					if err := rows.Scan(&id, &h, &s); err != nil {
						return err
					}
					ha, err := amount(h)
					if err != nil {
						return err
					}
					sa, err := amount(s)
					if err != nil {
						return err
					}
					out[id].HWMGain, out[id].StartGain = ha, sa
				}
				return rows.Err()
			})
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	var unkept []string // last valuation written before its flows were kept
	for id, flows := range valued {
		if !flows.Valid {
			unkept = append(unkept, id)
			continue
		}
		a, err := amount(flows.Decimal) // the flows the last valuation includes, no later one
		if err != nil {
			return nil, err
		}
		out[id].NetFlows = a
	}
	if perf && len(unkept) > 0 {
		// Σ what came in from outside less what left to the investor, as
		// posted so far, only for those (review r36 M1: it was read for
		// every wallet and thrown away, 6-16x the chunk's read).
		rows, err := t.tx.Query(ctx, `SELECT wallet_id, `+netFlowsSum+` FROM wallet_transactions
			WHERE wallet_id = ANY($1) AND `+netFlowsKinds+` GROUP BY wallet_id`, unkept)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var v decimal.Decimal
			if err := rows.Scan(&id, &v); err != nil {
				return nil, err
			}
			a, err := amount(v)
			if err != nil {
				return nil, err
			}
			out[id].NetFlows = a
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// netFlowsSum is a wallet's net flows over its wallet_transactions rows
// of netFlowsKinds: what came in from outside less what left to the
// investor (a parked withdrawal is money out; cancelled, it came back in).
// Pool units are not in the valuation, so money between the wallet and a
// pool is a flow too (review r35 L3): a contribution out, a withdrawal's
// proceeds, a paid distribution or a refused contribution in. Their entry
// amount does not say whether the wallet's cash moved (a priced
// contribution or a reinvested share moves only the pool's), so they count
// by their posting to the wallet's account (+ debit: money out).
// Post stores each row's flow (flowOf, migration 067, review r36 M1): the
// rule below runs only on a row written without it, so the daily
// valuation no longer reads wallet_postings per pool-kind row.
const (
	netFlowsSum = `sum(coalesce(flow, CASE WHEN kind IN ('deposit', 'withdrawal_cancel') THEN amount
		WHEN kind IN ('pool_contribution', 'pool_priced', 'pool_distribution') THEN -coalesce((SELECT sum(p.amount) FROM wallet_postings p
			WHERE p.tx_id = id AND p.account = 'wallet:' || wallet_id AND p.asset = 'INR'), 0)
		ELSE -amount END))`
	netFlowsKinds = `kind IN ('deposit', 'withdrawal', 'reversal', 'withdrawal_cancel', 'pool_contribution', 'pool_priced', 'pool_distribution')`
)

// flowOf is an entry's net flow as netFlowsSum counts it, "" when its kind
// is not a flow (or it has no wallet): stored on the row by Post.
func flowOf(e wallet.Entry) string {
	if e.WalletID == "" {
		return ""
	}
	switch e.Kind {
	case "deposit", "withdrawal_cancel":
		return e.Amount.Decimal().String()
	case "withdrawal", "reversal":
		return e.Amount.Decimal().Neg().String()
	case "pool_contribution", "pool_priced", "pool_distribution":
		sum := decimal.Zero
		for _, p := range e.Postings {
			if p.Account == "wallet:"+e.WalletID && p.Asset == "INR" {
				sum = sum.Add(p.Amount)
			}
		}
		return sum.Neg().String()
	}
	return ""
}

// WriteBills writes a chunk: the invoices by COPY, then the high-water
// marks, and the payments (entries, postings, balances) in one statement.
func (t Tx) WriteBills(ctx context.Context, bs wallet.Bills) error {
	if len(bs.Invoices) > 0 {
		rows := make([][]any, len(bs.Invoices))
		for i, inv := range bs.Invoices {
			body, err := json.Marshal(map[string]any{"accrual": inv.Accrual, "performance": inv.Perf, "charge_from": inv.ChargeFrom})
			if err != nil {
				return err
			}
			var charged any
			if inv.Status == "charged" {
				charged = time.Now()
			}
			rows[i] = []any{inv.ID, inv.WalletID, inv.InvestorID, inv.From.Time(), inv.To.Time(), inv.AUMFee.Decimal(), inv.PerfFee.Decimal(),
				inv.Fee.Decimal(), inv.GST.Decimal(), inv.Total.Decimal(), string(body), inv.Status, charged}
		}
		if _, err := t.tx.CopyFrom(ctx, pgx.Identifier{"fee_invoices"}, []string{"id", "wallet_id", "investor_id", "period_from", "period_to",
			"aum_fee", "perf_fee", "fee", "gst", "total", "body", "status", "charged_at"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("invoices: %w", err)
		}
	}
	b := &pgx.Batch{}
	if n := len(bs.HWMs); n > 0 {
		ids, asOf := make([]string, n), make([]time.Time, n)
		hwm, start := make([]decimal.Decimal, n), make([]decimal.Decimal, n)
		for i, h := range bs.HWMs {
			ids[i], hwm[i], start[i], asOf[i] = h.WalletID, h.HWMGain.Decimal(), h.StartGain.Decimal(), h.AsOf.Time()
		}
		b.Queue(`INSERT INTO fee_hwm (wallet_id, hwm_gain, start_gain, as_of) SELECT * FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::date[])
			ON CONFLICT (wallet_id) DO UPDATE SET hwm_gain = excluded.hwm_gain, start_gain = excluded.start_gain, as_of = excluded.as_of`, ids, hwm, start, asOf)
	}
	if n := len(bs.Payments); n > 0 {
		wids, refs, amts := make([]string, n), make([]string, n), make([]decimal.Decimal, n)
		var prefs, accounts, assets []string
		var seqs []int16
		var pamts []decimal.Decimal
		for i, e := range bs.Payments {
			wids[i], refs[i], amts[i] = e.WalletID, e.Ref, e.Amount.Decimal()
			for k, p := range e.Postings {
				prefs, seqs, accounts, assets, pamts = append(prefs, e.Ref), append(seqs, int16(k)), append(accounts, p.Account), append(assets, p.Asset), append(pamts, p.Amount)
			}
		}
		// One statement: the entries, their postings, the balances; the
		// counts say every one was written. The entries are refs of
		// invoices this transaction has just created, so a plain insert
		// (no ON CONFLICT's speculative insertion): a second entry for
		// one would be a unique violation, failing the chunk.
		b.Queue(`WITH t AS (
				INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) SELECT w, 'fee', r, a FROM unnest($1::text[], $2::text[], $3::numeric[]) AS x(w, r, a)
				RETURNING id, wallet_id, ref, amount),
			p AS (
				INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
				SELECT t.id, p.seq, p.account, p.asset, p.amount FROM t
				JOIN unnest($4::text[], $5::smallint[], $6::text[], $7::text[], $8::numeric[]) AS p(ref, seq, account, asset, amount) ON p.ref = t.ref
				RETURNING 1),
			u AS (
				UPDATE wallets w SET balance = w.balance - t.amount, updated_at = now() FROM t WHERE w.id = t.wallet_id RETURNING 1)
			SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM p), (SELECT count(*) FROM u)`,
			wids, refs, amts, prefs, seqs, accounts, assets, pamts).QueryRow(func(r pgx.Row) error {
			var nt, np, nu int
			if err := r.Scan(&nt, &np, &nu); err != nil {
				return err
			}
			if nt != n || np != len(prefs) || nu != n {
				return fmt.Errorf("payments: %d of %d entries, %d of %d postings, %d balances written: some invoice was paid without being marked charged", nt, n, np, len(prefs), nu)
			}
			return nil
		})
	}
	if b.Len() == 0 {
		return nil
	}
	return t.tx.SendBatch(ctx, b).Close()
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
		Accrual    managed.Accrual          `json:"accrual"`
		Perf       *managed.Crystallisation `json:"performance"`
		ChargeFrom string                   `json:"charge_from"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return inv, false, fmt.Errorf("invoice %s body: %w", inv.ID, err)
	}
	inv.Accrual, inv.Perf, inv.ChargeFrom = b.Accrual.Expanded(), b.Perf, b.ChargeFrom
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

// BilledPeriods lists the periods of the wallet's invoices starting on or
// before to, by start.
func (t Tx) BilledPeriods(ctx context.Context, walletID string, to fund.Date) ([]wallet.Period, error) {
	rows, err := t.tx.Query(ctx, `SELECT period_from, period_to FROM fee_invoices WHERE wallet_id = $1 AND period_from <= $2 ORDER BY period_from`, walletID, to.Time())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.Period, error) {
		var from, to time.Time
		err := r.Scan(&from, &to)
		return wallet.Period{From: fund.DateOf(from), To: fund.DateOf(to)}, err
	})
}

// SetInvoiceCharged marks an invoice paid.
func (t Tx) SetInvoiceCharged(ctx context.Context, id string) error {
	_, err := t.tx.Exec(ctx, `UPDATE fee_invoices SET status = 'charged', charged_at = now() WHERE id = $1`, id)
	return err
}

// InvoicesToRedeem lists due invoices charged from units with no
// redemption yet or redemptions still proposed.
func (s Store) InvoicesToRedeem(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT i.id FROM fee_invoices i
		WHERE i.status = 'due' AND i.body->>'charge_from' = 'units'
		  AND EXISTS (SELECT 1 FROM wallets w WHERE w.id = i.wallet_id AND w.status = 'open') -- a closing wallet's exit pays its invoices from the cash
		  AND (NOT EXISTS (SELECT 1 FROM fee_redemptions r WHERE r.invoice_id = i.id)
		       OR EXISTS (SELECT 1 FROM fee_redemptions r WHERE r.invoice_id = i.id AND r.status = 'proposed'))
		ORDER BY i.created_at, i.id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// FeeRedemptionsToSweep lists allotted fee redemptions whose payout is not
// in the wallet yet.
func (s Store) FeeRedemptionsToSweep(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT r.order_id FROM fee_redemptions r
		JOIN ledger_transactions t ON t.order_id = r.order_id AND t.kind = 'redemption'
		WHERE t.net_amount > 0 AND NOT EXISTS (SELECT 1 FROM wallet_transactions w WHERE w.kind = 'fee_redemption' AND w.ref = r.order_id)
		ORDER BY t.id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

const feeRedemptionCols = `order_id, invoice_id, wallet_id, folio_no, scheme_code, amount, request, status`

func scanFeeRedemption(r pgx.Row, extra ...any) (wallet.FeeRedemption, error) {
	var fr wallet.FeeRedemption
	var amt decimal.Decimal
	if err := r.Scan(append([]any{&fr.OrderID, &fr.InvoiceID, &fr.WalletID, &fr.Folio, &fr.Scheme, &amt, &fr.Request, &fr.Status}, extra...)...); err != nil {
		return fr, err
	}
	var err error
	fr.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
	return fr, err
}

// FeeRedemptions reads an invoice's redemptions in order.
func (t Tx) FeeRedemptions(ctx context.Context, invoiceID string) ([]wallet.FeeRedemption, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+feeRedemptionCols+` FROM fee_redemptions WHERE invoice_id = $1 ORDER BY order_id`, invoiceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.FeeRedemption, error) { return scanFeeRedemption(r) })
}

// InsertFeeRedemptions fixes an invoice's redemptions.
func (t Tx) InsertFeeRedemptions(ctx context.Context, rs []wallet.FeeRedemption) error {
	rows := make([][]any, len(rs))
	for i, r := range rs {
		rows[i] = []any{r.OrderID, r.InvoiceID, r.WalletID, r.Folio, r.Scheme, r.Amount.Decimal(), r.Request, r.Status}
	}
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{"fee_redemptions"}, []string{"order_id", "invoice_id", "wallet_id", "folio_no", "scheme_code", "amount", "request", "status"},
		pgx.CopyFromRows(rows))
	return err
}

// SetFeeRedemptionsPlaced marks an invoice's redemptions placed.
func (t Tx) SetFeeRedemptionsPlaced(ctx context.Context, invoiceID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE fee_redemptions SET status = 'placed' WHERE invoice_id = $1 AND status = 'proposed'`, invoiceID)
	return err
}

// FeeRedemptionPayout reads a fee redemption and the ledger's payout for it.
func (t Tx) FeeRedemptionPayout(ctx context.Context, orderID string) (wallet.FeeRedemption, fund.Amount, bool, error) {
	var net decimal.Decimal
	r, err := scanFeeRedemption(t.tx.QueryRow(ctx, `SELECT r.order_id, r.invoice_id, r.wallet_id, r.folio_no, r.scheme_code, r.amount, r.request, r.status, t.net_amount
		FROM fee_redemptions r JOIN ledger_transactions t ON t.order_id = r.order_id AND t.kind = 'redemption' WHERE r.order_id = $1`, orderID), &net)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fund.Amount{}, false, nil
	}
	if err != nil {
		return r, fund.Amount{}, false, err
	}
	a, err := fund.AmountFromDecimal(net, fund.NoRounding)
	return r, a, err == nil, err
}

// FeeRedemptionsSettled counts an invoice's redemptions and whether each
// one's payout is in the wallet.
func (t Tx) FeeRedemptionsSettled(ctx context.Context, invoiceID string) (int, bool, error) {
	var n, swept int
	err := t.tx.QueryRow(ctx, `SELECT count(*), count(w.id) FROM fee_redemptions r
		LEFT JOIN wallet_transactions w ON w.kind = 'fee_redemption' AND w.ref = r.order_id WHERE r.invoice_id = $1`, invoiceID).Scan(&n, &swept)
	return n, n == swept, err
}

// WalletInvoices reads a wallet's invoices, oldest period first, and
// their fee redemptions with the units the ledger redeemed (none yet:
// "").
func (s Store) WalletInvoices(ctx context.Context, walletID string) ([]wallet.FeeInvoice, map[string][]wallet.FeeUnitsRedeemed, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+invoiceCols+` FROM fee_invoices WHERE wallet_id = $1 ORDER BY period_from, id`, walletID)
	if err != nil {
		return nil, nil, err
	}
	invs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.FeeInvoice, error) {
		inv, _, err := scanInvoice(r)
		return inv, err
	})
	if err != nil {
		return nil, nil, err
	}
	rows, err = s.Pool.Query(ctx, `SELECT r.invoice_id, r.order_id, r.scheme_code, r.amount, t.units
		FROM fee_redemptions r LEFT JOIN ledger_transactions t ON t.order_id = r.order_id AND t.kind = 'redemption'
		WHERE r.wallet_id = $1 ORDER BY r.order_id`, walletID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	red := map[string][]wallet.FeeUnitsRedeemed{}
	for rows.Next() {
		var inv string
		var u wallet.FeeUnitsRedeemed
		var amt decimal.Decimal
		var units decimal.NullDecimal
		if err := rows.Scan(&inv, &u.OrderID, &u.Scheme, &amt, &units); err != nil {
			return nil, nil, err
		}
		if units.Valid {
			u.Units = units.Decimal.String()
		}
		if u.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding); err != nil {
			return nil, nil, err
		}
		red[inv] = append(red[inv], u)
	}
	return invs, red, rows.Err()
}
