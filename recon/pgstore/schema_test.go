package pgstore_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
)

// TestBreakTermsMatchSchema: the CHECK constraints of recon_breaks (written
// in a migration, which cannot change) allow exactly the break types and
// statuses fund defines.
func TestBreakTermsMatchSchema(t *testing.T) {
	pool, _ := testkit.PG(t)
	rows, err := pool.Query(testkit.Ctx(t), `SELECT pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = 'recon_breaks'::regclass AND contype = 'c'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	allowed := map[string][]string{} // column -> values its CHECK lists
	col := regexp.MustCompile(`^CHECK \(+(\w+) = ANY`)
	lit := regexp.MustCompile(`'([^']*)'::text`)
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			t.Fatal(err)
		}
		if m := col.FindStringSubmatch(def); m != nil {
			for _, v := range lit.FindAllStringSubmatch(def, -1) {
				allowed[m[1]] = append(allowed[m[1]], v[1])
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, b := range fund.BreakTypes {
		types = append(types, string(b))
	}
	for _, c := range []struct {
		column string
		want   []string
	}{{"type", types}, {"status", fund.BreakStatuses}} {
		got, want := append([]string{}, allowed[c.column]...), append([]string{}, c.want...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("recon_breaks.%s: the schema allows %v, fund defines %v", c.column, got, want)
		}
	}
}
