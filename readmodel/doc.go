// Package readmodel answers the read side's questions from the stores: a
// folio's ledger (Postgres) replayed to any date into holdings, cost and
// cash flows; NAVs on a date (Postgres) and NAV history (ClickHouse);
// transactions page by page; the lineage of a ledger transaction back to its
// order, payment webhook and NAV file line; and the rows of compliance
// exports. It writes nothing.
//
// The portfolio arithmetic is explicit about rounding: a lot's remaining
// cost is its cost × remaining units / units, to the paisa, half up; a
// value is units × NAV to the paisa, half up; an average cost is
// invested / units to 4 decimals, half up.
package readmodel
