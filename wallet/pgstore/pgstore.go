// Package pgstore is the wallet's Store in Postgres (migration 033).
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/wallet"
)

// Store is wallet.Store on a pool.
type Store struct{ Pool *pgxpool.Pool }

var _ wallet.Store = Store{}

// InTx runs fn in one transaction.
func (s Store) InTx(ctx context.Context, fn func(wallet.Tx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// creditable is a captured payment naming a wallet and waiting for it:
// unmatched, or broken only as wallet_credit_failed or wallet_closed with
// that break resolved (a person fixed the cause; a wallet_closed break of
// a deposit that came while the wallet was closing is resolved when its
// exit is undone: ReopenWallet). As PendingInvest follows open
// autoinvest_failed breaks. A failure again reopens the break
// (BreakPayment).
const creditable = `status = 'captured' AND notes_order_id LIKE 'wallet:%' AND (match_status = 'unmatched' OR (match_status = 'break'
	AND EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = payments.id AND b.reason IN (` + retryableBreaks + `))
	AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = payments.id AND (b.resolved_at IS NULL OR b.reason NOT IN (` + retryableBreaks + `)))))`

// retryableBreaks are the break reasons whose resolution makes a deposit
// creditable again.
const retryableBreaks = `'` + wallet.BreakCreditFailed + `', '` + wallet.BreakWalletClosed + `'`

// PendingDeposits lists captured payments naming a wallet waiting for it
// (creditable).
func (s Store) PendingDeposits(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT id FROM payments WHERE `+creditable+`
		ORDER BY realised_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RefundedDeposits lists credited deposits the gateway refunded, neither
// reversed nor broken yet.
func (s Store) RefundedDeposits(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT p.id FROM payments p JOIN wallet_transactions t ON t.kind = 'deposit' AND t.ref = p.id
		WHERE p.status = 'refunded'
		  AND NOT EXISTS (SELECT 1 FROM wallet_transactions r WHERE r.kind = 'reversal' AND r.ref = p.id)
		  AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = p.id AND b.reason = 'wallet_refund_after_spend')
		ORDER BY t.id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ReleasableWithdrawals lists parked withdrawals whose investor has no
// restriction blocking redemptions.
func (s Store) ReleasableWithdrawals(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT d.request_id FROM wallet_withdrawals d JOIN wallets w ON w.id = d.wallet_id
		WHERE d.status = 'pending'
		  AND NOT EXISTS (SELECT 1 FROM investor_restrictions r WHERE r.investor_id = w.investor_id AND r.blocks_redemption)
		ORDER BY d.created_at, d.request_id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Wallet reads a wallet.
func (s Store) Wallet(ctx context.Context, id string) (wallet.Wallet, bool, error) {
	return scanWallet(s.Pool.QueryRow(ctx, `SELECT id, investor_id, status, balance FROM wallets WHERE id = $1`, id))
}

// WalletView reads a wallet with its auto-invest terms.
func (s Store) WalletView(ctx context.Context, id string) (wallet.View, bool, error) {
	var v wallet.View
	var bal decimal.Decimal
	err := s.Pool.QueryRow(ctx, `SELECT w.id, w.investor_id, w.status, w.balance, coalesce(a.model_id, ''), coalesce(a.folio_no, '')
		FROM wallets w LEFT JOIN autoinvest_terms a ON a.wallet_id = w.id AND a.enabled WHERE w.id = $1`, id).
		Scan(&v.ID, &v.InvestorID, &v.Status, &bal, &v.Model, &v.Folio)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	v.Balance, err = fund.AmountFromDecimal(bal, fund.NoRounding)
	return v, err == nil, err
}

func scanWallet(row pgx.Row) (wallet.Wallet, bool, error) {
	var w wallet.Wallet
	var bal decimal.Decimal
	err := row.Scan(&w.ID, &w.InvestorID, &w.Status, &bal)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, false, nil
	}
	if err != nil {
		return w, false, err
	}
	w.Balance, err = fund.AmountFromDecimal(bal, fund.NoRounding)
	return w, err == nil, err
}

// Tx is wallet.Tx.
type Tx struct{ tx pgx.Tx }

var _ wallet.Tx = Tx{}

// TxOf is the wallet's Tx inside another service's transaction (pools post
// to the wallet journal with the same code).
func TxOf(tx pgx.Tx) Tx { return Tx{tx} }

// LockMatchKeys takes advisory locks as the ledger's pgstore does (the
// same hash, so the two serialise on a key).
func (t Tx) LockMatchKeys(ctx context.Context, keys []string) error {
	_, err := t.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, keys)
	return err
}

// PendingPayment reads a payment still waiting for its wallet.
func (t Tx) PendingPayment(ctx context.Context, id string, lock bool) (wallet.Payment, bool, error) {
	q := `SELECT id, gateway, notes_order_id, currency, coalesce(realised_event_id, last_event_id), amount, coalesce(realised_at, last_event_at)
		FROM payments WHERE id = $1 AND ` + creditable
	if lock {
		q += ` FOR UPDATE`
	}
	var p wallet.Payment
	var amt decimal.Decimal
	err := t.tx.QueryRow(ctx, q, id).Scan(&p.ID, &p.Gateway, &p.NotesOrderID, &p.Currency, &p.EventID, &amt, &p.RealisedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	p.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
	return p, err == nil, err
}

// RefundedPayment reads a refunded payment credited to a wallet and not
// reversed or broken yet.
func (t Tx) RefundedPayment(ctx context.Context, id string, lock bool) (wallet.Payment, string, bool, error) {
	q := `SELECT p.id, p.gateway, p.notes_order_id, p.currency, p.last_event_id, t.amount, coalesce(p.realised_at, p.last_event_at), t.wallet_id
		FROM payments p JOIN wallet_transactions t ON t.kind = 'deposit' AND t.ref = p.id
		WHERE p.id = $1 AND p.status = 'refunded'
		  AND NOT EXISTS (SELECT 1 FROM wallet_transactions r WHERE r.kind = 'reversal' AND r.ref = p.id)
		  AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = p.id AND b.reason = 'wallet_refund_after_spend')`
	if lock {
		q += ` FOR UPDATE OF p`
	}
	var p wallet.Payment
	var amt decimal.Decimal
	var walletID string
	err := t.tx.QueryRow(ctx, q, id).Scan(&p.ID, &p.Gateway, &p.NotesOrderID, &p.Currency, &p.EventID, &amt, &p.RealisedAt, &walletID)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, "", false, nil
	}
	if err != nil {
		return p, "", false, err
	}
	p.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
	return p, walletID, err == nil, err
}

// LockWallet reads a wallet locked for update.
func (t Tx) LockWallet(ctx context.Context, id string) (wallet.Wallet, bool, error) {
	return scanWallet(t.tx.QueryRow(ctx, `SELECT id, investor_id, status, balance FROM wallets WHERE id = $1 FOR UPDATE`, id))
}

// CreateWallet inserts a wallet (an existing id: created false).
func (t Tx) CreateWallet(ctx context.Context, id, investorID string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO wallets (id, investor_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, investorID)
	return tag.RowsAffected() == 1, err
}

// Entry finds an entry by kind and ref.
func (t Tx) Entry(ctx context.Context, kind, ref string) (wallet.Entry, int64, bool, error) {
	e := wallet.Entry{Kind: kind, Ref: ref}
	var id int64
	var amt decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT id, coalesce(wallet_id, ''), amount FROM wallet_transactions WHERE kind = $1 AND ref = $2`, kind, ref).Scan(&id, &e.WalletID, &amt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, 0, false, nil
	}
	if err != nil {
		return e, 0, false, err
	}
	e.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
	return e, id, err == nil, err
}

// Post writes an entry, its postings and the balance's move in one round
// trip after the entry's insert.
func (t Tx) Post(ctx context.Context, e wallet.Entry, delta fund.Amount) (int64, bool, error) {
	var id int64
	// No wallet: a pool's own investing (migration 052), no balance moves.
	err := t.tx.QueryRow(ctx, `INSERT INTO wallet_transactions (wallet_id, kind, ref, amount, flow) VALUES (nullif($1, ''), $2, $3, $4, nullif($5, '')::numeric)
		ON CONFLICT (kind, ref) DO NOTHING RETURNING id`, e.WalletID, e.Kind, e.Ref, e.Amount.Decimal(), flowOf(e)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("wallet transaction: %w", err)
	}
	seqs := make([]int16, len(e.Postings))
	accounts := make([]string, len(e.Postings))
	assets := make([]string, len(e.Postings))
	amounts := make([]decimal.Decimal, len(e.Postings))
	for i, p := range e.Postings {
		seqs[i], accounts[i], assets[i], amounts[i] = int16(i), p.Account, p.Asset, p.Amount
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::text[], $5::numeric[])`, id, seqs, accounts, assets, amounts)
	if e.WalletID != "" {
		b.Queue(`UPDATE wallets SET balance = balance + $2, updated_at = now() WHERE id = $1`, e.WalletID, delta.Decimal())
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, false, fmt.Errorf("postings and balance: %w", err)
	}
	return id, true, nil
}

// PostMany writes entries, their postings and the balances' moves in two
// round trips: the entries' insert, then the postings and the moves (one
// statement each, the moves summed by wallet) for the entries inserted.
func (t Tx) PostMany(ctx context.Context, es []wallet.Entry, deltas []fund.Amount) ([]int64, []bool, error) {
	n := len(es)
	wids, kinds, refs, amts, flows := make([]string, n), make([]string, n), make([]string, n), make([]decimal.Decimal, n), make([]string, n)
	for i, e := range es {
		wids[i], kinds[i], refs[i], amts[i], flows[i] = e.WalletID, e.Kind, e.Ref, e.Amount.Decimal(), flowOf(e)
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO wallet_transactions (wallet_id, kind, ref, amount, flow)
		SELECT nullif(w, ''), k, r, a, nullif(f, '')::numeric FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::text[]) WITH ORDINALITY AS x(w, k, r, a, f, n) ORDER BY n
		ON CONFLICT (kind, ref) DO NOTHING RETURNING id, kind, ref`, wids, kinds, refs, amts, flows)
	if err != nil {
		return nil, nil, fmt.Errorf("wallet transactions: %w", err)
	}
	type key struct{ kind, ref string }
	got := map[key]int64{}
	var id int64
	var kind, ref string
	if _, err := pgx.ForEachRow(rows, []any{&id, &kind, &ref}, func() error { got[key{kind, ref}] = id; return nil }); err != nil {
		return nil, nil, fmt.Errorf("wallet transactions: %w", err)
	}
	ids, inserted := make([]int64, n), make([]bool, n)
	var txIDs []int64
	var seqs []int16
	var accounts, assets, moved []string
	var amounts, moves []decimal.Decimal
	for i, e := range es {
		if ids[i], inserted[i] = got[key{e.Kind, e.Ref}]; !inserted[i] {
			continue
		}
		for j, p := range e.Postings {
			txIDs, seqs, accounts, assets, amounts = append(txIDs, ids[i]), append(seqs, int16(j)), append(accounts, p.Account), append(assets, p.Asset), append(amounts, p.Amount)
		}
		if e.WalletID != "" {
			moved, moves = append(moved, e.WalletID), append(moves, deltas[i].Decimal())
		}
	}
	if len(txIDs) == 0 {
		return ids, inserted, nil
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
		SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::text[], $5::numeric[])`, txIDs, seqs, accounts, assets, amounts)
	if len(moved) > 0 {
		b.Queue(`UPDATE wallets w SET balance = w.balance + d.delta, updated_at = now()
			FROM (SELECT id, sum(delta) AS delta FROM unnest($1::text[], $2::numeric[]) AS x(id, delta) GROUP BY id) d WHERE w.id = d.id`, moved, moves)
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("postings and balances: %w", err)
	}
	return ids, inserted, nil
}

