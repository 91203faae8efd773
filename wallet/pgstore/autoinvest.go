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

var _ wallet.AutoStore = Store{}
var _ wallet.AutoTx = Tx{}

// PendingInvest lists deposits waiting for their run and runs not
// finished, but for those with an open autoinvest_failed break (a person
// resolves it to have the deposit tried again) and deposits without a run
// the gateway refunded (reversed out of the wallet).
func (s Store) PendingInvest(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT ref FROM (
			SELECT t.ref, t.id FROM wallet_transactions t JOIN autoinvest_terms a ON a.wallet_id = t.wallet_id AND a.enabled
			WHERE t.kind = 'deposit' AND NOT EXISTS (SELECT 1 FROM autoinvest_runs r WHERE r.payment_id = t.ref)
			  AND NOT EXISTS (SELECT 1 FROM wallet_transactions v WHERE v.kind = 'reversal' AND v.ref = t.ref)
			UNION ALL
			SELECT r.payment_id, t.id FROM autoinvest_runs r JOIN wallet_transactions t ON t.kind = 'deposit' AND t.ref = r.payment_id
			WHERE r.status = 'debited') x
		WHERE NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = x.ref AND b.reason = $2 AND b.resolved_at IS NULL)
		ORDER BY id LIMIT $1`, limit, wallet.BreakInvestFailed)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// InAutoTx runs fn in one transaction.
func (s Store) InAutoTx(ctx context.Context, fn func(wallet.AutoTx) error) error {
	return postgres.Classify(pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error { return fn(Tx{tx}) }))
}

// Deposits reads credited deposits in one statement, in the order of ids
// (one not credited is left out).
func (t Tx) Deposits(ctx context.Context, ids []string) ([]wallet.Deposit, error) {
	rows, err := t.tx.Query(ctx, `SELECT t.ref, t.wallet_id, w.investor_id, p.gateway, t.amount, coalesce(p.realised_at, t.posted_at)
		FROM unnest($1::text[]) WITH ORDINALITY AS x(id, n)
		JOIN wallet_transactions t ON t.kind = 'deposit' AND t.ref = x.id JOIN wallets w ON w.id = t.wallet_id JOIN payments p ON p.id = t.ref
		ORDER BY x.n`, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.Deposit, error) {
		var d wallet.Deposit
		var amt decimal.Decimal
		if err := r.Scan(&d.PaymentID, &d.WalletID, &d.InvestorID, &d.Gateway, &amt, &d.At); err != nil {
			return d, err
		}
		d.Amount, err = fund.AmountFromDecimal(amt, fund.NoRounding)
		return d, err
	})
}

// TermsOf reads the auto-invest terms of wallets in one statement (a
// wallet without terms is left out).
func (t Tx) TermsOf(ctx context.Context, walletIDs []string) (map[string]wallet.Terms, error) {
	rows, err := t.tx.Query(ctx, `SELECT wallet_id, model_id, folio_no, enabled FROM autoinvest_terms WHERE wallet_id = ANY($1)`, walletIDs)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wallet.Terms, error) {
		var a wallet.Terms
		return a, r.Scan(&a.WalletID, &a.ModelID, &a.Folio, &a.Enabled)
	})
	out := make(map[string]wallet.Terms, len(ts))
	for _, a := range ts {
		out[a.WalletID] = a
	}
	return out, err
}

// Terms reads a wallet's auto-invest terms.
func (t Tx) Terms(ctx context.Context, walletID string) (wallet.Terms, bool, error) {
	a := wallet.Terms{WalletID: walletID}
	err := t.tx.QueryRow(ctx, `SELECT model_id, folio_no, enabled FROM autoinvest_terms WHERE wallet_id = $1`, walletID).Scan(&a.ModelID, &a.Folio, &a.Enabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// PutTerms upserts a wallet's terms.
func (t Tx) PutTerms(ctx context.Context, a wallet.Terms) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO autoinvest_terms (wallet_id, model_id, folio_no, enabled) VALUES ($1, $2, $3, $4)
		ON CONFLICT (wallet_id) DO UPDATE SET model_id = excluded.model_id, folio_no = excluded.folio_no, enabled = excluded.enabled, updated_at = now()`,
		a.WalletID, a.ModelID, a.Folio, a.Enabled)
	return err
}

// ModelAt reads the model's latest version effective on day, validated
// again (a stored body is never trusted blindly).
func (t Tx) ModelAt(ctx context.Context, id string, day fund.Date) (managed.Model, bool, error) {
	var body []byte
	err := t.tx.QueryRow(ctx, `SELECT body FROM managed_models WHERE id = $1 AND effective <= $2 ORDER BY effective DESC, version DESC LIMIT 1`,
		id, day.Time()).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return managed.Model{}, false, nil
	}
	if err != nil {
		return managed.Model{}, false, err
	}
	m, err := managed.ParseModel(body)
	return m, err == nil, err
}

