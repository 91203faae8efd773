-- Wallet flows and fees for analysts (issue 22): one row per wallet
-- event, copied from the Postgres outbox by `fundflow managed facts`
-- (wallet/pgstore.FactsPass, which marks the outbox rows' facts_at; the
-- facts relay reads other topics). kind: deposited, withdrawn, parked,
-- cancelled (a parked withdrawal), fee (fee.charged: amount is the total,
-- fee and gst its parts). ref: the payment, the withdrawal request or the
-- invoice. ReplacingMergeTree on event_id: a pass copied again after a
-- crash before its mark is the same row (read with FINAL).
CREATE TABLE IF NOT EXISTS wallet_facts (
    event_id    String,
    kind        String,
    wallet_id   String,
    investor_id String,
    ref         String,
    amount      Decimal(18, 2),
    fee         Decimal(18, 2),
    gst         Decimal(18, 2),
    balance     Decimal(18, 2),
    at          DateTime,
    day         Date
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (wallet_id, event_id);
