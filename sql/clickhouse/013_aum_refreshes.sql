-- The log of aum_daily refreshes (issue 20): one row per refresh, full or
-- incremental. An incremental refresh reads the latest row to know what
-- changed since: the facts loaded (transactions.loaded_at) and the NAVs
-- loaded (Postgres navs.loaded_at) since that refresh began, less a safety
-- overlap, and the days after its as_of. It rewrites only those schemes'
-- days from the first one touched and deletes the rows of those days a
-- rebuild would not write; it falls back to a full refresh when the facts
-- lost rows since (a resync's delete: facts_mutation, the number of the
-- latest mutation of transactions, grew), the scheme dimension changed
-- (dim_hash: a hash of every scheme's code, amc and category, the columns
-- aum_daily copies), or as_of goes back. facts_mark and navs_mark are the
-- newest loaded_at seen when the refresh began, for a reader.
CREATE TABLE IF NOT EXISTS aum_refreshes (
    refreshed_at   DateTime,
    as_of          Date,
    mode           String,
    reason         String,
    facts_mark     DateTime,
    navs_mark      DateTime,
    facts_mutation UInt64,
    dim_hash       UInt64,
    schemes        UInt32,
    first_day      Date,
    rows           UInt64,
    stale          UInt64
) ENGINE = MergeTree
ORDER BY refreshed_at
