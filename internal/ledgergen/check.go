package ledgergen

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// invariants are the ledger's rules, each a query that returns the first
// row breaking it (nothing when it holds). They are written against the
// tables, not against the generator, so they check any ledger.
var invariants = []struct{ name, sql string }{
	{"every transaction balances per asset", `
SELECT tx_id::text, asset, sum(amount)::text FROM ledger_postings GROUP BY tx_id, asset HAVING sum(amount) <> 0 LIMIT 1`},
	{"every transaction has postings", `
SELECT t.id::text, '', '' FROM ledger_transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.tx_id = t.id) LIMIT 1`},
	{"holdings = signed sum of the folio's allotments", `
SELECT h.folio_no, h.scheme_code, h.units::text || ' vs ' || coalesce(t.units, 0)::text
FROM holdings h FULL JOIN (
    SELECT folio_no, scheme_code, sum(CASE WHEN kind IN ('purchase', 'switch_in', 'idcw_reinvest', 'merger_in') THEN units ELSE -units END) AS units
    FROM ledger_transactions GROUP BY 1, 2) t USING (folio_no, scheme_code)
WHERE h.units IS DISTINCT FROM t.units LIMIT 1`},
	{"holdings = the open lots", `
SELECT h.folio_no, h.scheme_code, h.units::text || ' vs ' || coalesce(l.units, 0)::text
FROM holdings h LEFT JOIN (SELECT folio_no, scheme_code, sum(units_remaining) AS units FROM holding_lots GROUP BY 1, 2) l
    USING (folio_no, scheme_code)
WHERE h.units <> coalesce(l.units, 0) LIMIT 1`},
	{"holdings = the folio account's balance", `
SELECT h.folio_no, h.scheme_code, h.units::text || ' vs ' || coalesce(p.units, 0)::text
FROM holdings h LEFT JOIN (SELECT substr(account, 7) AS folio_no, substr(asset, 7) AS scheme_code, sum(amount) AS units
                           FROM ledger_postings WHERE account LIKE 'folio:%' AND asset LIKE 'UNITS:%' GROUP BY 1, 2) p
    USING (folio_no, scheme_code)
WHERE h.units <> coalesce(p.units, 0) LIMIT 1`},
	{"a lot's consumptions = what it lost", `
SELECT l.id::text, '', (l.units - l.units_remaining)::text || ' vs ' || coalesce(c.units, 0)::text
FROM holding_lots l LEFT JOIN (SELECT lot_id, sum(units) AS units FROM lot_consumptions GROUP BY 1) c ON c.lot_id = l.id
WHERE l.units - l.units_remaining <> coalesce(c.units, 0) LIMIT 1`},
	{"every ledger transaction is an allotted order's (a switch payout: a switch-in's that ended unallotted)", `
SELECT t.id::text, t.order_id, coalesce(o.status, 'no order') FROM ledger_transactions t LEFT JOIN orders o ON o.id = t.order_id
WHERE o.id IS NULL
   OR (t.kind <> 'switch_payout' AND (o.status <> 'allotted' OR o.ledger_tx_id <> t.id))
   OR (t.kind = 'switch_payout' AND (o.kind <> 'switch_in' OR o.status NOT IN ('rejected', 'cancelled'))) LIMIT 1`},
	{"every captured payment is allotted, refund-due (a break) or waiting", `
SELECT p.id, coalesce(p.order_id, ''), p.amount::text FROM payments p
WHERE p.status = 'captured' AND p.order_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = p.id AND t.amount = p.amount)
  AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = p.order_id AND o.status NOT IN ('allotted', 'rejected', 'cancelled')) LIMIT 1`},
	{"a switch's clearing account is zero once both legs ended", `
SELECT s.switch_id, '', (SELECT sum(amount) FROM ledger_postings WHERE account = 'switch:' || s.switch_id)::text
FROM (SELECT switch_id FROM orders WHERE switch_id IS NOT NULL GROUP BY switch_id
      HAVING bool_and(status IN ('allotted', 'rejected', 'cancelled'))) s
WHERE coalesce((SELECT sum(amount) FROM ledger_postings WHERE account = 'switch:' || s.switch_id), 0) <> 0 LIMIT 1`},
	{"no lot is consumed by a redemption priced before it", `
SELECT c.ledger_tx_id::text, c.lot_id::text, t.nav_date::text || ' < ' || l.nav_date::text FROM lot_consumptions c
JOIN holding_lots l ON l.id = c.lot_id JOIN ledger_transactions t ON t.id = c.ledger_tx_id
WHERE t.nav_date < l.nav_date LIMIT 1`},
	{"a lot's cost is the cost of what is left of it (fund.LotCost)", `
SELECT l.id::text, '', l.cost::text FROM holding_lots l JOIN ledger_transactions t ON t.id = l.ledger_tx_id
WHERE l.cost <> CASE WHEN l.units_remaining = l.units THEN t.amount WHEN l.units_remaining = 0 THEN 0
                     ELSE round(t.amount * l.units_remaining / l.units, 2) END LIMIT 1`},
	{"holdings' invested = the cost of their open lots", `
SELECT h.folio_no, h.scheme_code, h.invested::text FROM holdings h
WHERE h.invested <> (SELECT coalesce(sum(cost), 0) FROM holding_lots l
                     WHERE l.folio_no = h.folio_no AND l.scheme_code = h.scheme_code AND l.units_remaining > 0) LIMIT 1`},
	{"every purchase was paid, in full (a payment refunded after it is a break)", `
SELECT t.id::text, t.order_id, coalesce(p.amount::text, 'no payment') FROM ledger_transactions t LEFT JOIN payments p ON p.id = t.payment_id
WHERE t.kind = 'purchase' AND (p.id IS NULL OR p.amount <> t.amount OR p.order_id <> t.order_id
   OR (p.status <> 'captured' AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = p.id))) LIMIT 1`},
	{"folios, investors and orders exist", `
SELECT t.id::text, t.folio_no, '' FROM ledger_transactions t
WHERE NOT EXISTS (SELECT 1 FROM folios f JOIN investors i ON i.id = f.investor_id WHERE f.folio_no = t.folio_no)
   -- through orders: a switch's legs (X#out, X#in) are orders of the request X
   OR NOT EXISTS (SELECT 1 FROM orders o JOIN order_requests r ON r.id = o.request_id WHERE o.id = t.order_id) LIMIT 1`},
	{"units × NAV + stamp duty reconstructs a purchase within one unit step", `
SELECT id::text, order_id, (amount - stamp_duty - units * nav)::text FROM ledger_transactions
WHERE kind = 'purchase' AND (amount - stamp_duty - units * nav < 0 OR amount - stamp_duty - units * nav >= nav * 0.001) LIMIT 1`},
	{"every NAV date of a transaction has that NAV in navs (as applied: fund.AppliedNAV, round(nav, 4))", `
SELECT t.id::text, t.scheme_code, t.nav_date::text FROM ledger_transactions t
WHERE NOT EXISTS (SELECT 1 FROM navs n WHERE n.scheme_code = t.scheme_code AND n.nav_date = t.nav_date AND round(n.nav, 4) = t.nav) LIMIT 1`},
}

