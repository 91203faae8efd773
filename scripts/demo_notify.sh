# Sourced by scripts/demo.sh after the SIPs: the demo investors' order, SIP
# and statement-period notifications through Mailpit (SMTP with STARTTLS and
# AUTH), one message sent to dead letter and replayed, one SMS through the
# Twilio stand-in and its delivery receipt.
# Uses FF, PSQL, DEMO and step from demo.sh; FUNDFLOW_SMTP_* and
# FUNDFLOW_MAILPIT_API from scripts/services.sh.

step "notifications: the demo's events to email through Mailpit (fundflow notify run)"
# The demo investors have no contact details: give each an address at a demo domain.
"${PSQL[@]}" -c "UPDATE investors SET email = lower(replace(id, '_', '-')) || '@demo.fundflow.test' WHERE email = ''"
# One investor wants no messages at night (22:00-07:00 IST): non-urgent ones
# wait for 07:00 IST (queued), urgent ones (a failed SIP debit) still go.
"${PSQL[@]}" -c "INSERT INTO notify_preferences (investor_id, event_type, channels, quiet_start, quiet_end)
  SELECT id, '*', '{email}', 1320, 420 FROM investors ORDER BY id LIMIT 1 ON CONFLICT DO NOTHING"
# Up to here the demo's events were written without notifications: send the
# latest 300 of the outbox (history older than that is marked done).
"${PSQL[@]}" -c "UPDATE outbox SET notified_at = now() WHERE notified_at IS NULL AND id <= (SELECT max(id) - 300 FROM outbox)"
"$FF" --log-level warn notify run --facts > "$DEMO/notify-run.json"
echo "-- notify run: $(cat "$DEMO/notify-run.json")"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT event_type, channel, status, count(*) AS notifications FROM notifications GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT left(reason, 90) AS dead_letter_reason, count(*) FROM notify_dead_letters WHERE replayed_at IS NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 5;
SQL
echo "-- a dead letter and its replay: one more order event, sent while the SMTP server is away (one attempt), then replayed:"
"${PSQL[@]}" -c "INSERT INTO outbox (event_id, topic, key, payload)
  SELECT 'demo-replay:' || event_id, topic, key, jsonb_set(payload, '{event_id}', to_jsonb('demo-replay:' || event_id))
  FROM outbox WHERE topic = 'orders.status' ORDER BY id DESC LIMIT 1"
"$FF" --log-level error notify run --smtp-addr 127.0.0.1:9 --max-attempts 1 > "$DEMO/notify-down.json" 2>&1 || true
"${PSQL[@]}" -c "SELECT event_id, channel, status, left(last_error, 70) AS last_error FROM notifications WHERE event_id LIKE 'demo-replay:%'"
"$FF" --log-level warn notify replay
"$FF" --log-level warn notify run --facts > /dev/null
"${PSQL[@]}" -c "SELECT n.id, n.event_id, n.channel, n.status, n.attempts, d.reason AS was_dead_because, d.replayed_at IS NOT NULL AS replayed
  FROM notify_dead_letters d JOIN notifications n ON n.id = d.notification_id ORDER BY d.id LIMIT 3"
echo "-- an SMS and its delivery receipt (DLR): the Twilio stand-in (fundflow notify twilio-sim) delivers each message 300 ms after taking it;"
echo "   the receipt poll (fundflow notify receipts, serve runs it every notify.receipts_every) fetches its status and records it:"
export FUNDFLOW_TWILIO_AUTH_TOKEN=${FUNDFLOW_TWILIO_AUTH_TOKEN:-demo-twilio-token}
SMS_ARGS=(--twilio-url http://127.0.0.1:18095 --twilio-account-sid ACdemo --twilio-from +15005550006)
"$FF" --log-level warn notify twilio-sim --listen 127.0.0.1:18095 --account-sid ACdemo --deliver-after 300ms > "$DEMO/twilio-sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18095/ && break; sleep 0.1; done
# The investor of the latest order event (an order names its folio, the
# planner found the investor) takes order updates by email and SMS.
SMS_INV=$("${PSQL[@]}" -Atc "SELECT investor_id FROM notifications WHERE event_type = 'orders.status' ORDER BY id DESC LIMIT 1")
"${PSQL[@]}" -c "UPDATE investors SET phone = '+919800000001' WHERE id = '$SMS_INV' AND coalesce(phone, '') = ''"
"${PSQL[@]}" -c "INSERT INTO notify_preferences (investor_id, event_type, channels) VALUES ('$SMS_INV', 'orders.status', '{email,sms}')
  ON CONFLICT (investor_id, event_type) DO UPDATE SET channels = '{email,sms}', quiet_start = 0, quiet_end = 0, opted_out = false"
"${PSQL[@]}" -c "INSERT INTO outbox (event_id, topic, key, payload)
  SELECT 'demo-sms:' || event_id, topic, key, jsonb_set(payload, '{event_id}', to_jsonb('demo-sms:' || event_id))
  FROM outbox WHERE topic = 'orders.status' ORDER BY id DESC LIMIT 1"
"$FF" --log-level warn notify run "${SMS_ARGS[@]}" > "$DEMO/notify-sms.json"
sleep 1
echo "-- notify receipts: $("$FF" --log-level warn notify receipts --after 0s "${SMS_ARGS[@]}")"
"${PSQL[@]}" -c "SELECT event_id, channel, recipient, provider, provider_id, status, sent_at, delivered_at, right(body, 40) AS text_ends
  FROM notifications WHERE event_id LIKE 'demo-sms:%' ORDER BY channel"
kill "$SIM_PID" 2>/dev/null || true
wait "$SIM_PID" 2>/dev/null || true
echo "-- one email as Mailpit holds it (₹ in Indian grouping, folio masked):"
MID=$(curl -s "$FUNDFLOW_MAILPIT_API/api/v1/search?query=to%3Ademo.fundflow.test%20subject%3Aconfirmed&limit=1" | sed -n 's/.*"ID":"\([^"]*\)".*/\1/p' | head -n 1 || true)
if [ -n "$MID" ]; then
  curl -s "$FUNDFLOW_MAILPIT_API/view/$MID.txt" | sed 's/^/    /' || true
  echo "  (in the web UI: $FUNDFLOW_MAILPIT_API/view/$MID)"
fi
echo "-- ClickHouse notification_facts (delivery rates by channel and provider):"
"${CHQ[@]}" -q "SELECT channel, provider, status, count() AS n FROM notification_facts FINAL GROUP BY channel, provider, status ORDER BY channel, status FORMAT PrettyCompact"
echo "Mailpit's web UI (every email the demo sent): $FUNDFLOW_MAILPIT_API"
