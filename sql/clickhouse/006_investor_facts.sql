-- The investor reports for analysts (issue 23; pre-assigned 009 at the
-- merge): one row per investor and day, the day's snapshot of what the
-- investor master and the KYC gate keep in Postgres (no PII): tax status,
-- KYC status and the gate's public reason, nomination, FATCA declaration,
-- bank accounts and how many are not verified. Written by the kra job
-- after each run (the same day again replaces the row: ReplacingMergeTree
-- on loaded_at, read with FINAL).
CREATE TABLE IF NOT EXISTS investor_facts (
    as_of               Date,
    investor_id         String,
    onboarded           UInt8,
    tax_status          String,
    kyc_status          String,
    kyc_reason          String,
    pan_inoperative     UInt8,
    nomination          String,
    fatca_declared      UInt8,
    bank_accounts       UInt16,
    unverified_accounts UInt16,
    loaded_at           DateTime
) ENGINE = ReplacingMergeTree(loaded_at)
PARTITION BY toYYYYMM(as_of)
ORDER BY (as_of, investor_id)
