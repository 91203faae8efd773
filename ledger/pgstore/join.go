package pgstore

import "github.com/jackc/pgx/v5"

// TxOf is the ledger's Tx over a transaction another service began (the
// fraud evaluation's, for ledger.Service.PlaceHoldIn).
func TxOf(tx pgx.Tx) Tx { return Tx{tx} }
