-- Daily AUM and daily flows (issue 20).
--
-- aum_daily: grain (scheme_code, date), every calendar day from a scheme's
-- first transaction to the refresh date while units are outstanding. units
-- is Σ direction × units of the transaction facts with nav_date ≤ date; nav
-- the latest NAV on or before date (carried over weekends and holidays:
-- nav_date says which); aum = units × nav exactly (scale 9 + 8 = 17, no
-- rounding, so sums over schemes equal the ledger's Σ holdings × NAV).
-- Written by `fundflow analytics refresh` (analytics.RefreshAUM), computed
-- in Go: ClickHouse 18.16 has no ASOF JOIN to carry a NAV forward.
-- amc and category are the scheme dimension's current ones.
CREATE TABLE IF NOT EXISTS aum_daily (
    date         Date,
    scheme_code  String,
    amc          String,
    category     String,
    units        Decimal(38, 9),
    nav          Decimal(18, 8),
    nav_date     Date,
    aum          Decimal(38, 17),
    refreshed_at DateTime
) ENGINE = ReplacingMergeTree(refreshed_at)
PARTITION BY toYear(date)
ORDER BY (scheme_code, date)
;
-- flows_daily: grain (nav_date, scheme_code); money in and out by kind, the
-- purchases split into SIP instalments (an order of a sip plan instalment)
-- and lump sums. A view over the facts (FINAL: one row per transaction), so
-- it is never stale. switch_payout moves no units and is left out.
CREATE VIEW IF NOT EXISTS flows_daily AS
SELECT
    nav_date,
    scheme_code,
    amc,
    category,
    sumIf(amount, kind = 'purchase')                 AS purchases,
    sumIf(amount, kind = 'purchase' AND sip = 1)     AS sip_purchases,
    sumIf(amount, kind = 'purchase' AND sip = 0)     AS lump_sum_purchases,
    sumIf(amount, kind = 'redemption')               AS redemptions,
    sumIf(amount, kind = 'switch_in')                AS switch_in,
    sumIf(amount, kind = 'switch_out')               AS switch_out,
    sumIf(amount, direction = 1) - sumIf(amount, direction = -1) AS net_inflow,
    countIf(kind = 'purchase' AND sip = 1)           AS sip_count,
    countIf(kind = 'purchase' AND sip = 0)           AS lump_sum_count,
    count()                                          AS transactions
FROM (
    SELECT nav_date, scheme_code, kind, direction, amount,
        order_id IN (SELECT order_id FROM plan_instalments FINAL WHERE kind = 'sip' AND order_id != '') AS sip
    FROM transactions FINAL
    WHERE kind != 'switch_payout'
)
ANY LEFT JOIN (SELECT scheme_code, amc, category FROM scheme_dim) USING (scheme_code)
GROUP BY nav_date, scheme_code, amc, category
