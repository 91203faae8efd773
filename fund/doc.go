// Package fund is the domain of a mutual-fund platform: typed records
// (schemes, NAVs, orders, payments, holdings), exact money/NAV/unit
// arithmetic on shopspring/decimal, SEBI cut-off and NAV-applicability rules,
// stamp duty, the business-day calendar and XIRR.
//
// It is pure: no I/O, no clocks, no globals. Everything that varies (the
// holiday calendar, the current time) is passed in.
package fund
