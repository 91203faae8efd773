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
