-- Rolling return distributions per scheme (issue 20), computed in Go
-- (analytics.RollingReturns) and written by the analytics refresh; grain
-- (scheme_code, as_of, period).
--
-- For each period (1Y, 3Y): every published NAV date t in the five years
-- to as_of ends a window that starts at the latest NAV on or before
-- t − period (within those five years); each window's return is its CAGR
-- (fund/risk, the definition `fundflow check risk` prints). The row is the
-- distribution of those returns: min, p25, median, p75, max by nearest rank
-- (the ⌈p·n⌉-th smallest, the method of VaR), the share of windows with a
-- negative return in per cent, and the worst window's dates. Every figure
-- half-even to 8 places. A scheme younger than the period has no row for it.
-- On a newer ClickHouse the windows would be a self ASOF JOIN and the
-- quantiles quantileExact: here the NAVs are arrays and the work is Go's.
CREATE TABLE IF NOT EXISTS scheme_rolling_returns (
    scheme_code  String,
    as_of        Date,
    period       String,
    windows      UInt32,
    first_end    Date,
    last_end     Date,
    min          Decimal(38, 8),
    p25          Decimal(38, 8),
    median       Decimal(38, 8),
    p75          Decimal(38, 8),
    max          Decimal(38, 8),
    negative     UInt32,
    pct_negative Decimal(38, 8),
    worst_start  Date,
    worst_end    Date,
    refreshed_at DateTime
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY (scheme_code, as_of, period)
