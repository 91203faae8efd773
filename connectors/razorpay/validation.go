package razorpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fundflow/fundflow/pipelines"
)

// Bank account verification by penny drop: RazorpayX's composite fund
// account validation (API reference, "Account Validation Composite →
// Validate a Bank Account", and "Webhooks → Account Validation"):
//
//   - POST /v1/fund_accounts/validations {source_account_number (the
//     platform's RazorpayX account the rupee leaves from), validation_type
//     "pennydrop", reference_id (ours: the idempotency key the webhook
//     carries back), notes, fund_account {account_type "bank_account",
//     bank_account {name, ifsc, account_number}, contact {name, email,
//     contact, type "customer", reference_id}}} → the fund_account.validation
//     entity {id "fav_…", status created|completed|failed,
//     validation_results {account_status valid|invalid, registered_name,
//     details, name_match_score (0–100)}, status_details {description,
//     source, reason}, reference_id, utr, fund_account {…}}.
//   - The outcome arrives as fund_account.validation.completed or
//     fund_account.validation.failed, signed like every Razorpay webhook
//     (HMAC-SHA256 of the raw body, hex, X-Razorpay-Signature), with the
//     entity under payload["fund_account.validation"].entity. The older,
//     non-composite entity says results {account_status active|invalid,
//     registered_name} instead of validation_results: both are read.

// Validation statuses and account statuses.
const (
	ValidationCreated   = "created"
	ValidationCompleted = "completed"
	ValidationFailed    = "failed"

	EventValidationCompleted = "fund_account.validation.completed"
	EventValidationFailed    = "fund_account.validation.failed"
)

// BankAccountToValidate is what a penny drop is asked for.
type BankAccountToValidate struct {
	SourceAccount string // the platform's RazorpayX account number
	ReferenceID   string // ours; comes back in the webhook (≤ 40 characters)
	Name          string // the account holder's name as the investor gave it
	IFSC          string
	AccountNumber string
	ContactName   string
	ContactRef    string // the investor id
	Notes         map[string]string
}

// Validation is the fund_account.validation entity (the fields read).
type Validation struct {
	ID          string            `json:"id"`
	Entity      string            `json:"entity"`
	Status      string            `json:"status"`
	ReferenceID string            `json:"reference_id"`
	UTR         string            `json:"utr"`
	Notes       map[string]string `json:"notes"`
	Results     ValidationResults `json:"validation_results"`
	Legacy      *struct {
		AccountStatus  string `json:"account_status"`
		RegisteredName string `json:"registered_name"`
	} `json:"results"`
	StatusDetails struct {
		Description string `json:"description"`
		Source      string `json:"source"`
		Reason      string `json:"reason"`
	} `json:"status_details"`
	FundAccount struct {
		ID          string `json:"id"`
		BankAccount struct {
			IFSC          string `json:"ifsc"`
			AccountNumber string `json:"account_number"`
		} `json:"bank_account"`
	} `json:"fund_account"`
	CreatedAt int64 `json:"created_at"`
}

// ValidationResults is validation_results. NameMatchScore is a number in
// the reference's sample and a string in its field list: both are read.
type ValidationResults struct {
	AccountStatus  string      `json:"account_status"`
	RegisteredName string      `json:"registered_name"`
	Details        string      `json:"details"`
	NameMatchScore json.Number `json:"name_match_score"`
}

// AccountValid says whether the bank said the account exists and takes
// credits: "valid" (composite) or "active" (the older entity).
func (v Validation) AccountValid() bool {
	s := v.Results.AccountStatus
	if s == "" && v.Legacy != nil {
		s = v.Legacy.AccountStatus
	}
	return v.Status == ValidationCompleted && (s == "valid" || s == "active")
}

// RegisteredName is the name the bank has on the account.
func (v Validation) RegisteredName() string {
	if v.Results.RegisteredName == "" && v.Legacy != nil {
		return v.Legacy.RegisteredName
	}
	return v.Results.RegisteredName
}

