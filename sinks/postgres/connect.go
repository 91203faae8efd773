// Package postgres is fundflow's Postgres plumbing and its write-only
// sinks: the connection (Connect, Classify), the engine's bookkeeping (job
// runs, checkpoints, ingested files, quarantine, alerts, single-runner
// locks), the NAV sink (navs, nav_latest, schemes and their versions), the
// RTA feed sink, the outbox source the relays read, NAV freshness reads and
// the hash-chained audit trail (append, verify, anchor). It decides no
// business rule: the money path is the ledger package (its SQL in
// ledger/pgstore), reconciliation is recon. Every write that must be atomic
// is one transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/pipelines"
)

// Connect opens a pool to url with numeric columns mapped to
// shopspring/decimal (exact both ways) and checks that the server answers. A
// server that cannot be reached gives one line that says how to start it.
func Connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("postgres: FUNDFLOW_PG_URL is not set; start the services with `scripts/services.sh up` and `source .state/env`")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad FUNDFLOW_PG_URL: %w", err)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		registerNumeric(c.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres at %s:%d is not answering (%v): start it with `scripts/services.sh up`", cfg.ConnConfig.Host, cfg.ConnConfig.Port, rootCause(err))
	}
	return pool, nil
}

func rootCause(err error) error {
	var ne *net.OpError
	if errors.As(err, &ne) {
		return ne.Err
	}
	return err
}

// Classify marks errors that a retry can cure (pipelines.Transient): lost
// connections, a server shutting down or starting, serialization failures
// and deadlocks, too many connections, disk full or out of memory, a
// statement cancelled (statement_timeout, an operator's cancel) and a
// lock not available. None of them says anything about the data, so a
// retry (bounded by each caller's policy) is right and breaking the input
// is not. Stores outside this package use it on their Postgres errors.
func Classify(err error) error { return classify(err) }

func classify(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "40001", pgErr.Code == "40P01", // serialization failure, deadlock
			pgErr.Code[:2] == "08",                                              // connection exceptions
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // admin shutdown, crash shutdown, cannot connect now
			pgErr.Code == "53300", pgErr.Code == "53100", pgErr.Code == "53200", // too many connections, disk full, out of memory
			pgErr.Code == "57014", pgErr.Code == "55P03": // statement cancelled, lock not available
			return pipelines.Transient(err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || pipelines.IsTransient(err) {
		return pipelines.Transient(err)
	}
	return err
}
