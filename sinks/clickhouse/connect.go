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

// classify marks as transient lost connections, timeouts, and the server's
// exceptions that say the server, not the rows, refuses (serverWide): the
// stage checked every value before, so such a refusal is the server's
// state, and a batch refused for it must fail the run (after the retries),
// never set its file aside as bad input. Other exceptions (bad SQL, a type
// mismatch) stay permanent.
func classify(err error) error {
	var ex *ch.Exception
	if err == nil || (errors.As(err, &ex) && !serverWide[ex.Code]) {
		return err
	}
	return pipelines.Transient(err)
}

// serverWide are the exception codes of a server that refuses every insert
// for now: read-only, a table or column missing mid-migration, access,
// limits and timeouts (ClickHouse's ErrorCodes).
var serverWide = map[int32]bool{
	8:   true, // THERE_IS_NO_COLUMN
	16:  true, // NO_SUCH_COLUMN_IN_TABLE
	47:  true, // UNKNOWN_IDENTIFIER
	60:  true, // UNKNOWN_TABLE
	81:  true, // UNKNOWN_DATABASE
	159: true, // TIMEOUT_EXCEEDED
	160: true, // TOO_SLOW
	164: true, // READONLY
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	194: true, // REQUIRED_PASSWORD
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	236: true, // ABORTED
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	243: true, // NOT_ENOUGH_SPACE
	252: true, // TOO_MANY_PARTS
	394: true, // QUERY_WAS_CANCELLED
	425: true, // SYSTEM_ERROR
	439: true, // CANNOT_SCHEDULE_TASK
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}

// Conn is a ClickHouse connection.
type Conn = driver.Conn
