package kyc

// Bank account verification (penny drop) and the payouts it permits: the
// gateway's answer decides an account's verification, and the default
// account's verification decides whether the investor's payouts
// (redemptions, IDCW payouts, refunds) may go or are held, and why.

// Bank account verifications.
const (
	BankUnverified = "unverified" // no penny drop yet
	BankPending    = "pending"    // asked, no answer yet
	BankVerified   = "verified"
	BankFailed     = "failed"
)

// Public reasons of a payout held for the bank account.
const (
	ReasonBankUnverified   = "bank_unverified"          // no answer yet: the penny drop is asked or about to be
	ReasonBankFailed       = "bank_verification_failed" // the bank said no, or the name does not match
	ReasonNoBankAccount    = "no_bank_account"
	DefaultMinNameMatch    = 80 // the name-match score (0–100) an account needs to be verified
	bankReasonInvalid      = "invalid_account"
	bankReasonNameMismatch = "name_mismatch"
)

// BankVerdict decides an account's verification from the gateway's
// outcome: completed says whether the validation completed (a failed one
// could not reach the bank: failReason is its status_details.reason);
// valid whether the bank said the account is valid; score the name-match
// score (hasScore false: none given, which never verifies); min the score
// needed (0: DefaultMinNameMatch). It returns the verification and, when
// not verified, why.
func BankVerdict(completed bool, failReason string, valid bool, score int, hasScore bool, min int) (verification, reason string) {
	if min <= 0 {
		min = DefaultMinNameMatch
	}
	switch {
	case !completed:
		if failReason == "" {
			failReason = "validation_failed"
		}
		return BankFailed, failReason
	case !valid:
		return BankFailed, bankReasonInvalid
	case !hasScore || score < min:
		return BankFailed, bankReasonNameMismatch
	}
	return BankVerified, ""
}

// PayoutHold says whether an investor's payouts are held, given the
// verification of their default bank account ("" : no current default
// account), and the public reason.
func PayoutHold(defaultVerification string) (held bool, reason string) {
	switch defaultVerification {
	case BankVerified:
		return false, ""
	case "":
		return true, ReasonNoBankAccount
	case BankFailed:
		return true, ReasonBankFailed
	default:
		return true, ReasonBankUnverified
	}
}