// serviceInvariants hold for a ledger the ledger service wrote (not for a
// generated one: it writes no outbox and no order that ended unallotted).
var serviceInvariants = []struct{ name, sql string }{
	{"no units are negative", `
SELECT folio_no, scheme_code, units::text FROM holdings WHERE units < 0
UNION ALL SELECT folio_no, scheme_code, units_remaining::text FROM holding_lots WHERE units_remaining < 0 LIMIT 1`},
	{"every allotted leg has exactly one ledger transaction", `
SELECT o.id, o.status, '' FROM orders o WHERE o.status = 'allotted'
AND (SELECT count(*) FROM ledger_transactions t WHERE t.order_id = o.id) <> 1 LIMIT 1`},
	{"a paid purchase that ended unallotted is refund-due (a break)", `
SELECT o.id, o.status, o.reason FROM orders o
WHERE o.kind = 'purchase' AND o.payment_id IS NOT NULL AND o.status IN ('rejected', 'cancelled') AND o.reason <> 'payment_refunded'
AND NOT EXISTS (SELECT 1 FROM payment_breaks b WHERE b.payment_id = o.payment_id AND b.reason IN ('rejected_after_payment', 'cancelled_after_payment')) LIMIT 1`},
	{"a redemption's lot consumptions add up to its units", `
SELECT t.id::text, t.order_id, t.units::text FROM ledger_transactions t WHERE t.kind IN ('redemption', 'switch_out')
AND t.units <> (SELECT coalesce(sum(units), 0) FROM lot_consumptions c WHERE c.ledger_tx_id = t.id) LIMIT 1`},
	{"every ledger transaction is announced on the outbox", `
SELECT t.id::text, t.order_id, '' FROM ledger_transactions t
WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE event_id = 'transactions.completed:' || t.order_id) LIMIT 1`},
}

// Check verifies the ledger's invariants in the database and returns an
// error naming the first one broken and the row that breaks it.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	return check(ctx, pool, invariants)
}

// CheckService is Check, the rules that hold for a ledger the ledger
// service wrote (every transaction announced, every allotted leg one
// transaction, nothing negative, paid orders that ended unallotted
// refund-due) and CheckShownCost; the money path's tests run it after each
// test.
func CheckService(ctx context.Context, pool *pgxpool.Pool) error {
	if err := check(ctx, pool, invariants); err != nil {
		return err
	}
	if err := check(ctx, pool, serviceInvariants); err != nil {
		return err
	}
	return CheckShownCost(ctx, pool)
}

func check(ctx context.Context, pool *pgxpool.Pool, invariants []struct{ name, sql string }) error {
	for _, inv := range invariants {
		var a, b, c string
		err := firstBreak(ctx, pool, inv.name, inv.sql, &a, &b, &c)
		if err == nil {
			return fmt.Errorf("ledger invariant %q broken: %s %s %s", inv.name, a, b, c)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("check %q: %w", inv.name, err)
		}
	}
	return nil
}

// hashJoined are the invariants that join a table with an aggregate of
// another: LIMIT 1 tempts the planner to run them as a nested loop over
// the aggregate (quadratic: 9 s at 20,000 legs, not done after 13 min at
// 100,000), so they run with nested loops off and hash joins keep them
// linear. Only these: the others' correlated subqueries need their index
// lookups (with nested loops off one scans 1.6 M order requests a row).
var hashJoined = map[string]bool{
	"holdings = the open lots":               true,
	"holdings = the folio account's balance": true,
	"a lot's consumptions = what it lost":    true,
}

// firstBreak runs an invariant's query, with nested loops off for the
// hashJoined ones.
func firstBreak(ctx context.Context, pool *pgxpool.Pool, name, sql string, dest ...any) error {
	if !hashJoined[name] {
		return pool.QueryRow(ctx, sql).Scan(dest...)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // read-only
	if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
		return err
	}
	return tx.QueryRow(ctx, sql).Scan(dest...)
}
