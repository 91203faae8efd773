// Package pgstore is the tax service's Postgres store: it reads the
// ledger's lots and lot consumptions (sql/postgres/003, 008) and the NAVs.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	ftax "github.com/fundflow/fundflow/fund/tax"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/tax"
)

// Store reads Postgres.
type Store struct {
	Pool *pgxpool.Pool
	// A run over every investor: how many ranges are read at once
	// (0: DefaultWorkers) and how many investors a range holds (0:
	// DefaultRangeSize).
	Workers   int
	RangeSize int
}

var _ tax.Store = (*Store)(nil)

// disposalsSQL: every consumption of the lots touched in the window by the
// investors in [$1, $2], with the units each earlier consumption of the
// same lot took (a window over all of the lot's consumptions up to the end
// of the year, filtered to the year after, so a lot half-sold in an earlier
// year starts where it was). A lot's consumptions are all its folio's, so
// a range of investors holds every consumption of its lots.
//
// The folios come from folios_investor and each folio's transactions from
// ledger_transactions_folio (LATERAL: one index range per folio), so a
// range costs what it reads, whatever the population: the one query over
// every investor it replaces seq-scanned every transaction and sorted the
// whole year twice (on disk past work_mem).
const disposalsSQL = `
WITH c AS (
    SELECT c.ledger_tx_id, c.lot_id, c.units, c.exit_load, t.kind, t.nav_date AS sold, t.nav,
           t.folio_no, t.scheme_code, f.investor_id,
           coalesce(sum(c.units) OVER (PARTITION BY c.lot_id ORDER BY c.ledger_tx_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS used_before
    FROM folios f
    CROSS JOIN LATERAL (SELECT t.id, t.kind, t.nav_date, t.nav, t.folio_no, t.scheme_code FROM ledger_transactions t
                        WHERE t.folio_no = f.folio_no AND t.nav_date <= $4 AND t.kind IN ('redemption', 'switch_out')) t
    JOIN lot_consumptions c ON c.ledger_tx_id = t.id
    WHERE f.investor_id BETWEEN $1 AND $2
)
SELECT c.investor_id, c.folio_no, c.scheme_code, coalesce(s.name, ''), coalesce(s.isin_growth, ''),
       coalesce(s.category, ''), coalesce(st.units_scale, 3),
       c.ledger_tx_id, c.kind, c.sold, c.nav,
       c.lot_id, coalesce(l.acquired_on, l.nav_date), l.units, pt.amount, c.used_before, c.units, c.exit_load,
       l.fmv_2018, l.carried_from IS NOT NULL
FROM c
JOIN holding_lots l ON l.id = c.lot_id
JOIN ledger_transactions pt ON pt.id = l.ledger_tx_id
LEFT JOIN schemes s ON s.code = c.scheme_code
LEFT JOIN scheme_terms st ON st.scheme_code = c.scheme_code
WHERE c.sold >= $3
ORDER BY c.investor_id, c.folio_no, c.scheme_code, c.ledger_tx_id, l.nav_date, l.id`

// rangesSQL cuts the investors who hold a folio into ranges of $1 (first
// and last id of each, in the order disposalsSQL sorts them).
const rangesSQL = `
SELECT min(investor_id), max(investor_id)
FROM (SELECT investor_id, (row_number() OVER (ORDER BY investor_id) - 1) / $1 AS g
      FROM (SELECT DISTINCT investor_id FROM folios) d) x
GROUP BY g ORDER BY g`

// DefaultRangeSize is how many investors one query of a run over every
// investor reads: small enough that its sort stays in work_mem, large
// enough that the round trips do not count.
const DefaultRangeSize = 1000

// DefaultWorkers is how many ranges are read at once: Postgres does most
// of the work, one backend per range.
const DefaultWorkers = 2

