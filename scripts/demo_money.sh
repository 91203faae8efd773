# Sourced by scripts/demo.sh after the NAV files are loaded: the money path.
# Orders are placed over HTTP, paid by signed Razorpay-format webhooks, and
# allotted at the NAVs the demo just loaded; then the ledger, the holdings,
# the breaks and the events are printed. Uses FF, PSQL, CHQ, DEMO, FIXTURES
# and step from demo.sh.

step "the money path: orders, signed payment webhooks, allotment at the applicable NAV"
export FUNDFLOW_RAZORPAY_WEBHOOK_SECRET=${FUNDFLOW_RAZORPAY_WEBHOOK_SECRET:-demo_whsec_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# serve also starts the query API, which needs its keys (throwaway ones, as
# the read-side step below makes).
export FUNDFLOW_PII_KEY=${FUNDFLOW_PII_KEY:-$(head -c 32 /dev/urandom | base64)}
export FUNDFLOW_JWT_SECRET=${FUNDFLOW_JWT_SECRET:-$(head -c 32 /dev/urandom | base64)}
MONEY=http://127.0.0.1:18090
# Two equity schemes priced on Fri 21-Aug-2026 in the files just loaded.
EQ=$("${PSQL[@]}" -At -c "SELECT n.scheme_code FROM navs n JOIN schemes s ON s.code = n.scheme_code
  WHERE n.nav_date = '2026-08-21' AND s.category ILIKE '%Large Cap%' ORDER BY 1 LIMIT 1")
EQ2=$("${PSQL[@]}" -At -c "SELECT n.scheme_code FROM navs n JOIN schemes s ON s.code = n.scheme_code
  WHERE n.nav_date = '2026-08-21' AND s.category ILIKE '%Flexi Cap%' ORDER BY 1 LIMIT 1")
echo "schemes: $EQ (large cap, 1% exit load within a year), $EQ2 (flexi cap)"
"${PSQL[@]}" -c "INSERT INTO scheme_loads (scheme_code, valid_from, days_below, rate_pct) VALUES ('$EQ', '2020-01-01', 365, 1.0)"

"$FF" --log-level warn serve > "$DEMO/money-serve.log" 2>&1 &
MONEY_PID=$!
trap 'kill $MONEY_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$MONEY/healthz" >/dev/null && break; sleep 0.1; done

order() { curl -s -w '  HTTP %{http_code}\n' -H 'Content-Type: application/json' -H "Authorization: Bearer $FUNDFLOW_ORDERS_TOKEN" -d "$1" "$MONEY/v1/orders"; }
# webhook EVENT_ID PAYMENT_ID ORDER_ID PAISE STATUS [SECRET]: a Razorpay-format event, signed.
webhook() {
  local body sig
  body=$(printf '{"entity":"event","account_id":"acc_demo","event":"payment.%s","contains":["payment"],"payload":{"payment":{"entity":{"id":"%s","entity":"payment","amount":%s,"currency":"INR","status":"%s","order_id":"order_%s","method":"upi","notes":{"order_id":"%s"},"created_at":1787290500}}},"created_at":1787290560}' \
    "$5" "$2" "$4" "$5" "$3" "$3")
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "${6:-$FUNDFLOW_RAZORPAY_WEBHOOK_SECRET}" -hex | sed 's/^.* //')
  curl -s -o /dev/null -w "webhook $1 ($5, $3): HTTP %{http_code}\n" -H "X-Razorpay-Signature: $sig" -H "X-Razorpay-Event-Id: $1" -d "$body" "$MONEY/webhooks/razorpay"
}
# created_at 1787290560 = Fri 21-Aug-2026 11:06 IST: funds realised before the 3 PM cut-off.
echo "-- place orders (POST /v1/orders; the client's order_id is the idempotency key)"
order '{"order_id":"MP-1","type":"purchase","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","amount":"25000.00","placed_at":"2026-08-21T10:15:00+05:30"}'
order '{"order_id":"MP-1","type":"purchase","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","amount":"25000.00","placed_at":"2026-08-21T10:15:00+05:30"}'
order '{"order_id":"MP-2","type":"purchase","investor_id":"MP-INV-2","folio":"MP-F2","scheme_code":"'"$EQ"'","amount":"5000.00","placed_at":"2026-08-21T10:20:00+05:30"}'
order '{"order_id":"MP-3","type":"purchase","investor_id":"MP-INV-2","folio":"MP-F2","scheme_code":"'"$EQ"'","amount":"1000.00","placed_at":"2026-08-21T16:05:00+05:30"}'
order '{"order_id":"MP-1","type":"purchase","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","amount":"99.00","placed_at":"2026-08-21T10:15:00+05:30"}'
echo "-- orders that can never be stored: refused with 422 and a reason (never a 503 to retry forever), and a wrong token"
order '{"order_id":"MP-X1","type":"purchase","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","amount":"10000000000000000.00","placed_at":"2026-08-21T10:15:00+05:30"}'
order '{"order_id":"MP-X2","type":"purchase","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","amount":"10.00","payment_ref":"order_\u0000","placed_at":"2026-08-21T10:15:00+05:30"}'
curl -s -w '  HTTP %{http_code}\n' -H 'Content-Type: application/json' -H "Authorization: Bearer wrong" -d '{}' "$MONEY/v1/orders"
echo "-- signed webhooks (HMAC-SHA256 of the body with the webhook secret)"
webhook evt_MP1 pay_MP1 MP-1 2500000 captured
webhook evt_MP1 pay_MP1 MP-1 2500000 captured
webhook evt_MP1_late pay_MP1 MP-1 2500000 authorized
webhook evt_MP2 pay_MP2 MP-2 499900 captured
webhook evt_forged pay_MP2 MP-2 500000 captured not-the-secret
webhook evt_MP3 pay_MP3 MP-3 100000 captured
echo "-- a redemption (FIFO lots, 1% exit load within a year) and a switch (two legs, one id)"
order '{"order_id":"MP-R1","type":"redemption","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","units":"10.5","placed_at":"2026-08-21T12:00:00+05:30"}'
order '{"order_id":"MP-S1","type":"switch","investor_id":"MP-INV-1","folio":"MP-F1","scheme_code":"'"$EQ"'","to_scheme_code":"'"$EQ2"'","amount":"2000.00","placed_at":"2026-08-21T12:30:00+05:30"}'
kill $MONEY_PID 2>/dev/null || true; wait $MONEY_PID 2>/dev/null || true

step "fundflow run allocate (what waits for a NAV not published yet stays pending) and run outbox (ClickHouse facts)"
"$FF" --log-level warn run allocate
"$FF" --log-level warn run outbox

step "what the money path wrote"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT 'order_requests' AS "table", count(*) AS rows FROM order_requests
UNION ALL SELECT 'orders (legs)', count(*) FROM orders
UNION ALL SELECT 'inbox (webhooks)', count(*) FROM inbox
UNION ALL SELECT 'payments', count(*) FROM payments
UNION ALL SELECT 'payment_breaks', count(*) FROM payment_breaks
UNION ALL SELECT 'ledger_transactions', count(*) FROM ledger_transactions
UNION ALL SELECT 'ledger_postings', count(*) FROM ledger_postings
UNION ALL SELECT 'holding_lots', count(*) FROM holding_lots
UNION ALL SELECT 'holdings', count(*) FROM holdings
UNION ALL SELECT 'outbox', count(*) FROM outbox;
SELECT id, kind, status, reason, nav_date, left(nav_reason, 90) AS why_this_nav FROM orders WHERE id LIKE 'MP-%' ORDER BY created_at, id;
SELECT order_id, kind, nav_date, nav, units, amount, stamp_duty, exit_load, net_amount FROM ledger_transactions
WHERE order_id LIKE 'MP-%' ORDER BY id;
SELECT folio_no, scheme_code, units, invested FROM holdings WHERE folio_no LIKE 'MP-%' ORDER BY 1, 2;
SELECT payment_id, order_id, reason, detail FROM payment_breaks;
SELECT event_id, status, reason FROM inbox WHERE event_id LIKE 'evt_MP%' ORDER BY received_at;
SELECT 'unbalanced ledger transactions' AS "check", count(*) FROM (SELECT tx_id, asset FROM ledger_postings GROUP BY 1, 2 HAVING sum(amount) <> 0) x;
SQL
echo "-- fundflow outbox --topic transactions.completed --limit 2 (the bus without Kafka)"
"$FF" outbox --topic transactions.completed --limit 2
"${CHQ[@]}" -q "SELECT kind, count() AS transactions, sum(direction * amount) AS net_flow, sum(stamp_duty) AS stamp_duty FROM transactions FINAL GROUP BY kind ORDER BY kind FORMAT PrettyCompact"
