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
	"github.com/fundflow/fundflow/tax"
)

// Store reads Postgres.
type Store struct{ Pool *pgxpool.Pool }

var _ tax.Store = (*Store)(nil)

// disposalsSQL: every consumption of the lots touched in the window, with
// the units each earlier consumption of the same lot took (a window over
// all of the lot's consumptions up to the end of the year, filtered to the
// year after, so a lot half-sold in an earlier year starts where it was).
// One investor: through folios_investor and ledger_transactions_folio; all:
// one pass, sorted by investor.
const disposalsSQL = `
WITH c AS (
    SELECT c.ledger_tx_id, c.lot_id, c.units, c.exit_load, t.kind, t.nav_date AS sold, t.nav,
           t.folio_no, t.scheme_code, f.investor_id,
           coalesce(sum(c.units) OVER (PARTITION BY c.lot_id ORDER BY c.ledger_tx_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS used_before
    FROM lot_consumptions c
    JOIN ledger_transactions t ON t.id = c.ledger_tx_id
    JOIN folios f ON f.folio_no = t.folio_no
    WHERE ($1 = '' OR f.investor_id = $1) AND t.nav_date <= $3
      AND t.kind IN ('redemption', 'switch_out')
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
WHERE c.sold >= $2
ORDER BY c.investor_id, c.folio_no, c.scheme_code, c.ledger_tx_id, l.nav_date, l.id`

// Disposals implements tax.Store, streaming the rows.
func (s *Store) Disposals(ctx context.Context, investor string, from, to fund.Date, fn func(tax.Disposal) error) error {
	rows, err := s.Pool.Query(ctx, disposalsSQL, investor, from.Time(), to.Time())
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
