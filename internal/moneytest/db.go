package moneytest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is a money test's database: fixtures written the way nav-ingest would
// have written them, and one-value queries. Writes go through Owner (a test
// may need rows the app role cannot write), reads through Read.
type DB struct {
	T           testing.TB
	Ctx         context.Context
	Owner, Read *pgxpool.Pool
}

// Exec runs q, failing the test on error.
func (db DB) Exec(q string, args ...any) {
	db.T.Helper()
	if _, err := db.Owner.Exec(db.Ctx, q, args...); err != nil {
		db.T.Fatalf("%s: %v", q, err)
	}
}

// Scheme adds a scheme to the master (what nav-ingest would have done).
func (db DB) Scheme(code, category string) {
	db.T.Helper()
	db.Exec(`INSERT INTO schemes (code, name, category, version, valid_from) VALUES ($1, $2, $3, 1, '2020-01-01')`, code, "Fund "+code, category)
}

// NAV publishes a NAV (as nav-ingest would).
func (db DB) NAV(code, date, nav string) {
	db.T.Helper()
	db.Exec(`INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ($1, $2, $3, nav_source('test', 'test'), 1)`,
		code, date, nav)
}

// Str is q's one text value.
func (db DB) Str(q string, args ...any) string {
	db.T.Helper()
	var s string
	if err := db.Read.QueryRow(db.Ctx, q, args...).Scan(&s); err != nil {
		db.T.Fatalf("%s: %v", q, err)
	}
	return s
}

// Num is q's one integer value.
func (db DB) Num(q string, args ...any) int {
	db.T.Helper()
	var n int
	if err := db.Read.QueryRow(db.Ctx, q, args...).Scan(&n); err != nil {
		db.T.Fatalf("%s: %v", q, err)
	}
	return n
}

// CheckStoredFlows checks wallet_transactions.flow (migration 067, review
// r36 M1) against the rule it replaced, read from the postings: per
// wallet, Σ stored flow equals Σ of the old per-row rule over the same
// rows; no kind that is not a flow has one; and, when allStored, every
// flow-kind row of a wallet has one (none was written around Post).
func (db DB) CheckStoredFlows(allStored bool) {
	db.T.Helper()
	const oldRule = `CASE WHEN kind IN ('deposit', 'withdrawal_cancel') THEN amount
		WHEN kind IN ('pool_contribution', 'pool_priced', 'pool_distribution') THEN -coalesce((SELECT sum(p.amount) FROM wallet_postings p
			WHERE p.tx_id = t.id AND p.account = 'wallet:' || t.wallet_id AND p.asset = 'INR'), 0)
		ELSE -amount END`
	const flowKinds = `kind IN ('deposit', 'withdrawal', 'reversal', 'withdrawal_cancel', 'pool_contribution', 'pool_priced', 'pool_distribution')`
	if n := db.Num(`SELECT count(*) FROM (SELECT wallet_id FROM wallet_transactions t WHERE flow IS NOT NULL AND ` + flowKinds + `
		GROUP BY wallet_id HAVING sum(flow) <> sum(` + oldRule + `)) x`); n != 0 {
		db.T.Errorf("stored flows: %d wallets whose Σ flow is not the postings' rule", n)
	}
	if n := db.Num(`SELECT count(*) FROM wallet_transactions WHERE flow IS NOT NULL AND (wallet_id IS NULL OR NOT ` + flowKinds + `)`); n != 0 {
		db.T.Errorf("stored flows: %d rows not a wallet's flow with one", n)
	}
	if n := db.Num(`SELECT count(*) FROM wallet_transactions WHERE flow IS NULL AND wallet_id IS NOT NULL AND ` + flowKinds); allStored && n != 0 {
		db.T.Errorf("stored flows: %d flow rows without one", n)
	}
}
