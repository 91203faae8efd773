package fund

import "github.com/shopspring/decimal"

// BreakType is what kind of difference a reconciliation break is.
type BreakType string

// The break types.
const (
	MissingInLedger BreakType = "missing_in_ledger" // the RTA has it, our ledger does not
	MissingAtRTA    BreakType = "missing_at_rta"    // our ledger has it, the RTA does not
	UnitsMismatch   BreakType = "units_mismatch"    // both have it, with different units
	AmountMismatch  BreakType = "amount_mismatch"   // a transaction's amount or stamp duty differs (or the payment's)
	NAVDateMismatch BreakType = "nav_date_mismatch" // a transaction got another NAV date at the RTA
	Duplicate       BreakType = "duplicate"         // the RTA reports the same holding or transaction twice
)

// BreakTypes lists every type, in report order.
var BreakTypes = []BreakType{MissingInLedger, MissingAtRTA, UnitsMismatch, AmountMismatch, NAVDateMismatch, Duplicate}

// Probable causes a reconciliation can infer for a break.
const (
	CausePendingNAV   = "pending_nav"           // the order is ours but still waits for its NAV (or its payment)
	CauseRoundingStep = "rounding_step"         // units differ by one step of the last decimal
	CauseMerger       = "merger"                // the RTA reports the folio's units under another scheme code
	CauseAfterCutoff  = "after_cutoff"          // the RTA applied the next NAV date: a time stamp after the cut-off
	CauseStampDuty    = "stamp_duty"            // only the stamp duty differs
	CauseUnmatchedTxn = "unmatched_transaction" // a holding differs by exactly the units of transactions that are breaks themselves
	CauseUnknownCode  = "unknown_product"       // the RTA's scheme code is not in rta_schemes
)

// Causes lists every cause code.
var Causes = []string{CausePendingNAV, CauseRoundingStep, CauseMerger, CauseAfterCutoff, CauseStampDuty, CauseUnmatchedTxn, CauseUnknownCode}

// BreakStatuses lists every break status.
var BreakStatuses = []string{BreakOpen, BreakExplained, BreakResolved}

// Break statuses.
const (
	BreakOpen      = "open"
	BreakExplained = "explained"
	BreakResolved  = "resolved"
)

// Break is one difference between the RTA's books and our ledger, as
// recon_breaks keeps it.
type Break struct {
	ID          int64
	Key         string // stable identity: the same difference seen on another day has the same key
	Scope       string // "holding" or "transaction"
	Type        BreakType
	RTA         string
	Folio       string
	SchemeCode  string // ours; empty when the RTA's code is not mapped
	ProductCode string // the RTA's
	OrderID     string // our order (leg) id, for transactions
	RTATxnNo    string
	LedgerTxID  int64 // 0 when none

	RTAUnits, LedgerUnits, UnitsDiff decimal.NullDecimal
	RTAAmount, LedgerAmount          decimal.NullDecimal
	PaymentAmount                    decimal.NullDecimal
	RTAStampDuty, LedgerStampDuty    decimal.NullDecimal
	RTANAVDate, LedgerNAVDate        Date // zero when not applicable

	RTAFile, RTAFileSHA256 string
	RTALine                int

	Cause     string
	Detail    string
	Status    string
	FirstSeen Date
	LastSeen  Date
	Resolved  Date
}

// AgeDays is how many days the break has been open on date d.
func (b Break) AgeDays(d Date) int { return d.DaysSince(b.FirstSeen) }
