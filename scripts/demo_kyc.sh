# Sourced by scripts/demo.sh after the notifications: investors and KYC
# (issue 23). Two investors are onboarded through the API (a third is
# refused with the fields named), the KRAs' status file validates both,
# their bank accounts are verified by penny drop at the stand-in gateway
# (one name does not match), one PAN turns inoperative: its paid order is
# held with the reason, and released by the next PAN-Aadhaar file; the
# other's redemption (a payout) waits for a verified bank account, and the
# refund of his cancelled paid purchase is a payout hold, read through
# GET /v1/investors/{id}/payout-holds and GET /v1/ops/payout-holds. Then
# the reports. Uses FF, PSQL, DEMO, EQ, order, webhook and step from demo.sh
# and demo_money.sh.

step "investors and KYC: onboarding API, KRA feed, penny drop, held orders and payouts (scripts/demo_kyc.sh)"
KYCDIR=$DEMO/kyc
rm -rf "$KYCDIR" && mkdir -p "$KYCDIR/inbox"
export FUNDFLOW_RAZORPAYX_WEBHOOK_SECRET=${FUNDFLOW_RAZORPAYX_WEBHOOK_SECRET:-demo_rzpx_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')}
export FUNDFLOW_RZP_KEY_ID=${FUNDFLOW_RZP_KEY_ID:-rzp_demo_kyc}
export FUNDFLOW_RZP_KEY_SECRET=${FUNDFLOW_RZP_KEY_SECRET:-demo_kyc_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')}
# The demo's config with the KYC section: KRA files from a folder, bank
# verification against the stand-in gateway on 127.0.0.1:18095.
awk -v dir="$KYCDIR/inbox" '{ print } /^pipelines:$/ {
  print "  kra:"
  print "    source: {kind: file, path: " dir ", stable_for: 0s}"
  print "    banks:"
  print "      source_account: \"7878780080316316\""
  print "      gateway: {base_url: \"http://127.0.0.1:18095\"}"
}' "$DEMO/fundflow.yaml" > "$KYCDIR/fundflow.yaml"
KFF=("$FF" --config "$KYCDIR/fundflow.yaml" --log-level warn)
"${KFF[@]}" kyc gateway-sim --webhook-url http://127.0.0.1:18090/webhooks/razorpayx/validations \
  --bank "HDFC0001234:50100012345678:ASHA K RAO" --bank "ICIC0000104:000104567890:RAVINDRA SHARMA" > "$KYCDIR/gateway.log" 2>&1 &
SIM_PID=$!
"${KFF[@]}" serve > "$KYCDIR/serve.log" 2>&1 &
KYC_PID=$!
trap 'kill $KYC_PID $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && curl -sf "$MONEY/healthz" >/dev/null && break; sleep 0.1; done
KAPI=http://127.0.0.1:18080
ADMIN=$("$FF" token --role admin --sub onboarding-service)

echo "-- POST /v1/investors (the onboarding service, an admin token): two investors, and one the rules refuse"
onboard() { curl -s -w '  HTTP %{http_code}\n' -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$1" "$KAPI/v1/investors" | cut -c1-400; }
onboard '{"investor_id":"KYC-ASHA","name":"Asha Rao","pan":"ABCPE1234F","dob":"1990-04-01","tax_status":"resident_individual",
  "email":"asha@demo.fundflow.test","mobile":"+91 98765 43210","address":{"line1":"12 MG Road","city":"Bengaluru","state":"KA","pincode":"560001","country":"IN"},
  "bank_accounts":[{"account_no":"50100012345678","ifsc":"HDFC0001234","holder_name":"Asha Rao","type":"savings","default":true}],
  "nominees":[{"name":"Ravi Rao","relationship":"spouse","share":"100"}],
  "fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}'
onboard '{"investor_id":"KYC-RAVI","name":"Ravi Kumar","pan":"ZZZPZ9999Z","dob":"1985-11-30","tax_status":"resident_individual",
  "email":"ravi@demo.fundflow.test","mobile":"9812345678","address":{"line1":"4 Park Street","city":"Kolkata","state":"WB","pincode":"700016","country":"IN"},
  "bank_accounts":[{"account_no":"000104567890","ifsc":"ICIC0000104","holder_name":"Ravi Kumar","type":"savings","default":true}],
  "nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}'
onboard '{"investor_id":"KYC-BAD","name":"Bad Pan","pan":"ABCCE1234F","dob":"1990-04-01","tax_status":"resident_individual","email":"not-an-email",
  "mobile":"12","address":{"line1":"x","city":"y","pincode":"1","country":"IN"},"bank_accounts":[{"account_no":"1","ifsc":"HDFC1234","holder_name":"B","type":"savings","default":true}],
  "nominees":[{"name":"N","relationship":"spouse","share":"60"}]}'

echo "-- the KRAs' status file (both validated) through the kra job; the penny drops are asked at the gateway"
printf 'APP_PAN_NO|APP_NAME|APP_STATUS|APP_STATUSDT|APP_HOLD_DEACTIVE_RMKS\nABCPE1234F|ASHA RAO|07|20-08-2026 18:00:00|\nZZZPZ9999Z|RAVI KUMAR|07|20-08-2026 18:00:00|\nQQQPQ1111Q|NOT OURS|02|20-08-2026 18:00:00|\n' > "$KYCDIR/inbox/kra_status_20260820.txt"
"${KFF[@]}" kyc load
sleep 1 # the gateway's signed fund_account.validation.* webhooks reach serve
"${PSQL[@]}" -c "SELECT investor_id, account_mask, verification, name_match_score, verify_reason FROM investor_bank_accounts WHERE investor_id LIKE 'KYC-%' ORDER BY 1"
"${PSQL[@]}" -c "SELECT investor_id, status, account_status, name_match_score, reason, gateway_id FROM bank_validations ORDER BY investor_id"

echo "-- Asha's PAN turns inoperative (not linked to Aadhaar): the PAN-Aadhaar file"
printf 'APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nABCPE1234F|N|21-08-2026\n' > "$KYCDIR/inbox/pan_aadhaar_20260821.txt"
"${KFF[@]}" kyc load > /dev/null
echo "-- orders: Asha buys (paid), Ravi buys (paid), then Ravi redeems"
order '{"order_id":"KYC-1","type":"purchase","investor_id":"KYC-ASHA","folio":"KYC-F1","scheme_code":"'"$EQ"'","amount":"10000.00","placed_at":"2026-08-21T10:30:00+05:30"}'
webhook evt_kyc_1 pay_kyc_1 KYC-1 1000000 captured
order '{"order_id":"KYC-2","type":"purchase","investor_id":"KYC-RAVI","folio":"KYC-F2","scheme_code":"'"$EQ"'","amount":"5000.00","placed_at":"2026-08-21T10:35:00+05:30"}'
webhook evt_kyc_2 pay_kyc_2 KYC-2 500000 captured
for _ in $(seq 1 50); do [ "$("${PSQL[@]}" -At -c "SELECT status FROM orders WHERE id = 'KYC-2'")" = allotted ] && break; sleep 0.2; done
order '{"order_id":"KYC-3","type":"redemption","investor_id":"KYC-RAVI","folio":"KYC-F2","scheme_code":"'"$EQ"'","units":"10.000","placed_at":"2026-08-21T11:00:00+05:30"}'
sleep 1
"${PSQL[@]}" -c "SELECT o.id, o.investor_id, o.kind, o.status, h.source AS held_by, h.reason FROM orders o
  LEFT JOIN order_holds h ON h.order_id = o.id AND h.closed_at IS NULL WHERE o.id LIKE 'KYC-%' ORDER BY o.id"
ASHA=$("$FF" token --role investor --sub user-asha --investor KYC-ASHA)
echo "-- GET /v1/orders/KYC-1 as Asha (the held leg and its public reason):"
curl -s -H "Authorization: Bearer $ASHA" "$KAPI/v1/orders/KYC-1"; echo

echo "-- Ravi buys after the 15:00 cut-off (paid; Monday's NAV is not out yet) and cancels: his money is due back (refund_due),"
echo "   but his bank account failed verification, so the refund is a payout hold (raised by the bank pass of the next kyc load)"
order '{"order_id":"KYC-4","type":"purchase","investor_id":"KYC-RAVI","folio":"KYC-F2","scheme_code":"'"$EQ"'","amount":"2000.00","placed_at":"2026-08-21T16:00:00+05:30"}'
webhook evt_kyc_4 pay_kyc_4 KYC-4 200000 captured
order '{"order_id":"KYC-5","type":"cancel","target_order_id":"KYC-4","placed_at":"2026-08-21T16:05:00+05:30"}'

echo "-- the next PAN-Aadhaar file links Asha's PAN: the hold is released (re-decided on the release time)"
printf 'APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nABCPE1234F|Y|22-08-2026\n' > "$KYCDIR/inbox/pan_aadhaar_20260822.txt"
"${KFF[@]}" kyc load > /dev/null
"${PSQL[@]}" -c "SELECT order_id, source, reason, resolution, closed_by FROM order_holds WHERE order_id LIKE 'KYC-%' ORDER BY id"
"${PSQL[@]}" -c "SELECT id, status, nav_date FROM orders WHERE id = 'KYC-1'"

# The payout holds as the investor and ops see them (api/payoutholds.go).
RAVI=$("$FF" token --role investor --sub user-ravi --investor KYC-RAVI)
OPS=$("$FF" token --role ops --sub ops-kyc)
echo "-- GET /v1/investors/KYC-RAVI/payout-holds as Ravi (kind, amount, public reason; nothing internal):"
curl -s -H "Authorization: Bearer $RAVI" "$KAPI/v1/investors/KYC-RAVI/payout-holds"; echo
echo "-- GET /v1/ops/payout-holds as ops (everyone's open holds, with the subject):"
curl -s -H "Authorization: Bearer $OPS" "$KAPI/v1/ops/payout-holds?limit=20"; echo
echo "-- the same route as Ravi: 403 (ops only)"
curl -s -o /dev/null -w '  HTTP %{http_code}\n' -H "Authorization: Bearer $RAVI" "$KAPI/v1/ops/payout-holds"

echo "-- reports (fundflow kyc report): KYC status, no nomination, no FATCA, unverified banks, payouts held"
"${KFF[@]}" kyc report | cut -c1-150 | head -60
kill $KYC_PID $SIM_PID 2>/dev/null || true; wait $KYC_PID $SIM_PID 2>/dev/null || true
trap - EXIT
echo "KYC: $KYCDIR (config, KRA inbox, serve.log, gateway.log); . $DEMO/env; bin/fundflow --config $KYCDIR/fundflow.yaml kyc report"
