-- nav_history is not partitioned: a NAV file carries stale rows back to
-- 2008, and a block spread over 19 yearly partitions writes 19 parts (about
-- 50x slower to insert on ClickHouse 18.16). ORDER BY serves scheme and
-- date-range scans; the whole history is ~100 M rows at most.
CREATE TABLE IF NOT EXISTS nav_history (
    scheme_code   String,
    nav_date      Date,
    nav           Decimal(18, 8),
    amc           String,
    category      String,
    source_sha256 String,
    source_line   UInt32,
    loaded_at     DateTime
) ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (scheme_code, nav_date)
;
CREATE TABLE IF NOT EXISTS ingest_events (
    event_time  DateTime,
    pipeline    String,
    run_id      UInt64,
    kind        String,
    file        String,
    sha256      String,
    line        UInt32,
    reason      String,
    detail      String,
    records     UInt64
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (pipeline, event_time)
