package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Sealer seals PII for storage (internal/pii.Sealer is one): the ledger
// never holds a bank account number in clear.
type Sealer interface {
	Seal(owner, field, plaintext string) ([]byte, error)
}

// FieldBankAccount is the PII field name a mandate's account number is
// sealed under (owner: the mandate id).
const FieldBankAccount = "bank_account"

// Mandate is a mandate as stored (sql/postgres/015_mandates.sql).
type Mandate struct {
	ID, Gateway, InvestorID, CustomerID, Method string // InvestorID "": not linked
	Status                                      fund.MandateStatus
	MaxAmount                                   *fund.Amount // per debit; nil: not known
	StartsOn, ExpiresOn                         *fund.Date
	BankName, BankAccountMask, FailureReason    string
	BankAccountEnc                              []byte
	LastEventID                                 string
	LastEventAt                                 *time.Time
}

// Active reports whether a debit of amount may be presented on day: the
// mandate is confirmed, within its dates and its limit covers amount.
func (m Mandate) Active(amount fund.Amount, day fund.Date) bool {
	switch {
	case m.Status != fund.MandateConfirmed:
		return false
	case m.MaxAmount != nil && m.MaxAmount.Cmp(amount) < 0:
		return false
	case m.StartsOn != nil && day.Before(*m.StartsOn):
		return false
	case m.ExpiresOn != nil && day.After(*m.ExpiresOn):
		return false
	}
	return true
}

// MandateWrite is a mandate's row as a token event sets it.
type MandateWrite struct {
	ID, Gateway, CustomerID, InvestorID, Method string
	Status                                      fund.MandateStatus
	MaxAmount                                   *fund.Amount
	StartsOn, ExpiresOn                         *fund.Date
	BankName, BankAccountMask, FailureReason    string
	BankAccountEnc                              []byte // nil: keep what the row has
	LastEventID                                 string
	LastEventAt                                 time.Time
}

// Mandate reads mandate id (found false: none): for registration and the
// instalment presenter, which may also read the mandates table directly.
func (s *Service) Mandate(ctx context.Context, id string) (Mandate, bool, error) {
	m, ok, err := s.Store.Mandate(ctx, id)
	if err != nil {
		return Mandate{}, false, fmt.Errorf("mandate %s: %w", id, err)
	}
	return m, ok, nil
}

// Mandate linking. A mandate is a Razorpay token. The token.* webhooks
// carry no customer in Razorpay's documented samples, so a mandate learns
// its customer and investor from:
//   - the token entity's customer_id, when present, and its notes.investor_id
//     (the platform sets token.notes.investor_id on the registration order);
//   - any payment that names the token (the authorisation payment, then each
//     debit): its customer_id and notes.investor_id (LinkMandate).
// Each is filled in once, where the row has none. An investor id the
// investors table does not know leaves the mandate unlinked (investor_id
// NULL): the mandate is still stored, and that is not an error.

// applyMandate applies a token event: the mandate moves forward by the
// gateway's event time (fund.MandateStep), its limit, dates and bank
// account are refreshed, and its account number is sealed. The token's
// match key is held (lock order step 2), so the webhooks of one mandate
// serialise and mandate rows are never locked in two orders. It returns
// the inbox status and reason.
func (t *txn) applyMandate(m fund.MandateEvent, eventID string) (status, reason string, err error) {
	if m.EventAt.IsZero() {
		m.EventAt = t.svc.now()
	}
	if err := t.lockMatchKeys(m.TokenID); err != nil {
		return "", "", err
	}
	cur, found, err := t.db.MandateForUpdate(t.ctx, m.TokenID)
	if err != nil {
		return "", "", fmt.Errorf("mandate %s: %w", m.TokenID, err)
	}
	var curStatus fund.MandateStatus
	var curAt time.Time
	if found {
		curStatus = cur.Status
		if cur.LastEventAt != nil {
			curAt = *cur.LastEventAt
		}
	}
	if why := fund.MandateStep(curStatus, curAt, m.Status, m.EventAt); why != "" {
		return "ignored", fmt.Sprintf("%s: mandate %s is %s (event of %s), not moved to %s by an event of %s",
			why, m.TokenID, curStatus, curAt.UTC().Format(time.RFC3339), m.Status, m.EventAt.UTC().Format(time.RFC3339)), nil
	}
	w := MandateWrite{ID: m.TokenID, Gateway: m.Gateway, CustomerID: m.CustomerID, InvestorID: m.InvestorID, Method: m.Method,
		Status: m.Status, MaxAmount: m.MaxAmount, BankName: m.Bank, FailureReason: m.Failure,
		LastEventID: eventID, LastEventAt: m.EventAt}
	if !m.StartsAt.IsZero() {
		d := fund.DateOf(m.StartsAt.In(fund.IST()))
		w.StartsOn = &d
	}
	if !m.ExpiresAt.IsZero() {
		d := fund.DateOf(m.ExpiresAt.In(fund.IST()))
		w.ExpiresOn = &d
	}
	if m.AccountNumber != "" {
		w.BankAccountMask = fund.MaskTail(m.AccountNumber)
		if t.svc.Sealer != nil {
			if w.BankAccountEnc, err = t.svc.Sealer.Seal(m.TokenID, FieldBankAccount, m.AccountNumber); err != nil {
				return "", "", fmt.Errorf("mandate %s: seal the account number: %w", m.TokenID, err)
			}
		}
		// Without a sealer only the mask is kept: the number is never
		// stored in clear.
	}
	if err := t.db.PutMandate(t.ctx, w); err != nil {
		return "", "", fmt.Errorf("mandate %s: %w", m.TokenID, err)
	}
	t.audit("mandate", m.TokenID, string(m.Status), map[string]any{"event_id": eventID, "event": m.EventType,
		"status": m.Status, "previous": curStatus, "max_amount": w.MaxAmount, "failure_reason": m.Failure})
	return "applied", "", nil
}

// linkMandate tells the mandate a payment was made with its customer and
// investor (the caller holds the token's match key).
func (t *txn) linkMandate(p fund.PaymentEvent) error {
	if p.TokenID == "" {
		return nil
	}
	if err := t.db.LinkMandate(t.ctx, p.TokenID, p.Gateway, p.Method, p.CustomerID, p.NotesInvestorID); err != nil {
		return fmt.Errorf("link mandate %s: %w", p.TokenID, err)
	}
	return nil
}

// A set-based allotment batch (staged) never touches mandates.
func (unstaged) MandateForUpdate(context.Context, string) (Mandate, bool, error) {
	return Mandate{}, false, errUnstaged
}
func (unstaged) PutMandate(context.Context, MandateWrite) error { return errUnstaged }
func (unstaged) LinkMandate(context.Context, string, string, string, string, string) error {
	return errUnstaged
}
