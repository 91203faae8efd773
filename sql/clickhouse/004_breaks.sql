-- folio-recon's breaks, one row per break per reconciled date, for trend
-- queries (breaks by type and age over time, how long breaks of a cause
-- stay open). A date reconciled again replaces its rows after merges:
-- ReplacingMergeTree on (recon_date, break_key); read with FINAL for exact
-- counts. Units Decimal(38, 9) holds numeric(24,9) exactly.
CREATE TABLE IF NOT EXISTS recon_breaks_history (
    recon_date    Date,
    break_key     String,
    scope         String,
    type          String,
    status        String,
    cause         String,
    rta           String,
    folio         String,
    scheme_code   String,
    product_code  String,
    order_id      String,
    rta_txn_no    String,
    ledger_tx_id  UInt64,
    rta_units     Decimal(38, 9),
    ledger_units  Decimal(38, 9),
    units_diff    Decimal(38, 9),
    rta_amount    Decimal(18, 2),
    ledger_amount Decimal(18, 2),
    first_seen    Date,
    age_days      UInt32,
    rta_file      String,
    rta_line      UInt32,
    loaded_at     DateTime
) ENGINE = ReplacingMergeTree(loaded_at)
PARTITION BY toYYYYMM(recon_date)
ORDER BY (recon_date, break_key)
