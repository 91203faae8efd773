package investors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/fundflow/fundflow/connectors/razorpay"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/ledger"
)

// Bank account verification by penny drop (RazorpayX fund account
// validation, connectors/razorpay) and the payouts it permits.
//
// An investor's payouts go only to a verified default account. While it is
// not verified the investor has the ledger restriction of source bank
// (reason bank_unverified, bank_verification_failed or no_bank_account),
// which holds their redemptions with that reason; lifting it releases them.
// IDCW payouts and refunds are not order legs: they are held as payout
// holds (payout_holds: the folio's payout account balance, a refund due),
// raised with the restriction's reason and released when it is lifted, by
// each pass and each validation webhook (SyncPayoutHolds).
//
// Order of writes: a penny drop is recorded (status requested, the
// account pending) before the gateway is asked, under our reference id,
// which the webhook carries back: an answer lost in a crash still lands.
// The outcome is stored first, then the restriction reconciled; a replayed
// webhook stores nothing new and reconciles again (a no-op).

// Validator asks the gateway for a penny drop (*razorpay.Client).
type Validator interface {
	ValidateBankAccount(ctx context.Context, a razorpay.BankAccountToValidate) (razorpay.Validation, error)
}

var _ Validator = (*razorpay.Client)(nil)

// BankAccountRef is a current account waiting for its penny drop.
type BankAccountRef struct {
	InvestorID, AccountFP, IFSC, HolderName string
	AccountEnc                              []byte
}

// BankResult is a penny drop's outcome as stored.
type BankResult struct {
	Ref, GatewayID, EventID    string
	Status                     string // completed, failed
	AccountStatus, UTR, Reason string
	RegisteredNameEnc          []byte
	Score                      *int
	Verification, VerifyReason string // kyc.BankVerified / BankFailed and why
	At                         time.Time
}

// BankStore is what bank verification keeps in Postgres (investors/pgstore).
type BankStore interface {
	// AccountsToVerify lists current accounts never asked for (unverified),
	// and pending ones whose request got no gateway id before staleBefore
	// (the ask may have been lost), at most limit.
	AccountsToVerify(ctx context.Context, staleBefore time.Time, limit int) ([]BankAccountRef, error)
	// StartValidation records a penny drop asked under ref and marks the
	// account pending.
	StartValidation(ctx context.Context, ref string, a BankAccountRef, at time.Time) error
	// ValidationCreated records the gateway's id of the validation ref.
	ValidationCreated(ctx context.Context, ref, gatewayID string) error
	// FinishValidation stores an outcome and the account's verification in
	// one transaction; a ref already finished is left as it is (found true,
	// applied false). found false: no such ref.
	FinishValidation(ctx context.Context, r BankResult) (investorID string, found, applied bool, err error)
	// DefaultVerification reads the verification of each onboarded
	// investor's current default account ("" : none); ids nil: every
	// onboarded investor.
	DefaultVerification(ctx context.Context, ids []string) (map[string]string, error)
	// SourceRestrictions reads the investors' restrictions of source.
	SourceRestrictions(ctx context.Context, ids []string, source string) (map[string]ledger.Restriction, error)
	// SyncPayoutHolds releases the open payout holds of investors with no
	// bank restriction (or whose money is no longer due) and raises one
	// for each payout account balance and open refund due of an investor
	// with one (ids nil: every investor), in one transaction.
	SyncPayoutHolds(ctx context.Context, ids []string, at time.Time, by string) (raised, released int, err error)
}

// Banks verifies bank accounts and keeps the bank restrictions in line.
type Banks struct {
	Store   BankStore
	Ledger  Restrictor
	Gateway Validator // nil: no penny drop is asked (RequestPending does nothing)
	PII     *pii.Sealer
	// SourceAccount is the platform's RazorpayX account the rupee leaves from.
	SourceAccount string
	// MinNameMatch is the name-match score an account needs; 0: 80.
	MinNameMatch int
	Now          func() time.Time
	Log          *slog.Logger
}

// BankBy is who bank verification's changes are recorded as made by.
const BankBy = "bank-verification"

