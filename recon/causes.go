package recon

import "github.com/fundflow/fundflow/fund"

// CauseRule is one probable-cause inference. A store applies the rules in
// the order of CauseRules; a later rule never overwrites a cause an earlier
// one set.
type CauseRule struct {
	Cause string // the fund.Cause* code the rule sets
	What  string // what it recognises, for errors and docs
}

// CauseRules are the cause inferences in the order they run. The
// holdings rule comes last: it takes over the causes the transaction rules
// found.
var CauseRules = []CauseRule{
	{fund.CauseRoundingStep, "units differ by at most one step of the scheme's last unit decimal"},
	{fund.CauseMerger, "a folio missing one scheme at the RTA and holding one unknown to us: the RTA moved its units"},
	{fund.CausePendingNAV, "the RTA has a transaction of an order of ours that still waits for its NAV or payment"},
	{fund.CauseAfterCutoff, "allotted on the date itself but not at the RTA, or a later NAV date at the RTA: a time stamp after the cut-off"},
	{fund.CauseStampDuty, "only the stamp duty differs"},
	{fund.CauseUnmatchedTxn, "a holding that differs by exactly the units of its folio's transaction breaks takes their one cause"},
}

// SelfClearing are the causes of timing differences that clear themselves
// (the next run normally no longer sees the break): a break with one is
// explained, every other one open.
var SelfClearing = []string{fund.CausePendingNAV, fund.CauseAfterCutoff}

// Waiting are the order statuses of an order that has not been allotted
// yet but will be: the RTA's transaction of it is a pending-NAV break.
var Waiting = []fund.OrderStatus{fund.PendingNAV, fund.AwaitingPayment, fund.AwaitingLeg}

// UnitsIn are the ledger transaction kinds that add units to a folio (the
// others take units out) with a TxKind, LedgerUnitsIn those without one (a
// merger's in leg), and NoUnits the kinds that move none: a failed switch's
// payout and an IDCW paid out (money only; the RTA's mailback of units has
// no row for either).
var (
	UnitsIn       = []fund.TxKind{fund.Purchase, fund.SIP, fund.SwitchIn, fund.IDCWReinvest}
	LedgerUnitsIn = []string{fund.KindMergerIn}
	NoUnits       = []string{fund.KindSwitchPayout, fund.KindIDCWPayout}
)
