// Package clickhouse writes time series and facts for analysts to
// ClickHouse over the native protocol (clickhouse-go v2; its HTTP protocol
// does not work with the 18.16 server Debian ships).
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/fundflow/fundflow/pipelines"
)

// Connect opens a native-protocol connection to url
// (clickhouse://host:port/database) and checks that the server answers. A
// server that cannot be reached gives one line that says how to start it.
func Connect(ctx context.Context, url string) (driver.Conn, error) {
	if url == "" {
		return nil, errors.New("clickhouse: FUNDFLOW_CH_URL is not set; start the services with `scripts/services.sh up` and `source .state/env`")
	}
	opts, err := ch.ParseDSN(url)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: bad FUNDFLOW_CH_URL: %w", err)
	}
	opts.Protocol = ch.Native
	opts.DialTimeout = 5 * time.Second
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 8
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse at %v is not answering (%v): start it with `scripts/services.sh up`", opts.Addr, err)
	}
	return conn, nil
}

// classify marks everything but an exception raised by the server (bad SQL,
// a type mismatch) as transient: lost connections and timeouts are retried.
func classify(err error) error {
	var ex *ch.Exception
	if err == nil || errors.As(err, &ex) {
		return err
	}
	return pipelines.Transient(err)
}

// Conn is a ClickHouse connection.
type Conn = driver.Conn