// Disposals implements tax.Store. For every investor, it cuts the
// investors into ranges (RangeSize), reads Workers ranges at once and
// hands their rows to fn in order, one range after another: memory holds
// at most 2 × Workers ranges, whatever the population.
func (s *Store) Disposals(ctx context.Context, investor string, from, to fund.Date, fn func(tax.Disposal) error) error {
	if investor != "" {
		// one investor's statement (a request): its indexes, no
		// transaction and no plan setting to set first
		return scanDisposals(ctx, s.Pool, investor, investor, from, to, fn)
	}
	ranges, err := s.investorRanges(ctx)
	if err != nil {
		return err
	}
	workers := s.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	return inOrder(ctx, len(ranges), workers, func(ctx context.Context, i int) ([]tax.Disposal, error) {
		var out []tax.Disposal
		err := s.disposalsIn(ctx, ranges[i][0], ranges[i][1], from, to, func(d tax.Disposal) error {
			out = append(out, d)
			return nil
		})
		return out, err
	}, func(ds []tax.Disposal) error {
		for _, d := range ds {
			if err := fn(d); err != nil {
				return err
			}
		}
		return nil
	})
}

// investorRanges are the ranges of RangeSize investors, first and last id.
func (s *Store) investorRanges(ctx context.Context) ([][2]string, error) {
	size := s.RangeSize
	if size <= 0 {
		size = DefaultRangeSize
	}
	rows, err := s.Pool.Query(ctx, rangesSQL, size)
	if err != nil {
		return nil, fmt.Errorf("tax: investor ranges: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var x [2]string
		err := r.Scan(&x[0], &x[1])
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("tax: investor ranges: %w", err)
	}
	return out, nil
}

// disposalsIn streams the disposals of the investors in [lo, hi].
func (s *Store) disposalsIn(ctx context.Context, lo, hi string, from, to fund.Date, fn func(tax.Disposal) error) error {
	return pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// no parallel plan: a run over every investor reads ranges side by
		// side already, and a parallel plan of one range seq-scans folios
		// (every investor's) where folios_investor reads the range's
		if _, err := tx.Exec(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
			return fmt.Errorf("tax: disposals: %w", err)
		}
		return scanDisposals(ctx, tx, lo, hi, from, to, fn)
	})
}

func scanDisposals(ctx context.Context, tx interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, lo, hi string, from, to fund.Date, fn func(tax.Disposal) error) error {
	rows, err := tx.Query(ctx, disposalsSQL, lo, hi, from.Time(), to.Time())
	if err != nil {
		return fmt.Errorf("tax: disposals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d                                  tax.Disposal
			scale                              int16
			sold, bought                       time.Time
			nav, lotUnits, paid, before, units decimal.Decimal
			load                               decimal.Decimal
			fmv                                *decimal.Decimal
		)
		if err := rows.Scan(&d.InvestorID, &d.Folio, &d.Scheme, &d.SchemeName, &d.ISIN, &d.Category, &scale,
			&d.TxID, &d.Kind, &sold, &nav, &d.LotID, &bought, &lotUnits, &paid, &before, &units, &load, &fmv, &d.Carried); err != nil {
			return fmt.Errorf("tax: disposals: %w", err)
		}
		if fmv != nil {
			f, err := fund.NAVFromDecimal(*fmv, fund.NoRounding)
			if err != nil {
				return fmt.Errorf("tax: lot %d's FMV: %w", d.LotID, err)
			}
			d.FMV = &f
		}
		d.Sold, d.Bought, d.UnitsScale = fund.DateOf(sold), fund.DateOf(bought), int32(scale)
		if err := fill(&d, nav, lotUnits, paid, before, units, load); err != nil {
			return fmt.Errorf("tax: ledger transaction %d, lot %d: %w", d.TxID, d.LotID, err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tax: disposals: %w", err)
	}
	return nil
}

// fill converts the numeric columns: units at the scheme's scale and money
// at the paisa exactly (the ledger wrote them so; anything else is an
// error, not rounded away).
func fill(d *tax.Disposal, nav, lotUnits, paid, before, units, load decimal.Decimal) error {
	var err error
	if d.NAV, err = fund.NAVFromDecimal(nav, fund.NoRounding); err != nil {
		return err
	}
	sc := d.UnitsScale
	if d.LotUnits, err = fund.UnitsFromDecimal(lotUnits, sc, fund.NoRounding); err != nil {
		return err
	}
	if d.UsedBefore, err = fund.UnitsFromDecimal(before, sc, fund.NoRounding); err != nil {
		return err
	}
	if d.Units, err = fund.UnitsFromDecimal(units, sc, fund.NoRounding); err != nil {
		return err
	}
	if d.LotPaid, err = fund.AmountFromDecimal(paid, fund.NoRounding); err != nil {
		return err
	}
	d.ExitLoad, err = fund.AmountFromDecimal(load, fund.NoRounding)
	return err
}

// NAVOnOrBefore implements tax.Store.
func (s *Store) NAVOnOrBefore(ctx context.Context, scheme string, d fund.Date) (fund.NAV, fund.Date, bool, error) {
	var nav decimal.Decimal
	var on time.Time
	err := s.Pool.QueryRow(ctx, `SELECT nav, nav_date FROM navs WHERE scheme_code = $1 AND nav_date <= $2
ORDER BY nav_date DESC LIMIT 1`, scheme, d.Time()).Scan(&nav, &on)
	if errors.Is(err, pgx.ErrNoRows) {
		return fund.NAV{}, fund.Date{}, false, nil
	}
	if err != nil {
		return fund.NAV{}, fund.Date{}, false, fmt.Errorf("tax: NAV of %s on or before %s: %w", scheme, d, err)
	}
	// a published NAV may carry more than 4 decimals: the applied NAV rule
	n, err := fund.AppliedNAV(nav)
	if err != nil {
		return fund.NAV{}, fund.Date{}, false, err
	}
	return n, fund.DateOf(on), true, nil
}

// InvestorExists implements tax.Store.
func (s *Store) InvestorExists(ctx context.Context, investor string) (bool, error) {
	var ok bool
	if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM investors WHERE id = $1)`, investor).Scan(&ok); err != nil {
		return false, fmt.Errorf("tax: investor %s: %w", investor, err)
	}
	return ok, nil
}

// TypeOverrides implements tax.Store.
func (s *Store) TypeOverrides(ctx context.Context) ([]ftax.TypeOverride, error) {
	rows, err := s.Pool.Query(ctx, `SELECT scheme_code, effective_from, tax_type, reason FROM scheme_tax_types ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("tax: scheme tax types: %w", err)
	}
	defer rows.Close()
	var out []ftax.TypeOverride
	for rows.Next() {
		var o ftax.TypeOverride
		var from time.Time
		var ty string
		if err := rows.Scan(&o.Scheme, &from, &ty, &o.Reason); err != nil {
			return nil, err
		}
		o.From, o.Type = fund.DateOf(from), ftax.SchemeType(ty)
		out = append(out, o)
	}
	return out, rows.Err()
}

