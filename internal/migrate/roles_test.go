package migrate_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/migrate"
	"github.com/fundflow/fundflow/internal/testkit"
)

// serve and run warn when connected as a role that could switch the audit
// triggers off (a superuser, or the trail's owner), and only then.
func TestWarnIfPrivileged(t *testing.T) {
	owner, ownerURL, app, appURL := testkit.PGApp(t)
	for _, c := range []struct {
		name string
		pool *pgxpool.Pool
		url  string
		warn bool
	}{
		{"schema owner (superuser)", owner, ownerURL, true},
		{"application role", app, appURL, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("FF_PRIV_TEST_PG_URL", c.url)
			var buf strings.Builder
			migrate.WarnIfPrivileged(testkit.Ctx(t), c.pool, "FF_PRIV_TEST_PG_URL", slog.New(slog.NewTextHandler(&buf, nil)))
			if got := strings.Contains(buf.String(), "could switch off the audit triggers"); got != c.warn {
				t.Fatalf("warned %v, want %v: %q", got, c.warn, buf.String())
			}
		})
	}
}
