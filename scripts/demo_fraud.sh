# Sourced by scripts/demo.sh after the notifications: an account takeover
# planted through the real routes (an investor onboarded and paid in, the
# bank account changed through the investor API, then a redemption of
# everything), held by the fraud evaluation serve runs, the alert with its
# evidence, a four-eyes release by a second ops user, and the backtest
# table. Uses FF, PSQL, DEMO, step, and MONEY, EQ, order and webhook from
# scripts/demo_money.sh.

step "fraud: an account takeover (bank change via the investor API, then a redemption) held for review"
API=http://127.0.0.1:18080
# The demo's config plus a fraud section: serve evaluates the shipped rules
# (fraud/rules.yaml) on the outbox (no Kafka here), holding in the alert's transaction.
cp "$DEMO/fundflow.yaml" "$DEMO/fraud.yaml"
printf 'fraud:\n  batch_size: 500\n' >> "$DEMO/fraud.yaml"
FUNDFLOW_CONFIG=$DEMO/fraud.yaml "$FF" lint
FUNDFLOW_CONFIG=$DEMO/fraud.yaml "$FF" --log-level warn serve > "$DEMO/fraud-serve.log" 2>&1 &
FRAUD_PID=$!
trap 'kill $FRAUD_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$API/healthz" >/dev/null && curl -sf "$MONEY/healthz" >/dev/null && break; sleep 0.1; done
ADMIN=$("$FF" token --role admin --sub onboarding-svc)
OPS_A=$("$FF" token --role ops --sub ops-asha)
OPS_B=$("$FF" token --role ops --sub ops-bala)
# j TOKEN METHOD PATH [BODY]: one API call, its JSON on one line.
j() {
  local a=(-s -H 'Content-Type: application/json' -H "Authorization: Bearer $1" -X "$2" "$API$3")
  if [ -n "${4:-}" ]; then a+=(-d "$4"); fi
  curl "${a[@]}"; echo
}

echo "-- INV-FR1 is onboarded (POST /v1/investors) and buys ₹25,000 of $EQ on Fri 21-Aug-2026 (paid, allotted):"
j "$ADMIN" POST /v1/investors '{"investor_id":"INV-FR1","name":"Kavya Iyer","pan":"KLMPK4321Q","dob":"1991-07-15","tax_status":"resident_individual",
  "email":"kavya@example.in","mobile":"9812345678","address":{"line1":"4 Park Street","city":"Kolkata","pincode":"700016","country":"IN"},
  "bank_accounts":[{"account_no":"001122334455","ifsc":"ICIC0000104","holder_name":"Kavya Iyer","type":"savings","default":true}],
  "nominees":[{"name":"R Iyer","relationship":"father","share":"100"}],
  "fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}' | grep -E '"(investor_id|account_no|change_seq|effective_from)"' || true
order '{"order_id":"FR-1","type":"purchase","investor_id":"INV-FR1","folio":"FR-F1","scheme_code":"'"$EQ"'","amount":"25000.00","placed_at":"2026-08-21T10:15:00+05:30"}'
webhook evt_FR1 pay_FR1 FR-1 2500000 captured
"${PSQL[@]}" -c "SELECT folio_no, scheme_code, units FROM holdings WHERE folio_no = 'FR-F1'"
echo "-- the takeover: the bank account changed through the investor API (PATCH /v1/investors/INV-FR1) ..."
j "$ADMIN" PATCH /v1/investors/INV-FR1 '{"bank_accounts":[{"account_no":"998877665544","ifsc":"HDFC0001234","holder_name":"Kavya Iyer","type":"savings","default":true}]}' | grep -E '"(account_no|ifsc|change_seq|effective_from)"' || true
echo "-- ... then a redemption of every unit (placed for Mon 24-Aug-2026, whose NAV is not out yet):"
order '{"order_id":"FR-R1","type":"redemption","investor_id":"INV-FR1","folio":"FR-F1","scheme_code":"'"$EQ"'","all_units":true,"placed_at":"2026-08-24T10:00:00+05:30"}'
ALERT=ato-redemption:orders.status:FR-R1:pending_nav
for _ in $(seq 1 100); do [ "$("${PSQL[@]}" -At -c "SELECT count(*) FROM fraud_alerts WHERE id = '$ALERT' AND hold_id IS NOT NULL")" = 1 ] && break; sleep 0.2; done
echo "-- the alerts (each raised once, the hold placed in the alert's transaction; the redemption is also a round trip of a 3-day-old purchase) and the takeover's evidence with lineage:"
"${PSQL[@]}" -c "SELECT id, rule_id, action, investor_id, order_id, hold_id, status FROM fraud_alerts WHERE investor_id = 'INV-FR1' ORDER BY id"
"${PSQL[@]}" -c "SELECT e->>'event_id' AS evidence_event, e->>'lineage' AS lineage FROM fraud_alerts, jsonb_array_elements(evidence) e WHERE id = '$ALERT'"
echo "-- the hold (GET /v1/ops/holds as ops-asha), and the order as its investor sees it (under_review, no rule):"
j "$OPS_A" GET "/v1/ops/holds?investor_id=INV-FR1"
HOLD=$("${PSQL[@]}" -At -c "SELECT hold_id FROM fraud_alerts WHERE id = '$ALERT'")
j "$("$FF" token --role investor --sub user-INV-FR1 --investor INV-FR1)" GET /v1/orders/FR-R1
echo "-- ops-asha closes the alert (the customer confirmed the change by phone); her release is refused (four eyes):"
j "$OPS_A" POST "/v1/ops/alerts/$ALERT/close" '{"status":"false_positive","note":"customer confirmed the new account by a call to the registered number"}' | grep -E '"(status|last_touched_by|note)"' || true
j "$OPS_A" POST "/v1/ops/holds/$HOLD/release"
echo "-- ops-bala releases it:"
j "$OPS_B" POST "/v1/ops/holds/$HOLD/release"
"${PSQL[@]}" -c "SELECT entity, entity_id, action, actor FROM audit_log WHERE (entity = 'fraud_alert' AND entity_id = '$ALERT') OR (entity = 'order_hold' AND entity_id = '$HOLD') ORDER BY seq"
kill $FRAUD_PID 2>/dev/null || true; wait $FRAUD_PID 2>/dev/null || true
echo "-- the backtest of the shipped rules over today's stored history (acts on nothing):"
"$FF" --log-level warn fraud backtest --from "$(date -u +%F)" --to "$(date -u +%F)"
echo "Fraud: the console page $API/ops/fraud (sign in with an ops token); serve's log $DEMO/fraud-serve.log;"
echo "  . $DEMO/env; psql \"\$FUNDFLOW_PG_URL\" -c \"SELECT id, rule_id, status, hold_id FROM fraud_alerts ORDER BY raised_at\""
echo "  . $DEMO/env; bin/fundflow fraud backtest --from $(date -u +%F) --to $(date -u +%F)"
