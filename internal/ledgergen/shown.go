package ledgergen

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/readmodel"
)

// CheckShownCost verifies that what the platform shows as invested (the
// read model's replay of every folio, what the API and statements show) is
// what the ledger stores in holdings.
func CheckShownCost(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT folio_no, scheme_code, invested::text FROM holdings WHERE units > 0 ORDER BY 1, 2`)
	if err != nil {
		return fmt.Errorf("holdings: %w", err)
	}
	stored := map[[2]string]string{}
	var folios []string
	for rows.Next() {
		var f, s, inv string
		if err := rows.Scan(&f, &s, &inv); err != nil {
			rows.Close()
			return err
		}
		if len(folios) == 0 || folios[len(folios)-1] != f {
			folios = append(folios, f)
		}
		stored[[2]string{f, s}] = inv
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	store := &readmodel.Store{PG: pool}
	for _, f := range folios {
		l, err := store.LoadFolio(ctx, f)
		if err != nil {
			return fmt.Errorf("folio %s: %w", f, err)
		}
		for _, p := range l.PositionsAt(nil) {
			want, ok := stored[[2]string{f, p.Scheme}]
			if p.Units.Sign() > 0 && (!ok || !p.Invested.Equal(decimal.RequireFromString(want))) {
				return fmt.Errorf("folio %s %s: shown invested %s, stored %s", f, p.Scheme, p.Invested, want)
			}
		}
	}
	return nil
}
