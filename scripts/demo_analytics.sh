# Sourced by scripts/demo.sh after the NAV history backfill: the analysts'
# ClickHouse (issue 20). The facts checked against the ledger and resynced,
# the models refreshed (risk-free: the RBI repo-rate series), a second
# refresh that is incremental, three analyst questions of docs/analytics.md
# with their answers, and the AUM chart.
# Uses FF, CHQ, CH_PORT, DEMO, REPO and step from demo.sh.

step "analytics: facts = ledger, the models, three analyst questions (ClickHouse; guide: docs/analytics.md)"
AS_OF=2026-08-21
"$FF" --log-level warn ch resync --from 2017-01-01 --to "$AS_OF" > "$DEMO/ch-resync.json"
echo "-- ch resync (facts rebuilt from the ledger, idempotent): $(tr -d ' \n' < "$DEMO/ch-resync.json")"
"$FF" --log-level warn ch check --from 2017-01-01 --to "$AS_OF" > "$DEMO/ch-check.json" && echo "-- ch check: the facts equal the ledger ($(grep -o '"keys": [0-9]*' "$DEMO/ch-check.json"))"
# --held: returns, rolling returns and risk for the schemes the ledger holds (the whole universe takes minutes)
"$FF" --log-level warn ch refresh --as-of "$AS_OF" --held --risk-free-file "$REPO/analytics/data/rbi_repo_rate.csv" > "$DEMO/ch-refresh.json"
echo "-- ch refresh: $(tr -d ' \n' < "$DEMO/ch-refresh.json")"
"$FF" --log-level warn ch refresh --as-of "$AS_OF" --held --risk-free-file "$REPO/analytics/data/rbi_repo_rate.csv" > "$DEMO/ch-refresh-2.json"
echo "-- the same refresh again: aum_daily is incremental (only days touched since): $(tr -d ' \n' < "$DEMO/ch-refresh-2.json" | grep -o '"aum":{[^}]*}')"

echo "-- question 1: top schemes by net inflow last month"
"${CHQ[@]}" -q "
SELECT scheme_code, name, amc, sum(net_inflow) AS net_inflow
FROM
(
    SELECT scheme_code, amc, net_inflow
    FROM flows_daily
    WHERE toStartOfMonth(nav_date) = toStartOfMonth(addMonths((SELECT max(nav_date) FROM transactions), -1))
)
ANY LEFT JOIN (SELECT scheme_code, name FROM scheme_dim) USING (scheme_code)
GROUP BY scheme_code, name, amc
ORDER BY net_inflow DESC
LIMIT 5 FORMAT PrettyCompactMonoBlock"
echo "-- question 2: AUM by AMC at the last three month ends"
"${CHQ[@]}" -q "
SELECT date, amc, round(toFloat64(sum(aum)), 2) AS aum_inr
FROM aum_daily FINAL
WHERE date IN (SELECT DISTINCT addDays(toStartOfMonth(date), -1) FROM aum_daily WHERE date >= addMonths(toDate('$AS_OF'), -2))
GROUP BY date, amc
ORDER BY date, aum_inr DESC FORMAT PrettyCompactMonoBlock"
echo "-- question 3: SIP vs lump-sum purchases by month (the last six)"
"${CHQ[@]}" -q "
SELECT toStartOfMonth(nav_date) AS month,
    sum(sip_purchases) AS sip, sum(lump_sum_purchases) AS lump_sum,
    sum(sip_count) AS sip_orders, sum(lump_sum_count) AS lump_sum_orders
FROM flows_daily
GROUP BY month
ORDER BY month DESC
LIMIT 6 FORMAT PrettyCompactMonoBlock"
echo "-- and the SIP schemes' risk (repo rate in force each day) and rolling 1Y returns:"
"${CHQ[@]}" -q "
SELECT scheme_code, volatility, max_drawdown, var_95, sharpe, sortino, risk_free
FROM scheme_risk FINAL WHERE scheme_code IN ('118989', '120503') AND as_of = '$AS_OF' FORMAT PrettyCompactMonoBlock"
"${CHQ[@]}" -q "
SELECT scheme_code, period, windows, min, median, max, pct_negative
FROM scheme_rolling_returns FINAL WHERE scheme_code IN ('118989', '120503') AND as_of = '$AS_OF' FORMAT PrettyCompactMonoBlock"
"$FF" --log-level warn ch chart --out "$DEMO/aum.pdf"
pdftoppm -png -r 70 -singlefile "$DEMO/aum.pdf" "$DEMO/aum" && echo "-- the AUM chart: $DEMO/aum.png ($DEMO/aum.pdf)"
echo "Analysts: clickhouse-client --port $CH_PORT -d fundflow_demo   # the guide's 16 questions: docs/analytics.md"