// MatchDeposits marks payments credited in one statement.
func (t Tx) MatchDeposits(ctx context.Context, paymentIDs []string) error {
	_, err := t.tx.Exec(ctx, `UPDATE payments SET match_status = 'matched', updated_at = now() WHERE id = ANY($1)`, paymentIDs)
	return err
}

// InsertWithdrawal records a withdrawal request.
func (t Tx) InsertWithdrawal(ctx context.Context, w wallet.Withdrawal) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO wallet_withdrawals (request_id, wallet_id, amount, status, hold_source, decided_at)
		VALUES ($1, $2, $3, $4, $5, CASE WHEN $4 = 'pending' THEN NULL ELSE now() END)`, w.RequestID, w.WalletID, w.Amount.Decimal(), w.Status, w.HoldSource)
	return err
}

// Withdrawal reads a withdrawal request, locked.
func (t Tx) Withdrawal(ctx context.Context, requestID string) (wallet.Withdrawal, bool, error) {
	w := wallet.Withdrawal{RequestID: requestID}
	var amt decimal.Decimal
	err := t.tx.QueryRow(ctx, `SELECT wallet_id, amount, status, hold_source FROM wallet_withdrawals WHERE request_id = $1 FOR UPDATE`, requestID).
		Scan(&w.WalletID, &amt, &w.Status, &w.HoldSource)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, false, nil
	}
	if err != nil {
		return w, false, err
	}
	w.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
	return w, err == nil, err
}

// SetWithdrawalStatus decides a request.
func (t Tx) SetWithdrawalStatus(ctx context.Context, requestID, status string) error {
	_, err := t.tx.Exec(ctx, `UPDATE wallet_withdrawals SET status = $2, decided_at = now() WHERE request_id = $1`, requestID, status)
	return err
}

// BlockingRestriction reads a restriction of the investor that blocks
// redemptions (the ledger's investor_restrictions), fraud first.
func (t Tx) BlockingRestriction(ctx context.Context, investorID string) (string, bool, error) {
	var src string
	err := t.tx.QueryRow(ctx, `SELECT source FROM investor_restrictions WHERE investor_id = $1 AND blocks_redemption
		ORDER BY source <> 'fraud', source LIMIT 1`, investorID).Scan(&src)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return src, err == nil, err
}

// MatchDeposit marks a payment credited.
func (t Tx) MatchDeposit(ctx context.Context, paymentID string) error {
	_, err := t.tx.Exec(ctx, `UPDATE payments SET match_status = 'matched', updated_at = now() WHERE id = $1`, paymentID)
	return err
}

// BreakPayment records a break as the ledger does (payment_breaks, the
// first of a payment and reason wins) and marks the payment break.
func (t Tx) BreakPayment(ctx context.Context, paymentID, reason, detail string) error {
	// A retryable break resolved and failing again is open again.
	if _, err := t.tx.Exec(ctx, `INSERT INTO payment_breaks (payment_id, order_id, reason, detail) VALUES ($1, '', $2, $3)
		ON CONFLICT (payment_id, reason) DO UPDATE SET resolved_at = NULL, detail = EXCLUDED.detail
		WHERE payment_breaks.reason IN (`+retryableBreaks+`) AND payment_breaks.resolved_at IS NOT NULL`, paymentID, reason, detail); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `UPDATE payments SET match_status = 'break', updated_at = now() WHERE id = $1`, paymentID)
	return err
}

// RaiseAlert opens an alert once (an open one of the same kind and
// subject is kept).
func (t Tx) RaiseAlert(ctx context.Context, kind, subject, detail string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO alerts (kind, subject, detail) VALUES ($1, $2, $3)
		ON CONFLICT (kind, subject) WHERE resolved_at IS NULL DO NOTHING`, kind, subject, detail)
	return err
}

