package exports

import "github.com/jackc/pgx/v5"

// One snapshot for a whole export, read only.
var pgxTxOptions = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
