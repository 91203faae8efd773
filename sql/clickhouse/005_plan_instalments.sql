-- Systematic-plan instalments for analysts (the SIP book, debit success
-- rate by bank and day, failure reasons): one row per (plan_id, due_date)
-- in its latest state, copied from the Postgres outbox (the plans
-- service's <kind>.instalment.<step> events) by the facts relay.
--
-- ReplacingMergeTree on version, read with FINAL: version is the event's
-- time (Unix seconds) × 16 + the rank of its status in the instalment's
-- forward-only status machine, so the latest step wins however the events
-- arrive, a step in the same second as the one before it still wins, and the
-- same event copied twice (a relay retried after a crash) is the same row.
-- event_at is DateTime, not DateTime64 (ClickHouse 18.16 has no
-- DateTime64): the events carry their time to the second anyway.
-- bank is the SIP mandate's bank_name, looked up by the relay (the event
-- does not carry it); '' for STPs and SWPs.
CREATE TABLE IF NOT EXISTS plan_instalments (
    plan_id            String,
    kind               String,
    investor_id        String,
    folio_no           String,
    scheme_code        String,
    to_scheme_code     String,
    bank               String,
    seq                UInt32,
    nominal_date       Date,
    due_date           Date,
    amount             Decimal(18, 2),
    status             String,
    reason             String,
    detail             String,
    gateway_order_id   String,
    gateway_payment_id String,
    order_id           String,
    event_id           String,
    event_at           DateTime,
    version            UInt64,
    loaded_at          DateTime
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(due_date)
ORDER BY (plan_id, due_date)
