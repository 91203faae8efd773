-- Investment pools for analysts (issue 22): each pool's daily NAV and its
-- flows, copied from Postgres by `fundflow pool facts --from --to` (and
-- the demo), which rewrites a period whole: a row written again is the
-- same row (ReplacingMergeTree on the key, highest version kept; read with
-- FINAL). kind: nav (wallet_id and ref empty; units outstanding before the
-- day's requests, holdings and cash the NAV was computed from),
-- contribution, withdrawal (ref the request id; refused ones have status
-- refused), distribution (paid to the wallet) and reinvestment (units
-- bought at the ex-distribution NAV), ref the record date.
CREATE TABLE IF NOT EXISTS pool_facts (
    day       Date,
    pool_id   String,
    kind      String,
    wallet_id String,
    ref       String,
    status    String,
    nav       Decimal(18, 4),
    units     Decimal(24, 3),
    amount    Decimal(18, 2),
    holdings  Decimal(18, 2),
    cash      Decimal(18, 2),
    version   UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (pool_id, day, kind, wallet_id, ref);
