package migrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/sinks/clickhouse"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// Apply is `fundflow migrate`: it applies the pending migrations to
// Postgres as the schema owner and to ClickHouse, then grants the
// application's role afresh (GrantApp). When one role does both it warns
// instead: that role could switch off the audit triggers.
func Apply(ctx context.Context, svc config.Services, log *slog.Logger) error {
	ownerURL, appURL, err := URLs(svc)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	ch, err := clickhouse.Connect(ctx, os.Getenv(svc.ClickHouseURLEnv))
	if err != nil {
		return err
	}
	defer ch.Close()
	pgDone, err := Postgres(ctx, pool, log)
	if err != nil {
		return err
	}
	// Granted before ClickHouse's migrations: a Postgres migration that
	// rebuilt a table (069) took its grants, and a ClickHouse failure
	// must not leave the application without them.
	owner, app := User(ownerURL), User(appURL)
	if owner == app {
		log.Warn("the application connects as the schema owner: it could switch off the audit triggers; point "+
			svc.PostgresMigrateURLEnv+" at the owner and "+svc.PostgresURLEnv+" at a role that owns nothing (scripts/services.sh does)",
			"role", app)
	} else {
		if err := GrantApp(ctx, pool, app); err != nil {
			return err
		}
		log.Info("application role granted", "role", app, "owner", owner)
	}
	chDone, err := ClickHouse(ctx, ch, log)
	if err != nil {
		return err
	}
	log.Info("migrations up to date", "postgres_applied", len(pgDone), "clickhouse_applied", len(chDone))
	return nil
}

// ErrURLs marks URLs' errors: the environment names two databases, or a URL
// that does not parse (a usage error, not a failure).
var ErrURLs = errors.New("postgres URLs")

// URLs returns the schema owner's URL (for migrate and the bulk
// generators) and the application's. The owner's comes from
// services.postgres_migrate_url_env; when that variable is empty the
// application's URL is used for both (one role; migrate warns). Both must
// name the same database: an owner URL left in the environment for another
// database is refused, not migrated.
func URLs(svc config.Services) (owner, app string, err error) {
	app = os.Getenv(svc.PostgresURLEnv)
	owner = os.Getenv(svc.PostgresMigrateURLEnv)
	if owner == "" || app == "" {
		return app, app, nil
	}
	o, oerr := pgconn.ParseConfig(owner)
	a, aerr := pgconn.ParseConfig(app)
	if oerr != nil || aerr != nil {
		return "", "", fmt.Errorf("%w: postgres: bad %s or %s: %v", ErrURLs, svc.PostgresMigrateURLEnv, svc.PostgresURLEnv, errors.Join(oerr, aerr))
	}
	if o.Host != a.Host || o.Port != a.Port || o.Database != a.Database {
		return "", "", fmt.Errorf("%w: postgres: %s names database %q on %s:%d but %s names %q on %s:%d: point both at the same database, or unset %s to use one role",
			ErrURLs, svc.PostgresMigrateURLEnv, o.Database, o.Host, o.Port, svc.PostgresURLEnv, a.Database, a.Host, a.Port, svc.PostgresMigrateURLEnv)
	}
	return owner, app, nil
}

// User is the role a Postgres URL logs in as ("" if it does not parse).
func User(url string) string {
	c, err := pgconn.ParseConfig(url)
	if err != nil {
		return ""
	}
	return c.User
}

// WarnIfPrivileged logs a warning when the application is connected (pool,
// whose URL is in the environment variable env) as a superuser or as the
// owner of the audit trail: either could switch its triggers off and
// rewrite it.
func WarnIfPrivileged(ctx context.Context, pool *pgxpool.Pool, env string, log *slog.Logger) {
	var super, owner bool
	err := pool.QueryRow(ctx, `SELECT rolsuper, coalesce(pg_has_role(current_user,
			(SELECT relowner FROM pg_class WHERE oid = to_regclass('audit_log')), 'MEMBER'), false)
		FROM pg_roles WHERE rolname = current_user`).Scan(&super, &owner)
	if err == nil && (super || owner) {
		log.Warn("connected to Postgres as a superuser or the audit trail's owner: this role could switch off the audit triggers; run the application as a role that owns nothing (see README)",
			"env", env, "role", User(os.Getenv(env)))
	}
}