// Score is the name-match score, 0–100; ok false when the gateway gave none.
func (v Validation) Score() (int, bool) {
	s := strings.TrimSpace(v.Results.NameMatchScore.String())
	if s == "" {
		return 0, false
	}
	n, err := json.Number(s).Float64() // an integer 0–100 on the wire; a stray "87.0" is read too
	if err != nil || n < 0 || n > 100 {
		return 0, false
	}
	return int(n), true
}

// ValidateBankAccount asks for a penny drop. The answer is the entity as
// created (status created); its outcome comes by webhook.
func (c *Client) ValidateBankAccount(ctx context.Context, a BankAccountToValidate) (Validation, error) {
	switch {
	case a.ReferenceID == "" || len(a.ReferenceID) > MaxKey:
		return Validation{}, &RefusedError{Code: "BAD_REQUEST_ERROR", Description: fmt.Sprintf("reference id %q: want 1 to %d characters", a.ReferenceID, MaxKey)}
	case a.AccountNumber == "" || a.IFSC == "" || a.Name == "":
		return Validation{}, &RefusedError{Code: "BAD_REQUEST_ERROR", Description: "bank account, IFSC and name are required"}
	}
	body := map[string]any{
		"source_account_number": a.SourceAccount,
		"validation_type":       "pennydrop",
		"reference_id":          a.ReferenceID,
		"notes":                 a.Notes,
		"fund_account": map[string]any{
			"account_type": "bank_account",
			"bank_account": map[string]string{"name": a.Name, "ifsc": a.IFSC, "account_number": a.AccountNumber},
			"contact":      map[string]string{"name": a.ContactName, "type": "customer", "reference_id": a.ContactRef},
		},
	}
	var out Validation
	if err := c.do(ctx, http.MethodPost, "/v1/fund_accounts/validations", body, &out); err != nil {
		return Validation{}, err
	}
	if out.ID == "" {
		return Validation{}, pipelines.Transient(errors.New("razorpay: validation created without an id"))
	}
	return out, nil
}

// ValidationEvent is a fund_account.validation.* webhook.
type ValidationEvent struct {
	Event      string
	Validation Validation
	CreatedAt  int64
}

// ParseValidationEvent reads a fund_account.validation.* webhook body (its
// signature is checked before, on the raw bytes). Any other event, or one
// without the entity or its reference id, is an error naming what is
// wrong.
func ParseValidationEvent(body []byte) (ValidationEvent, error) {
	var env struct {
		Entity    string                     `json:"entity"`
		Event     string                     `json:"event"`
		Payload   map[string]json.RawMessage `json:"payload"`
		CreatedAt int64                      `json:"created_at"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ValidationEvent{}, fmt.Errorf("validation webhook: not JSON: %w", err)
	}
	if env.Event != EventValidationCompleted && env.Event != EventValidationFailed {
		return ValidationEvent{}, fmt.Errorf("validation webhook: event %q is not %s or %s", env.Event, EventValidationCompleted, EventValidationFailed)
	}
	raw, ok := env.Payload["fund_account.validation"]
	if !ok {
		return ValidationEvent{}, errors.New(`validation webhook: payload["fund_account.validation"] is missing`)
	}
	var wrap struct {
		Entity *Validation `json:"entity"`
	}
	if err := json.Unmarshal(raw, &wrap); err != nil || wrap.Entity == nil {
		return ValidationEvent{}, errors.New(`validation webhook: payload["fund_account.validation"].entity is missing or malformed`)
	}
	v := *wrap.Entity
	switch {
	case v.ID == "":
		return ValidationEvent{}, errors.New("validation webhook: entity.id is empty")
	case v.ReferenceID == "":
		return ValidationEvent{}, errors.New("validation webhook: entity.reference_id is empty")
	case env.Event == EventValidationCompleted && v.Status != ValidationCompleted:
		return ValidationEvent{}, fmt.Errorf("validation webhook: %s with entity.status %q", env.Event, v.Status)
	case env.Event == EventValidationFailed && v.Status != ValidationFailed:
		return ValidationEvent{}, fmt.Errorf("validation webhook: %s with entity.status %q", env.Event, v.Status)
	}
	return ValidationEvent{Event: env.Event, Validation: v, CreatedAt: env.CreatedAt}, nil
}
