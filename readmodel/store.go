package readmodel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// ErrNotFound says the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// Store reads Postgres (state, ledger) and ClickHouse (history).
type Store struct {
	PG *pgxpool.Pool
	CH driver.Conn
}

// Investor is an investor's record; PAN and bank account stay sealed here
// (the caller opens them with internal/pii if its reader may see them).
type Investor struct {
	ID                string
	Name              string
	Email             string
	Address           string
	TaxCountry        string
	PANSealed         []byte // nil: not known
	BankAccountSealed []byte
}

// FolioOwner returns the investor id a folio belongs to.
func (s *Store) FolioOwner(ctx context.Context, folio string) (string, error) {
	var inv string
	err := s.PG.QueryRow(ctx, `SELECT investor_id FROM folios WHERE folio_no = $1`, folio).Scan(&inv)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("folio %s: %w", folio, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("folio %s: %w", folio, err)
	}
	return inv, nil
}

// Investor returns an investor by id.
func (s *Store) Investor(ctx context.Context, id string) (Investor, error) {
	v := Investor{ID: id}
	err := s.PG.QueryRow(ctx, `SELECT name, email, address, tax_country, pan_enc, bank_account_enc FROM investors WHERE id = $1`, id).
		Scan(&v.Name, &v.Email, &v.Address, &v.TaxCountry, &v.PANSealed, &v.BankAccountSealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, fmt.Errorf("investor %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("investor %s: %w", id, err)
	}
	return v, nil
}

// NAVPoint is one NAV of a scheme.
type NAVPoint struct {
	Date fund.Date       `json:"date"`
	NAV  decimal.Decimal `json:"nav"`
}

// NAVHistory returns a scheme's NAVs in [from, to] from ClickHouse, oldest
// first, and whether the scheme has any NAV at all.
func (s *Store) NAVHistory(ctx context.Context, code string, from, to fund.Date) ([]NAVPoint, bool, error) {
	rows, err := s.CH.Query(ctx, `SELECT nav_date, nav FROM nav_history FINAL
		WHERE scheme_code = ? AND nav_date >= toDate(?) AND nav_date <= toDate(?) ORDER BY nav_date`,
		code, from.Time(), to.Time())
	if err != nil {
		return nil, false, fmt.Errorf("nav history %s: %w", code, err)
	}
	defer rows.Close()
	var out []NAVPoint
	for rows.Next() {
		var d time.Time
		var p NAVPoint
		if err := rows.Scan(&d, &p.NAV); err != nil {
			return nil, false, fmt.Errorf("nav history %s: %w", code, err)
		}
		p.Date = fund.DateOf(d)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > 0 {
		return out, true, nil
	}
	var n uint64
	if err := s.CH.QueryRow(ctx, `SELECT count() FROM nav_history WHERE scheme_code = ?`, code).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("nav history %s: %w", code, err)
	}
	return nil, n > 0, nil
}

// SchemeNames returns the current names of schemes.
func (s *Store) SchemeNames(ctx context.Context, codes []string) (map[string]string, error) {
	out := make(map[string]string, len(codes))
	rows, err := s.PG.Query(ctx, `SELECT code, name FROM schemes WHERE code = ANY($1)`, codes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, n string
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = n
	}
	return out, rows.Err()
}

// applied is the NAV a published value stands for (fund.AppliedNAV, the
// rule allotment uses): every valuation in this package goes through it.
func applied(published decimal.Decimal) (decimal.Decimal, error) {
	n, err := fund.AppliedNAV(published)
	return n.Decimal(), err
}

// DatedNAV is a NAV and its date, with the file line it came from.
type DatedNAV struct {
	Date fund.Date
	NAV  decimal.Decimal
}

// NAVsOn returns, for each scheme, its NAV of the latest date on or before
// asOf (asOf nil: the newest NAV, from nav_latest). Schemes without one are
// absent.
func (s *Store) NAVsOn(ctx context.Context, codes []string, asOf *fund.Date) (map[string]DatedNAV, error) {
	var rows pgx.Rows
	var err error
	if asOf == nil {
		rows, err = s.PG.Query(ctx, `SELECT scheme_code, nav_date, nav FROM nav_latest WHERE scheme_code = ANY($1)`, codes)
	} else {
		rows, err = s.PG.Query(ctx, `SELECT c, n.nav_date, n.nav FROM unnest($1::text[]) c
			CROSS JOIN LATERAL (SELECT nav_date, nav FROM navs WHERE scheme_code = c AND nav_date <= $2
			                    ORDER BY nav_date DESC LIMIT 1) n`, codes, asOf.Time())
	}
	if err != nil {
		return nil, fmt.Errorf("navs: %w", err)
	}
	defer rows.Close()
	out := make(map[string]DatedNAV, len(codes))
	for rows.Next() {
		var c string
		var d time.Time
		var n DatedNAV
		if err := rows.Scan(&c, &d, &n.NAV); err != nil {
			return nil, err
		}
		if n.NAV, err = applied(n.NAV); err != nil {
			return nil, fmt.Errorf("nav of %s on %s: %w", c, fund.DateOf(d), err)
		}
		n.Date = fund.DateOf(d)
		out[c] = n
	}
	return out, rows.Err()
}

// NAVSeries returns each scheme's NAVs in [from, to] plus the last one
// before from, oldest first (the statement's chart).
func (s *Store) NAVSeries(ctx context.Context, codes []string, from, to fund.Date) (map[string][]NAVPoint, error) {
	rows, err := s.PG.Query(ctx, `
		SELECT scheme_code, nav_date, nav FROM navs WHERE scheme_code = ANY($1) AND nav_date BETWEEN $2 AND $3
		UNION ALL
		SELECT c, n.nav_date, n.nav FROM unnest($1::text[]) c
		CROSS JOIN LATERAL (SELECT nav_date, nav FROM navs WHERE scheme_code = c AND nav_date < $2 ORDER BY nav_date DESC LIMIT 1) n
		ORDER BY 1, 2`, codes, from.Time(), to.Time())
	if err != nil {
		return nil, fmt.Errorf("nav series: %w", err)
	}
	defer rows.Close()
	out := map[string][]NAVPoint{}
	for rows.Next() {
		var c string
		var d time.Time
		var p NAVPoint
		if err := rows.Scan(&c, &d, &p.NAV); err != nil {
			return nil, err
		}
		if p.NAV, err = applied(p.NAV); err != nil {
			return nil, fmt.Errorf("nav of %s on %s: %w", c, fund.DateOf(d), err)
		}
		p.Date = fund.DateOf(d)
		out[c] = append(out[c], p)
	}
	return out, rows.Err()
}