func (b *Banks) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Banks) log() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.Default()
}

// reference is our id of one penny drop: of the account and the moment it
// was asked (a re-verification after a failure is a new one), 40
// characters at most as the gateway wants.
func reference(a BankAccountRef, at time.Time) string {
	sum := sha256.Sum256([]byte(a.InvestorID + "|" + a.AccountFP + "|" + at.UTC().Format(time.RFC3339Nano)))
	return "bv_" + hex.EncodeToString(sum[:16])
}

// RequestPending asks a penny drop for every account waiting for one (at
// most limit). A gateway that refuses one is logged and the rest go on; a
// transient failure stops the pass (the account stays pending and is asked
// again after staleAfter). It returns how many were asked.
func (b *Banks) RequestPending(ctx context.Context, staleAfter time.Duration, limit int) (int, error) {
	if b.Gateway == nil {
		return 0, nil
	}
	now := b.now().UTC()
	accts, err := b.Store.AccountsToVerify(ctx, now.Add(-staleAfter), limit)
	if err != nil {
		return 0, fmt.Errorf("bank verification: accounts: %w", err)
	}
	n := 0
	for _, a := range accts {
		number, err := b.PII.Open(a.InvestorID, "bank_account", a.AccountEnc)
		if err != nil {
			return n, fmt.Errorf("bank verification: account of %s: %w", a.InvestorID, err)
		}
		ref := reference(a, now)
		if err := b.Store.StartValidation(ctx, ref, a, now); err != nil {
			return n, fmt.Errorf("bank verification %s: %w", ref, err)
		}
		v, err := b.Gateway.ValidateBankAccount(ctx, razorpay.BankAccountToValidate{SourceAccount: b.SourceAccount, ReferenceID: ref,
			Name: a.HolderName, IFSC: a.IFSC, AccountNumber: number, ContactName: a.HolderName, ContactRef: a.InvestorID,
			Notes: map[string]string{"investor_id": a.InvestorID}})
		if err != nil {
			if _, refused := err.(*razorpay.RefusedError); refused {
				b.log().Warn("penny drop refused", "investor", a.InvestorID, "ref", ref, "err", err)
				continue
			}
			return n, fmt.Errorf("bank verification %s: %w", ref, err)
		}
		if err := b.Store.ValidationCreated(ctx, ref, v.ID); err != nil {
			return n, fmt.Errorf("bank verification %s: %w", ref, err)
		}
		n++
	}
	return n, nil
}

// BankOutcome is what one pass did.
type BankOutcome struct {
	Asked           int `json:"penny_drops_asked"`
	Restricted      int `json:"bank_restrictions_changed"`
	PayoutsHeld     int `json:"payout_holds_raised"`
	PayoutsReleased int `json:"payout_holds_released"`
}

// Pass asks the waiting penny drops (at most limit; a request with no
// gateway id after staleAfter is asked again), then reconciles every
// onboarded investor's bank restriction and the payout holds.
func (b *Banks) Pass(ctx context.Context, staleAfter time.Duration, limit int) (BankOutcome, error) {
	var out BankOutcome
	var err error
	if out.Asked, err = b.RequestPending(ctx, staleAfter, limit); err != nil {
		return out, err
	}
	if out.Restricted, err = b.Reconcile(ctx, nil); err != nil {
		return out, err
	}
	out.PayoutsHeld, out.PayoutsReleased, err = b.SyncPayouts(ctx, nil)
	return out, err
}

// SyncPayouts makes the investors' payout holds follow their bank
// restrictions (ids nil: every investor): see BankStore.SyncPayoutHolds.
func (b *Banks) SyncPayouts(ctx context.Context, ids []string) (raised, released int, err error) {
	raised, released, err = b.Store.SyncPayoutHolds(ctx, ids, b.now().UTC(), BankBy)
	if err != nil {
		return 0, 0, fmt.Errorf("payout holds: %w", err)
	}
	if raised+released > 0 {
		b.log().Info("payout holds", "raised", raised, "released", released)
	}
	return raised, released, nil
}

