-- Trailing returns and risk per scheme (issue 20), computed in Go by
-- fund/risk (the definitions `fundflow check risk` prints) and written by
-- the analytics refresh; grain (scheme_code, as_of[, period]).
--
-- scheme_returns: 1M/3M/6M absolute and 1Y/3Y/5Y CAGR, the AMFI
-- convention: from the latest NAV on or before as_of − period to the latest
-- NAV on or before as_of; kind says which ('absolute' or 'cagr'). A scheme
-- younger than the period has no row for it.
CREATE TABLE IF NOT EXISTS scheme_returns (
    scheme_code  String,
    as_of        Date,
    period       String,
    kind         String,
    from_date    Date,
    to_date      Date,
    value        Decimal(38, 8),
    refreshed_at DateTime
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY (scheme_code, as_of, period)
;
-- scheme_risk: over the trailing year of NAVs up to as_of (window_days
-- calendar days): annualised volatility (sample stdev × √252), CAGR,
-- maximum drawdown with its peak, trough and recovery dates, 1-day
-- historical VaR/CVaR at 95 % and 99 % (nearest rank), Sharpe and Sortino
-- against risk_free (annual), beta against the category's average daily
-- return. Every figure rounded half-even to 8 places; NULL when undefined.
CREATE TABLE IF NOT EXISTS scheme_risk (
    scheme_code       String,
    as_of             Date,
    window_days       UInt32,
    from_date         Date,
    navs              UInt32,
    volatility        Decimal(38, 8),
    cagr              Decimal(38, 8),
    max_drawdown      Decimal(38, 8),
    drawdown_peak     Nullable(Date),
    drawdown_trough   Nullable(Date),
    drawdown_recovery Nullable(Date),
    var_95            Decimal(38, 8),
    var_99            Decimal(38, 8),
    cvar_95           Decimal(38, 8),
    cvar_99           Decimal(38, 8),
    sharpe            Nullable(Decimal(38, 8)),
    sortino           Nullable(Decimal(38, 8)),
    beta              Nullable(Decimal(38, 8)),
    risk_free         Decimal(18, 8),
    refreshed_at      DateTime
) ENGINE = ReplacingMergeTree(refreshed_at)
ORDER BY (scheme_code, as_of)
;
-- scheme_return_ranks: grain (scheme_code, as_of, period); each trailing
-- return next to its category's average and quartiles (over the schemes
-- of the category with that period), and its quartile rank: 1 for the top
-- quarter. A view: always the latest refresh's rows. Quartile boundaries
-- are floats (quantiles); the returns themselves stay exact decimals.
-- On a newer ClickHouse: ntile(4) OVER (PARTITION BY as_of, period, category ORDER BY value DESC).
CREATE VIEW IF NOT EXISTS scheme_return_ranks AS
SELECT scheme_code, as_of, period, kind, value, category, category_average, category_schemes,
    multiIf(toFloat64(value) >= q[3], 1, toFloat64(value) >= q[2], 2, toFloat64(value) >= q[1], 3, 4) AS quartile
FROM
(
    SELECT scheme_code, as_of, period, kind, value, category
    FROM (SELECT scheme_code, as_of, period, kind, value FROM scheme_returns FINAL)
    ANY LEFT JOIN (SELECT scheme_code, category FROM scheme_dim) USING (scheme_code)
)
ANY LEFT JOIN
(
    SELECT as_of, period, category, quantiles(0.25, 0.5, 0.75)(toFloat64(value)) AS q,
        avg(toFloat64(value)) AS category_average, count() AS category_schemes
    FROM
    (
        SELECT scheme_code, as_of, period, value, category
        FROM (SELECT scheme_code, as_of, period, value FROM scheme_returns FINAL)
        ANY LEFT JOIN (SELECT scheme_code, category FROM scheme_dim) USING (scheme_code)
    )
    GROUP BY as_of, period, category
) USING (as_of, period, category)
