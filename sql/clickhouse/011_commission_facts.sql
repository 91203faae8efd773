-- Distributor commissions for analysts (issue 18): accruals, event amounts
-- and payouts by distributor, scheme, AMC and day (month for payouts),
-- copied from Postgres by `fundflow commissions facts` (and the demo),
-- which rewrites a period whole: a row written again is the same row
-- (ReplacingMergeTree on the key, highest version kept; read with FINAL).
-- kind: trail (daily accrual; basis = AUM × trail % exactly, amount = basis
-- / 36,500 to 10 decimals), upfront, first_sip, referral, clawback (the
-- event amounts, to the paisa), payout_gross, payout_gst, payout_tds,
-- payout_net (per payee, dated the month's first day, scheme and AMC '').
-- (Pre-assigned number 012: renumber at merge.)
CREATE TABLE IF NOT EXISTS commission_facts (
    day         Date,
    kind        String,
    arn         String,
    bucket      String,
    scheme_code String,
    amc         String,
    holdings    UInt32,
    aum         Decimal(38, 13),
    basis       Decimal(38, 17),
    amount      Decimal(38, 10),
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (kind, day, arn, bucket, scheme_code, amc);
