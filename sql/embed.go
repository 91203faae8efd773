// Package sql holds fundflow's schema: numbered migrations, the only place
// schema is written. internal/migrate applies them.
package sql

import "embed"

// Postgres migrations, applied in file-name order, each in one transaction.
//
//go:embed postgres/*.sql
var Postgres embed.FS

// ClickHouse migrations, applied in file-name order. ClickHouse has no
// transactions: every statement must be safe to run twice (IF NOT EXISTS),
// so a migration cut short can simply run again. Statements are separated by
// a line holding only ";". They must run on ClickHouse 18.16 (Debian) and on
// current releases: no DateTime64, no window functions, no {name:Type}
// parameters.
//
//go:embed clickhouse/*.sql
var ClickHouse embed.FS
