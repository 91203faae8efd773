# Sourced by scripts/demo.sh after the SIPs: distributor commissions (issue
# 18). The demo's folios get distributors; event commissions (first SIP,
# referral, upfronted trail of the new investors' SIPs) come from
# transactions.completed; a redemption within the clawback period claws
# upfronts back, lot by lot; June and July 2026 are accrued, July is paid
# (GST, TDS) with a PDF per payee, explained, written to ClickHouse, and its
# AMC brokerage statement is generated and reconciled against its truth.
# Uses FF, PSQL, CHQ, DEMO and step from demo.sh.

step "distributor commissions: events, clawback, a month of trail, payout with GST/TDS, explain, PDF, brokerage recon"
COMM=$DEMO/commissions
mkdir -p "$COMM"
cat > "$COMM/distributors.json" <<'JSON'
{"distributors": [
  {"id": "ARN-DEMO-1", "kind": "arn", "name": "Sahyadri Wealth", "valid_from": "2015-04-01", "gst_registered": true, "intra_state": true},
  {"id": "SUB-DEMO-A", "kind": "sub", "name": "Pune sub-broker", "valid_from": "2018-01-01"},
  {"id": "ARN-DEMO-2", "kind": "arn", "name": "Coastal Advisors", "valid_from": "2019-06-01"}
 ],
 "trees": [{"root": "ARN-DEMO-1", "from": "2020-01-01", "shares": [
   {"parent": "ARN-DEMO-1", "payee": "ARN-DEMO-1", "pct": "70"}, {"parent": "ARN-DEMO-1", "payee": "SUB-DEMO-A", "pct": "30"}]}]}
JSON
# One structure per scheme the demo holds: trail 0.85 % a year (0.95 % from
# ₹1 lakh of AUM), upfront 1 % of a new investor's SIP up to ₹6,000 with a
# 730-day clawback, ₹100 on a first SIP, ₹250 referral; a rate cut on 16-Jul.
{
  echo "scheme_code,plan,effective_from,trail_pct,slab_from_aum,upfront_pct,upfront_max_sip,clawback_days,first_sip_amount,referral_amount"
  "${PSQL[@]}" -At -F, -c "SELECT DISTINCT scheme_code, 'regular', '2020-01-01', '0.85', '0', '1.0', '6000', '730', '100', '250' FROM holdings
    UNION ALL SELECT DISTINCT scheme_code, 'regular', '2020-01-01', '0.95', '100000', '', '', '', '', '' FROM holdings
    UNION ALL SELECT DISTINCT scheme_code, 'regular', '2026-07-16', '0.80', '0', '1.0', '6000', '730', '100', '250' FROM holdings ORDER BY 1, 3, 5"
} > "$COMM/brokerage.csv"
echo "-- a bad row: quarantined with its line, the structure in force stays" && echo "118989,regular,2026-07-32,0.9,,,,,," >> "$COMM/brokerage.csv"
"$FF" --log-level warn commissions load-brokerage "$COMM/brokerage.csv"
# The SIP schemes the demo buys are AMFI Direct Plan codes: a direct plan earns
# nothing whatever the brokerage file says. For the story below they are taken
# as their Regular Plan siblings.
"${PSQL[@]}" -c "SELECT code, name, plan FROM schemes WHERE code IN ('118989', '120503')"
"${PSQL[@]}" -c "UPDATE schemes SET plan = 'Regular Plan' WHERE code IN ('118989', '120503')"
"$FF" --log-level warn commissions load-distributors "$COMM/distributors.json"
"$FF" --log-level warn commissions assign SIP-F1 ARN-DEMO-1 E123456
"$FF" --log-level warn commissions assign SIP-F2 ARN-DEMO-2

echo "-- a redemption within the clawback period: SIP-F2 redeems 40 units of 120503 on 18-Aug-2026 (POST /v1/orders, then allocate)"
"$FF" --log-level warn serve > "$COMM/serve.log" 2>&1 &
COMM_PID=$!
trap 'kill $COMM_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:18090/healthz" >/dev/null && break; sleep 0.1; done
curl -s -o /dev/null -w '  POST /v1/orders HTTP %{http_code}\n' -H 'Content-Type: application/json' -H "Authorization: Bearer $FUNDFLOW_ORDERS_TOKEN" \
  -d '{"order_id":"COMM-R1","type":"redemption","investor_id":"SIP-INV-2","folio":"SIP-F2","scheme_code":"120503","units":"40","placed_at":"2026-08-18T11:00:00+05:30"}' \
  http://127.0.0.1:18090/v1/orders
