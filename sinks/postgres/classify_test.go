package postgres_test

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Classify: the SQLSTATEs a retry can cure are transient (53300, 53100,
// 53200, 57014 and 55P03 were not on the old code), those about the data
// are not. The codes are from the PostgreSQL manual's appendix A.
func TestClassifyTransientCodes(t *testing.T) {
	for code, want := range map[string]bool{
		"40001": true, "40P01": true, "08006": true, "57P01": true, "57P03": true,
		"53300": true, "53100": true, "53200": true, "57014": true, "55P03": true,
		"23505": false, "23514": false, "22003": false, "42P01": false, "P0001": false,
	} {
		err := postgres.Classify(fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code}))
		if got := pipelines.IsTransient(err); got != want {
			t.Errorf("%s transient %v, want %v", code, got, want)
		}
	}
}
