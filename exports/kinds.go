package exports

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/sinks/files"
)

// kind is one export: its columns, how many rows a period has (for the
// progress bar), and its rows.
type kind struct {
	name    string
	about   string
	columns []files.Column
	count   string // SQL with $1 = from, $2 = to (dates, inclusive)
	rows    string // SQL with $1 = from, $2 = to; columns in order
	// scan turns one result row into a file row.
	scan func(e *Exporter, rows pgx.Rows) ([]any, error)
}

func date(t time.Time) fund.Date { return fund.DateOf(t) }

func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func dec(d decimal.NullDecimal) any {
	if !d.Valid {
		return nil
	}
	return d.Decimal
}

var (
	amount = func(n string) files.Column { return files.Dec(n, 18, 2) }
	units  = func(n string) files.Column { return files.Dec(n, 24, 9) }
	navCol = func(n string) files.Column { return files.Dec(n, 18, 8) }
)

var transactionsKind = kind{
	name:  "transactions",
	about: "transaction register: every ledger transaction with a NAV date in the period",
	columns: []files.Column{
		files.Col("tx_id", files.Int64), files.Col("posted_at", files.Timestamp), files.Col("nav_date", files.Date),
		files.Col("folio_no", files.String), files.Col("investor_id", files.String), files.Col("scheme_code", files.String),
		files.Col("scheme_name", files.String), files.Col("kind", files.String), files.Col("order_id", files.String),
		files.Col("switch_id", files.String), files.Col("payment_id", files.String),
		navCol("nav"), units("units"), amount("amount"), amount("stamp_duty"), amount("exit_load"), amount("net_amount"),
	},
	count: `SELECT count(*) FROM ledger_transactions WHERE nav_date BETWEEN $1 AND $2`,
	rows: `SELECT t.id, t.posted_at, t.nav_date, t.folio_no, f.investor_id, t.scheme_code, coalesce(s.name, ''), t.kind, t.order_id,
			t.switch_id, t.payment_id, t.nav, t.units, t.amount, t.stamp_duty, t.exit_load, t.net_amount
		FROM ledger_transactions t JOIN folios f ON f.folio_no = t.folio_no LEFT JOIN schemes s ON s.code = t.scheme_code
		WHERE t.nav_date BETWEEN $1 AND $2 ORDER BY t.id`,
	scan: func(_ *Exporter, r pgx.Rows) ([]any, error) {
		var id int64
		var posted, navDate time.Time
		var folio, inv, scheme, name, k, order string
		var sw, pay *string
		var nav, u, amt, duty, load, net decimal.Decimal
		if err := r.Scan(&id, &posted, &navDate, &folio, &inv, &scheme, &name, &k, &order, &sw, &pay, &nav, &u, &amt, &duty, &load, &net); err != nil {
			return nil, err
		}
		return []any{id, posted, date(navDate), folio, inv, scheme, name, k, order, str(sw), str(pay), nav, u, amt, duty, load, net}, nil
	},
}

var auditKind = kind{
	name:  "audit",
	about: "audit trail: every audit_log row written in the period (UTC dates), with its hash chain",
	columns: []files.Column{
		files.Col("seq", files.Int64), files.Col("at", files.Timestamp), files.Col("entity", files.String),
		files.Col("entity_id", files.String), files.Col("action", files.String), files.Col("actor", files.String),
		files.Col("payload", files.String), files.Col("prev_hash", files.String), files.Col("hash", files.String),
	},
	count: `SELECT count(*) FROM audit_log WHERE at >= $1::date AT TIME ZONE 'UTC' AND at < ($2::date + 1) AT TIME ZONE 'UTC'`,
	rows: `SELECT seq, at, entity, entity_id, action, actor, payload::text, prev_hash, hash FROM audit_log
		WHERE at >= $1::date AT TIME ZONE 'UTC' AND at < ($2::date + 1) AT TIME ZONE 'UTC' ORDER BY seq`,
	scan: func(_ *Exporter, r pgx.Rows) ([]any, error) {
		var seq int64
		var at time.Time
		var entity, id, action, actor, payload, prev, hash string
		if err := r.Scan(&seq, &at, &entity, &id, &action, &actor, &payload, &prev, &hash); err != nil {
			return nil, err
		}
		return []any{seq, at, entity, id, action, actor, payload, prev, hash}, nil
	},
}

// positionsSQL is every folio's position per scheme as of $2: the lots
// acquired by then less what redemptions dated by then consumed; a lot's
// remaining cost is cost × remaining / units rounded to the paisa (half up,
// as Postgres rounds numerics), the rule of fund.LotCost that the ledger
// stores and readmodel's replay shows. Holdings are valued at the applied
// NAV, round(nav, 4): fund.AppliedNAV's rule (half up to 4 decimals; pinned
// by TestSQLAppliesTheNAVRule), never at the published value's extra digits.
const positionsSQL = `
WITH lots AS (
    SELECT l.id, l.folio_no, l.scheme_code, lt.units, lt.amount AS cost,
           lt.units - coalesce(sum(c.units) FILTER (WHERE ct.nav_date <= $2), 0) AS rem
    FROM holding_lots l
    JOIN ledger_transactions lt ON lt.id = l.ledger_tx_id
    LEFT JOIN lot_consumptions c ON c.lot_id = l.id
    LEFT JOIN ledger_transactions ct ON ct.id = c.ledger_tx_id
    WHERE l.nav_date <= $2
    GROUP BY l.id, l.folio_no, l.scheme_code, lt.units, lt.amount
), pos AS (
    SELECT folio_no, scheme_code, sum(rem) AS units,
           sum(CASE WHEN rem = units THEN cost WHEN rem = 0 THEN 0 ELSE round(cost * rem / units, 2) END) AS invested
    FROM lots GROUP BY folio_no, scheme_code HAVING sum(rem) > 0
), nav_on AS (
    SELECT DISTINCT ON (scheme_code) scheme_code, nav_date, round(nav, 4) AS nav FROM navs
    WHERE nav_date <= $2 AND scheme_code IN (SELECT DISTINCT scheme_code FROM pos)
    ORDER BY scheme_code, nav_date DESC
)`

