// Package managed holds the pure rules of managed investing (issue 22): the
// largest-remainder distribution of an amount to the paisa, a deposit split
// over a model portfolio's weights (each scheme's minimum and multiple, the
// leftover with its reason), drift from the model and a rebalance proposal,
// the daily AUM fee accrual with effective-dated rates, the performance fee
// over a high-water mark, and GST on fees. No I/O: the wallet, pool and fee
// services post what these functions compute through the ledger.
//
// Every rounding is named (fund.RoundingMode) and chosen for the party who
// must not lose: shares are floored and the paise left over go by largest
// remainder, so they sum exactly; fees are rounded DOWN, so a fee never
// exceeds its stated rate; GST is rounded HALF-UP, as a tax invoice is.
package managed
