// Package pgstore is the plans service's SQL (plans.Store) on PostgreSQL.
// Each file holds the statements of one use case of package plans.
package pgstore

import "github.com/jackc/pgx/v5/pgxpool"

// Store implements plans.Store.
type Store struct {
	Pool *pgxpool.Pool
}
