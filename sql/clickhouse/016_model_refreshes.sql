-- The log of the scheme models' refreshes (issue 20): one row each time
-- scheme_versions (the scheme_dim view) or scheme_returns,
-- scheme_rolling_returns and scheme_risk were written whole. The API serves
-- scheme analytics from an in-memory copy of the models
-- (analytics/query.Cached) and reloads it when this table or aum_refreshes
-- has a new row: both only grow, so their row counts are the mark.
CREATE TABLE IF NOT EXISTS model_refreshes (
    refreshed_at DateTime,
    as_of        Date,
    model        String,
    schemes      UInt32
) ENGINE = MergeTree
ORDER BY refreshed_at