// ResolveAlert resolves the open alert of kind and subject, if any.
func (t Tx) ResolveAlert(ctx context.Context, kind, subject string) error {
	_, err := t.tx.Exec(ctx, `UPDATE alerts SET resolved_at = now() WHERE kind = $1 AND subject = $2 AND resolved_at IS NULL`, kind, subject)
	return err
}

// ResolveInvestBreak resolves the deposit's open autoinvest_failed break,
// appending why to its detail.
func (t Tx) ResolveInvestBreak(ctx context.Context, paymentID, why string) (bool, error) {
	tag, err := t.tx.Exec(ctx, `UPDATE payment_breaks SET resolved_at = now(), detail = detail || ' | resolved: ' || $3
		WHERE payment_id = $1 AND reason = $2 AND resolved_at IS NULL`, paymentID, wallet.BreakInvestFailed, why)
	return err == nil && tag.RowsAffected() > 0, err
}

// WriteOutbox inserts outbox rows in order in one statement (an event id
// seen before is skipped: event ids are deterministic).
func (t Tx) WriteOutbox(ctx context.Context, events []ledger.Event) error {
	n := len(events)
	ids, topics, keys, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range events {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return fmt.Errorf("outbox %s: %w", e.ID, err)
		}
		ids[i], topics[i], keys[i], payloads[i] = e.ID, e.Topic, e.Key, string(b)
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload)
		SELECT e, tp, k, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS x(e, tp, k, p, n) ORDER BY n
		ON CONFLICT (event_id) DO NOTHING`, ids, topics, keys, payloads)
	return err
}

// AppendAudit appends audit rows through the audit chain.
func (t Tx) AppendAudit(ctx context.Context, rows []ledger.AuditEntry) error {
	es := make([]postgres.AuditEntry, len(rows))
	for i, r := range rows {
		es[i] = postgres.AuditEntry{Entity: r.Entity, ID: r.ID, Action: r.Action, Payload: r.Payload}
	}
	return postgres.AppendAudits(ctx, t.tx, "", es)
}
