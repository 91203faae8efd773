// Package recon is the reconciliation use case: the RTAs' books (holdings
// and transaction feeds, staged by a pipeline) compared with our ledger as
// of a date, breaks with their probable causes and a lifecycle (open,
// explained, resolved), and the daily report. It defines the Store it needs
// (recon/pgstore implements it in SQL) and the cause rules that store
// applies; FolioRecon runs the whole job.
package recon

import (
	"context"
	"errors"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Options says what a reconciliation compares.
type Options struct {
	Date fund.Date // the as-of date: RTA holdings dated Date, transaction files reported on Date, our ledger as of Date
	// WindowFrom: transactions are compared from this NAV date on (a daily
	// transaction feed covers one day; a statement, the whole history).
	// Zero: all history.
	WindowFrom fund.Date
	// RetainDays: staged RTA rows of files dated more than this many days
	// before Date are deleted after the run. 0 keeps everything.
	RetainDays int
}

// Result is what one reconciliation run compared and found.
type Result struct {
	RunID              int64
	Date               fund.Date
	HoldingsRTAs       []string // RTAs whose holdings file for Date was loaded (and compared)
	TransactionsRTAs   []string // RTAs whose transaction file reported on Date was loaded
	RTAHoldings        int64
	LedgerHoldings     int64
	RTATransactions    int64
	LedgerTransactions int64
	Breaks             int64 // open or explained after the run
	NewBreaks          int64
	Resolved           int64
	UnmappedSchemes    []string   // schemes in our ledger with no RTA code: not reconciled
	KindMismatches     int64      // matched transactions booked as a SIP on one side, a purchase on the other
	KindNotes          []KindNote // the first 1000 of them
	Took               time.Duration
	Steps              []Step // where the time went
}

// KindNote is a matched transaction (same order, or same folio, scheme, NAV
// date and units) that one side books as a SIP instalment and the other as
// a plain purchase. It is a note, not a break: units, NAV date and money
// agree, so the folio's balance and the investor's money are right; what
// differs is the SIP bookkeeping (the RTA's SIP registration and instalment
// count, or our plan's link to the order), which a person fixes at the RTA
// or in the plan, not in the ledger. A break would keep the money
// difference lists of the report (and its daily reopening) busy with a
// label.
type KindNote struct {
	RTA, Folio, SchemeCode string
	OrderID, RTATxnNo      string
	RTAKind, LedgerKind    string // fund.TxKind codes: sip or purchase
}

// Step is the time one step of a reconciliation took.
type Step struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// ErrNoFeeds: no RTA file for the date has been loaded, so there is nothing
// to compare (and nothing may be resolved).
var ErrNoFeeds = errors.New("no RTA holdings or transaction file for the date has been loaded")

// ErrBehind: a date before the latest reconciled one was asked for.
var ErrBehind = errors.New("a later date has been reconciled already")

// Store is where the staged RTA rows, the ledger and the breaks live.
type Store interface {
	// Reconcile compares the RTAs' books as loaded for opt.Date with the
	// ledger as of that date in one transaction: it finds every break,
	// applies CauseRules in order, merges the breaks (a break seen again
	// keeps its first_seen, one no longer seen in the scopes compared is
	// resolved) and records the run. ErrNoFeeds, ErrBehind.
	Reconcile(ctx context.Context, opt Options) (Result, error)
	// LatestRTADate is the latest date an RTA holdings file has been
	// loaded for (else the latest report date of a transaction file).
	// ErrNoFeeds when nothing is loaded.
	LatestRTADate(ctx context.Context) (fund.Date, error)
	// EachBreak streams the breaks a run left (open and explained) and
	// those it resolved, ordered by type and key.
	EachBreak(ctx context.Context, runID int64, fn func(fund.Break) error) error
	// ExplainBreak marks a break explained by a person with their note; it
	// stays explained while it is seen again.
	ExplainBreak(ctx context.Context, id int64, by, note string) error
}
