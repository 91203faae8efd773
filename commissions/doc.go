// Package commissions is the distributor-commission service (issue 18): it
// loads brokerage structures and the distributor hierarchy, accrues the
// daily trail and computes payouts, applying fund/commission's rules to what
// its Store (commissions/pgstore) reads and writes.
package commissions
