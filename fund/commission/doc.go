// Package commission holds the pure rules of distributor commissions: the
// effective-dated brokerage table (trail % a year by scheme and plan,
// optionally by AUM slab, upfronting and event amounts), the daily trail
// accrual, the distributor hierarchy and its share split, upfront clawback,
// and the monthly payout with GST and TDS under section 194H.
//
// Precision and rounding. A day's trail is AUM × rate / 365 with AUM = units
// × that day's NAV; it is kept exactly (an Accrual holds AUM × rate-% and is
// divided by 36,500 only when it becomes money), summed exactly over days,
// folios and the hierarchy, and rounded ONCE per payout line, half-up to the
// paisa. The split of a rounded line across a hierarchy uses the
// largest-remainder method so that the payees' lines add up to the line
// exactly. No I/O, no clocks: like package fund, everything is passed in.
package commission
