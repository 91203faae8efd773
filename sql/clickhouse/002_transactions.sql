-- Ledger transactions for analysts (flows, AUM movements, stamp duty and
-- exit load by scheme and date): one row per allotted order leg, copied from
-- the Postgres outbox (transactions.completed) by the facts relay. The same
-- transaction copied twice (a retry after a crash) is one row after merges:
-- ReplacingMergeTree on tx_id (read with FINAL for exact counts).
-- direction is +1 for units issued (purchase, switch_in) and -1 for units
-- redeemed (redemption, switch_out): sum(direction * amount) is the net flow.
CREATE TABLE IF NOT EXISTS transactions (
    tx_id        UInt64,
    order_id     String,
    switch_id    String,
    kind         String,
    direction    Int8,
    folio_no     String,
    investor_id  String,
    scheme_code  String,
    nav_date     Date,
    nav          Decimal(18, 8),
    units        Decimal(28, 9),
    amount       Decimal(18, 2),
    stamp_duty   Decimal(18, 2),
    exit_load    Decimal(18, 2),
    net_amount   Decimal(18, 2),
    payment_id   String,
    placed_at    DateTime,
    posted_at    DateTime,
    loaded_at    DateTime
) ENGINE = ReplacingMergeTree(loaded_at)
PARTITION BY toYYYYMM(nav_date)
ORDER BY (scheme_code, nav_date, tx_id)