// SetTypeOverride implements tax.TypeStore: a new effective-dated row (the
// same row again is fine; another type or reason on the same date is
// refused: a change is a new row).
func (s *Store) SetTypeOverride(ctx context.Context, o ftax.TypeOverride, source string) (bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// scheme_tax_types has no foreign key to schemes: check here
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schemes WHERE code = $1)`, o.Scheme).Scan(&known); err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("%w: %q", tax.ErrUnknownScheme, o.Scheme)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO scheme_tax_types (scheme_code, effective_from, tax_type, reason, source) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, o.Scheme, o.From.Time(), string(o.Type), o.Reason, source)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var ty, reason string
			if err := tx.QueryRow(ctx, `SELECT tax_type, reason FROM scheme_tax_types WHERE scheme_code = $1 AND effective_from = $2`,
				o.Scheme, o.From.Time()).Scan(&ty, &reason); err != nil {
				return err
			}
			if ty != string(o.Type) || reason != o.Reason {
				return fmt.Errorf("%w: %s from %s is %s (%s)", tax.ErrTypeConflict, o.Scheme, o.From, ty, reason)
			}
			return nil
		}
		created = true
		return postgres.AppendAudits(ctx, tx, "", []postgres.AuditEntry{{Entity: "scheme_tax_type", ID: o.Scheme + ":" + o.From.String(),
			Action: "set", Payload: map[string]string{"tax_type": string(o.Type), "reason": o.Reason, "source": source}}})
	})
	if err != nil {
		return false, fmt.Errorf("tax: scheme tax type of %s: %w", o.Scheme, err)
	}
	return created, nil
}

// Contact implements tax.ContactStore.
func (s *Store) Contact(ctx context.Context, investor string) (string, string, error) {
	var name, address string
	err := s.Pool.QueryRow(ctx, `SELECT name, address FROM investors WHERE id = $1`, investor).Scan(&name, &address)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", "", fmt.Errorf("tax: investor %s: %w", investor, err)
	}
	return name, address, nil
}