kill $COMM_PID 2>/dev/null || true; wait $COMM_PID 2>/dev/null || true
"$FF" --log-level warn run allocate > /dev/null

echo "-- event commissions from transactions.completed (each once; commission.calculated in the outbox):"
"$FF" --log-level warn commissions events
"$FF" --log-level warn commissions events     # a second pass: nothing pending, nothing written twice
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT kind, bucket, count(*) AS lines, sum(amount) AS amount, min(day) AS first, max(day) AS last FROM commission_events GROUP BY 1, 2 ORDER BY 1, 2;
SELECT key, lot_id, day, amount, left(reason, 70) AS reason FROM commission_events WHERE kind = 'clawback' ORDER BY key LIMIT 4;
SELECT count(*) AS commission_calculated_events FROM outbox WHERE topic = 'commission.calculated';
SQL

echo "-- June and July 2026 accrued day by day (one transaction a day; a rerun writes nothing), July paid on 7-Aug-2026:"
"$FF" --log-level warn commissions accrue --from 2026-06-01 --through 2026-07-31 | head -c 300; echo " ..."
"$FF" --log-level warn commissions payout --month 2026-07 --payout-date 2026-08-07 --out "$COMM"
"${PSQL[@]}" -c "SELECT payee, trail, upfront, events, clawback, gross, cgst, sgst, igst, tds_pct, tds, net FROM commission_payouts WHERE month = '2026-07-01' ORDER BY payee"
echo "-- why is ARN-DEMO-1's July trail what it is against June? (GET /v1/distributors/ARN-DEMO-1/payouts/2026-07/explain gives the same)"
"$FF" --log-level warn commissions explain --arn ARN-DEMO-1 --month 2026-07 | head -40

echo "-- August (the redemption's clawback, split as its upfronts were) and September, each paid after the month before;"
echo "   a payee whose clawbacks exceed its month would be paid nothing and carry the shortfall into the next month"
echo "   (brought_forward, carried; here ARN-DEMO-2's August clawback is smaller than its month, so both stay 0):"
"$FF" --log-level warn commissions accrue --through 2026-09-30 > /dev/null
"$FF" --log-level warn commissions payout --month 2026-08 --payout-date 2026-09-07 --out "$COMM" > /dev/null
"$FF" --log-level warn commissions payout --month 2026-09 --payout-date 2026-10-07 --out "$COMM" > /dev/null
"${PSQL[@]}" -c "SELECT to_char(month, 'YYYY-MM') AS month, payee, trail, upfront, events, clawback, brought_forward, gross, gst, tds, net, carried
  FROM (SELECT *, cgst + sgst + igst AS gst FROM commission_payouts) p WHERE month >= '2026-08-01' ORDER BY payee, month"

echo "-- ClickHouse commission_facts (accrual, events, payout by distributor and month):"
"$FF" --log-level warn commissions facts --from 2026-06-01 --to 2026-08-31
"${CHQ[@]}" -q "SELECT toStartOfMonth(day) AS month, kind, if(kind LIKE 'payout%', bucket, arn) AS distributor,
  sum(amount) AS amount FROM commission_facts FINAL GROUP BY month, kind, distributor ORDER BY month, distributor, kind FORMAT PrettyCompact"

echo "-- the AMC's brokerage statement for July, generated with differences injected, reconciled against its truth:"
"$FF" --log-level warn gen brokerage --month 2026-07 --inject-rate 1 --seed 7 --out "$COMM/amc"
"$FF" --log-level warn commissions recon --month 2026-07 --truth "$COMM/amc/truth/brokerage_truth_2026-07.jsonl" "$COMM/amc/brokerage_2026-07.csv" \
  | tee "$COMM/recon-2026-07.json" | grep -A4 '"truth"'

pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$COMM/payout-2026-07-ARN-DEMO-1.pdf" "$COMM/payout-2026-07-ARN-DEMO-1" || true
echo "Where to look: payout statements $COMM/payout-2026-07-*.pdf (page 1 as PNG: $COMM/payout-2026-07-ARN-DEMO-1.png),"
echo "  $COMM/payout-2026-07.csv and .json; brokerage recon $COMM/recon-2026-07.json; in Postgres: commission_events,"
echo "  trail_accruals, commission_journal/commission_postings, commission_payouts; in ClickHouse: commission_facts."