// PutModel stores a model version (the same id and version again: refused
// unless identical, a version is never rewritten).
func (t Tx) PutModel(ctx context.Context, m managed.Model) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `INSERT INTO managed_models (id, version, profile, effective, body) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id, version) DO NOTHING`, m.ID, m.Version, m.Profile, m.Effective.Time(), string(body))
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	var same bool
	if err := t.tx.QueryRow(ctx, `SELECT body = $3::jsonb FROM managed_models WHERE id = $1 AND version = $2`, m.ID, m.Version, string(body)).Scan(&same); err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("model %s version %d exists with other content: make a new version", m.ID, m.Version)
	}
	return nil
}

// Reversed is the set of deposits with a reversal entry.
func (t Tx) Reversed(ctx context.Context, paymentIDs []string) (map[string]bool, error) {
	rows, err := t.tx.Query(ctx, `SELECT ref FROM wallet_transactions WHERE kind = 'reversal' AND ref = ANY($1)`, paymentIDs)
	if err != nil {
		return nil, err
	}
	refs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(refs))
	for _, r := range refs {
		out[r] = true
	}
	return out, nil
}

// Runs reads the runs there are of payments, locked for update, in one
// statement.
func (t Tx) Runs(ctx context.Context, paymentIDs []string) (map[string]wallet.Run, error) {
	rows, err := t.tx.Query(ctx, `SELECT payment_id, wallet_id, model_id, model_version, invested, leftover, split, requests, status
		FROM autoinvest_runs WHERE payment_id = ANY($1) ORDER BY payment_id FOR UPDATE`, paymentIDs)
	if err != nil {
		return nil, err
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (wallet.Run, error) {
		var r wallet.Run
		var inv, left decimal.Decimal
		var split, reqs []byte
		if err := row.Scan(&r.PaymentID, &r.WalletID, &r.ModelID, &r.ModelVersion, &inv, &left, &split, &reqs, &r.Status); err != nil {
			return r, err
		}
		var err error
		if r.Invested, err = fund.AmountFromDecimal(inv, fund.NoRounding); err != nil {
			return r, err
		}
		if r.Leftover, err = fund.AmountFromDecimal(left, fund.NoRounding); err != nil {
			return r, err
		}
		if err := json.Unmarshal(split, &r.Split); err != nil {
			return r, fmt.Errorf("run %s split: %w", r.PaymentID, err)
		}
		if err := json.Unmarshal(reqs, &r.Requests); err != nil {
			return r, fmt.Errorf("run %s requests: %w", r.PaymentID, err)
		}
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]wallet.Run, len(runs))
	for _, r := range runs {
		out[r.PaymentID] = r
	}
	return out, nil
}

// InsertRun stores a run.
func (t Tx) InsertRun(ctx context.Context, r wallet.Run) error {
	split, err := json.Marshal(r.Split)
	if err != nil {
		return err
	}
	if r.Requests == nil {
		r.Requests = []string{}
	}
	reqs, err := json.Marshal(r.Requests)
	if err != nil {
		return err
	}
	var placed any
	if r.Status == "placed" {
		placed = time.Now()
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO autoinvest_runs (payment_id, wallet_id, model_id, model_version, invested, leftover, split, requests, status, placed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, r.PaymentID, r.WalletID, r.ModelID, r.ModelVersion, r.Invested.Decimal(), r.Leftover.Decimal(),
		string(split), string(reqs), r.Status, placed)
	return err
}

// SetRunsPlaced finishes runs in one statement.
func (t Tx) SetRunsPlaced(ctx context.Context, paymentIDs []string) error {
	_, err := t.tx.Exec(ctx, `UPDATE autoinvest_runs SET status = 'placed', placed_at = now() WHERE payment_id = ANY($1)`, paymentIDs)
	return err
}

// LockFolioOwner takes the folio's owner lock (a transaction advisory
// lock): a pool's creation and a wallet's auto-invest terms check the
// folio is no one else's under it, so two of them can never both pass.
func LockFolioOwner(ctx context.Context, tx pgx.Tx, folio string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('folio_owner:' || $1, 0))`, folio)
	return err
}

// FolioPool is the pool whose folio this is, under the folio's owner lock.
func (t Tx) FolioPool(ctx context.Context, folio string) (string, bool, error) {
	if err := LockFolioOwner(ctx, t.tx, folio); err != nil {
		return "", false, err
	}
	var id string
	err := t.tx.QueryRow(ctx, `SELECT id FROM pools WHERE folio_no = $1 ORDER BY id LIMIT 1`, folio).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

// BreakInvest records why a deposit's auto-invest failed on its own
// (payment_breaks, reason autoinvest_failed; a resolved one of the same
// deposit is opened again with the new detail). The payment's match
// status stays: the deposit is credited, its money in the wallet.
func (t Tx) BreakInvest(ctx context.Context, paymentID, detail string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO payment_breaks (payment_id, order_id, reason, detail) VALUES ($1, '', $2, $3)
		ON CONFLICT (payment_id, reason) DO UPDATE SET detail = excluded.detail, resolved_at = NULL`, paymentID, wallet.BreakInvestFailed, detail)
	return err
}
