package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/ledger"
	"github.com/fundflow/fundflow/sinks/postgres"
)

const mandateCols = `id, gateway, coalesce(investor_id, ''), customer_id, method, status, max_amount, starts_on, expires_on,
	bank_name, bank_account_enc, bank_account_mask, failure_reason, last_event_id, last_event_at`

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readMandate(ctx context.Context, q rowQuerier, sql, id string) (ledger.Mandate, bool, error) {
	var m ledger.Mandate
	var status string
	var max *decimal.Decimal
	var starts, expires *time.Time
	err := q.QueryRow(ctx, sql, id).Scan(&m.ID, &m.Gateway, &m.InvestorID, &m.CustomerID, &m.Method, &status, &max,
		&starts, &expires, &m.BankName, &m.BankAccountEnc, &m.BankAccountMask, &m.FailureReason, &m.LastEventID, &m.LastEventAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return ledger.Mandate{}, false, nil
	}
	if err != nil {
		return ledger.Mandate{}, false, postgres.Classify(err)
	}
	m.Status = fund.MandateStatus(status)
	if max != nil {
		a, err := fund.AmountFromDecimal(*max, fund.NoRounding) // numeric(18,2): exact
		if err != nil {
			return ledger.Mandate{}, false, err
		}
		m.MaxAmount = &a
	}
	if starts != nil {
		d := fund.DateOf(*starts)
		m.StartsOn = &d
	}
	if expires != nil {
		d := fund.DateOf(*expires)
		m.ExpiresOn = &d
	}
	return m, true, nil
}

// Mandate reads a mandate.
func (s Store) Mandate(ctx context.Context, id string) (ledger.Mandate, bool, error) {
	return readMandate(ctx, s.Pool, `SELECT `+mandateCols+` FROM mandates WHERE id = $1`, id)
}

// MandateForUpdate reads a mandate locked for update.
func (t Tx) MandateForUpdate(ctx context.Context, id string) (ledger.Mandate, bool, error) {
	return readMandate(ctx, t.tx, `SELECT `+mandateCols+` FROM mandates WHERE id = $1 FOR UPDATE`, id)
}

func dateArg(d *fund.Date) any {
	if d == nil {
		return nil
	}
	return d.Time()
}

// PutMandate inserts a mandate or replaces its gateway-given columns; the
// empty ones keep what the row has, an unknown investor stays NULL.
func (t Tx) PutMandate(ctx context.Context, w ledger.MandateWrite) error {
	var max any
	if w.MaxAmount != nil {
		max = w.MaxAmount.Decimal()
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO mandates AS m (id, gateway, investor_id, customer_id, method, status, max_amount,
			starts_on, expires_on, bank_name, bank_account_enc, bank_account_mask, failure_reason, last_event_id, last_event_at)
		VALUES ($1, $2, (SELECT id FROM investors WHERE id = nullif($3::text, '')), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) DO UPDATE SET
			investor_id = coalesce(m.investor_id, excluded.investor_id),
			customer_id = CASE WHEN m.customer_id = '' THEN excluded.customer_id ELSE m.customer_id END,
			method = CASE WHEN excluded.method <> '' THEN excluded.method ELSE m.method END,
			status = excluded.status,
			max_amount = coalesce(excluded.max_amount, m.max_amount),
			starts_on = coalesce(excluded.starts_on, m.starts_on),
			expires_on = coalesce(excluded.expires_on, m.expires_on),
			bank_name = CASE WHEN excluded.bank_name <> '' THEN excluded.bank_name ELSE m.bank_name END,
			bank_account_enc = coalesce(excluded.bank_account_enc, m.bank_account_enc),
			bank_account_mask = CASE WHEN excluded.bank_account_mask <> '' THEN excluded.bank_account_mask ELSE m.bank_account_mask END,
			failure_reason = excluded.failure_reason,
			last_event_id = excluded.last_event_id, last_event_at = excluded.last_event_at,
			updated_at = now()`,
		w.ID, w.Gateway, w.InvestorID, w.CustomerID, w.Method, string(w.Status), max, dateArg(w.StartsOn), dateArg(w.ExpiresOn),
		w.BankName, w.BankAccountEnc, w.BankAccountMask, w.FailureReason, w.LastEventID, w.LastEventAt)
	return err
}

// LinkMandate fills in a mandate's customer and investor where it has none
// (creating the mandate, status created, when it is not known yet).
func (t Tx) LinkMandate(ctx context.Context, id, gateway, method, customerID, investorID string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO mandates AS m (id, gateway, investor_id, customer_id, method, status)
		VALUES ($1, $2, (SELECT id FROM investors WHERE id = nullif($3::text, '')), $4, $5, 'created')
		ON CONFLICT (id) DO UPDATE SET
			investor_id = coalesce(m.investor_id, excluded.investor_id),
			customer_id = CASE WHEN m.customer_id = '' THEN excluded.customer_id ELSE m.customer_id END,
			method = CASE WHEN m.method = '' THEN excluded.method ELSE m.method END,
			updated_at = now()
		WHERE (m.investor_id IS NULL AND excluded.investor_id IS NOT NULL) OR (m.customer_id = '' AND excluded.customer_id <> '')
			OR (m.method = '' AND excluded.method <> '')`,
		id, gateway, investorID, customerID, method)
	return err
}