var holdingsKind = kind{
	name:  "holdings",
	about: "holdings as of the period's last day: units, cost and value per folio and scheme (from is ignored)",
	columns: []files.Column{
		files.Col("as_of", files.Date), files.Col("folio_no", files.String), files.Col("investor_id", files.String),
		files.Col("scheme_code", files.String), files.Col("scheme_name", files.String), units("units"), amount("invested"),
		navCol("nav"), files.Col("nav_date", files.Date), amount("value"),
	},
	count: `SELECT count(*) FROM (SELECT DISTINCT folio_no, scheme_code FROM holding_lots WHERE nav_date <= $2 AND $1::date IS NOT NULL) x`,
	rows: positionsSQL + `
SELECT $2::date, p.folio_no, f.investor_id, p.scheme_code, coalesce(s.name, ''), p.units, p.invested, n.nav, n.nav_date,
       round(p.units * n.nav, 2)
FROM pos p JOIN folios f ON f.folio_no = p.folio_no LEFT JOIN schemes s ON s.code = p.scheme_code
LEFT JOIN nav_on n ON n.scheme_code = p.scheme_code
WHERE $1::date IS NOT NULL
ORDER BY p.folio_no, p.scheme_code`,
	scan: func(_ *Exporter, r pgx.Rows) ([]any, error) {
		var asOf time.Time
		var folio, inv, scheme, name string
		var u, invested decimal.Decimal
		var nav, value decimal.NullDecimal
		var navDate *time.Time
		if err := r.Scan(&asOf, &folio, &inv, &scheme, &name, &u, &invested, &nav, &navDate, &value); err != nil {
			return nil, err
		}
		var nd any
		if navDate != nil {
			nd = date(*navDate)
		}
		return []any{date(asOf), folio, inv, scheme, name, u, invested, dec(nav), nd, dec(value)}, nil
	},
}

var fatcaKind = kind{
	name: "fatca-crs",
	about: "FATCA/CRS-style account report: one row per folio (account) with the holder's name, address, tax id (PAN, " +
		"decrypted), country of tax residence, the balance at the period's end and the gross proceeds of redemptions " +
		"in the period; reportable = tax residence outside India; fatca_declaration = declared, or missing when the " +
		"holder has no FATCA/CRS self-declaration on file (never left out silently: the row is there, marked)",
	columns: []files.Column{
		files.Col("reporting_period_from", files.Date), files.Col("reporting_period_to", files.Date),
		files.Col("account_number", files.String), files.Col("investor_id", files.String), files.Col("name", files.String),
		files.Col("address", files.String), files.Col("tax_id", files.String), files.Col("tax_id_type", files.String),
		files.Col("tax_residence", files.String), files.Col("reportable", files.Bool), files.Col("currency", files.String),
		amount("account_balance"), amount("gross_proceeds"), files.Col("fatca_declaration", files.String),
	},
	count: `SELECT count(*) FROM folios WHERE $1::date <= $2::date`,
	rows: positionsSQL + `, bal AS (
    SELECT p.folio_no, sum(round(p.units * n.nav, 2)) AS balance
    FROM pos p JOIN nav_on n ON n.scheme_code = p.scheme_code GROUP BY p.folio_no
), proceeds AS (
    SELECT folio_no, sum(amount) AS gross FROM ledger_transactions
    WHERE kind IN ('redemption', 'switch_out') AND nav_date BETWEEN $1 AND $2 GROUP BY folio_no
)
SELECT $1::date, $2::date, f.folio_no, i.id, i.name, i.address, i.pan_enc, i.tax_country,
       coalesce(b.balance, 0), coalesce(g.gross, 0), coalesce(ip.fatca_declared, false)
FROM folios f JOIN investors i ON i.id = f.investor_id
LEFT JOIN investor_profiles ip ON ip.investor_id = i.id
LEFT JOIN bal b ON b.folio_no = f.folio_no LEFT JOIN proceeds g ON g.folio_no = f.folio_no
ORDER BY f.folio_no`,
	scan: func(e *Exporter, r pgx.Rows) ([]any, error) {
		var from, to time.Time
		var folio, id, name, addr, country string
		var pan []byte
		var bal, gross decimal.Decimal
		var declared bool
		if err := r.Scan(&from, &to, &folio, &id, &name, &addr, &pan, &country, &bal, &gross, &declared); err != nil {
			return nil, err
		}
		var tin any
		if pan != nil {
			if e.PII == nil {
				return nil, fmt.Errorf("the fatca-crs export needs the PII key to read tax ids (set FUNDFLOW_PII_KEY)")
			}
			v, err := e.PII.Open(id, "pan", pan)
			if err != nil {
				return nil, err
			}
			tin = v
		}
		// An investor made by an order alone, or onboarded without the
		// declaration, has none: the row says so (issue 23).
		decl := "missing"
		if declared {
			decl = "declared"
		}
		return []any{date(from), date(to), folio, id, name, addr, tin, "PAN", country, country != "IN", "INR", bal, gross, decl}, nil
	},
}

var kinds = []kind{transactionsKind, auditKind, holdingsKind, fatcaKind}

func findKind(name string) (kind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k, true
		}
	}
	return kind{}, false
}