// Apply stores a validation webhook's outcome (eventID: its
// X-Razorpay-Event-Id) and reconciles the investor's bank restriction. An
// unknown reference id is an error (ErrUnknownValidation): the caller
// answers the gateway 2xx anyway and keeps it for a person.
func (b *Banks) Apply(ctx context.Context, eventID string, ev razorpay.ValidationEvent) error {
	v := ev.Validation
	score, hasScore := v.Score()
	verif, why := kyc.BankVerdict(v.Status == razorpay.ValidationCompleted, v.StatusDetails.Reason, v.AccountValid(), score, hasScore, b.MinNameMatch)
	r := BankResult{Ref: v.ReferenceID, GatewayID: v.ID, EventID: eventID, Status: v.Status, AccountStatus: v.Results.AccountStatus,
		UTR: v.UTR, Reason: v.StatusDetails.Reason, Verification: verif, VerifyReason: why, At: b.now().UTC()}
	if r.AccountStatus == "" && v.Legacy != nil {
		r.AccountStatus = v.Legacy.AccountStatus
	}
	if hasScore {
		r.Score = &score
	}
	inv, found, applied, err := b.lookupAndFinish(ctx, r, v.RegisteredName())
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: reference %s (%s)", ErrUnknownValidation, v.ReferenceID, v.ID)
	}
	if applied {
		b.log().Info("bank account verification", "investor", inv, "ref", r.Ref, "verification", verif, "reason", why, "score", r.Score)
	}
	if _, err := b.Reconcile(ctx, []string{inv}); err != nil {
		return err
	}
	_, _, err = b.SyncPayouts(ctx, []string{inv})
	return err
}

// ErrUnknownValidation says a validation webhook names no penny drop we
// asked for.
var ErrUnknownValidation = fmt.Errorf("bank verification: unknown validation")

func (b *Banks) lookupAndFinish(ctx context.Context, r BankResult, registered string) (string, bool, bool, error) {
	if registered != "" {
		// Sealed under the reference: the investor is only known once the
		// row is found, and the name is the bank's, not the record's.
		enc, err := b.PII.Seal(r.Ref, "bank_registered_name", registered)
		if err != nil {
			return "", false, false, err
		}
		r.RegisteredNameEnc = enc
	}
	inv, found, applied, err := b.Store.FinishValidation(ctx, r)
	if err != nil {
		return "", false, false, fmt.Errorf("bank verification %s: %w", r.Ref, err)
	}
	return inv, found, applied, nil
}

// Reconcile makes each investor's bank restriction what their default
// account's verification says (ids nil: every onboarded investor). It
// returns how many restrictions it changed.
func (b *Banks) Reconcile(ctx context.Context, ids []string) (int, error) {
	verif, err := b.Store.DefaultVerification(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("bank restrictions: %w", err)
	}
	if ids == nil {
		for id := range verif {
			ids = append(ids, id)
		}
	}
	cur, err := b.Store.SourceRestrictions(ctx, ids, ledger.HoldBank)
	if err != nil {
		return 0, fmt.Errorf("bank restrictions: %w", err)
	}
	n := 0
	for _, id := range ids {
		v, onboarded := verif[id]
		if !onboarded {
			continue // an investor made by an order alone: nothing on file to verify
		}
		held, reason := kyc.PayoutHold(v)
		if v == "" {
			v = "missing"
		}
		c, has := cur[id]
		switch {
		case !held && has:
			if _, err := b.Ledger.LiftRestriction(ctx, id, ledger.HoldBank, BankBy); err != nil {
				return n, fmt.Errorf("bank restriction of %s: %w", id, err)
			}
			n++
		case held && (!has || c.Reason != reason):
			err := b.Ledger.SetRestriction(ctx, ledger.Restriction{InvestorID: id, Source: ledger.HoldBank, Reason: reason,
				Detail: "default bank account " + v + ": payouts wait for a verified account", BlocksRedemption: true, By: BankBy})
			if err != nil {
				return n, fmt.Errorf("bank restriction of %s: %w", id, err)
			}
			n++
		}
	}
	return n, nil
}
