# Sourced by scripts/demo.sh after the notifications: managed investing
# (issue 22). A wallet deposit arrives as a signed payment webhook and is
# auto-invested into a moderate model; a NAV moves; the drift is measured,
# a rebalance dry run shows the switches with their estimated exit load and
# tax, and the rebalance is executed through the ledger; then the quarter's
# fees are billed on schedule with an invoice (CSV and PDF), and the
# investor exits (the performance fee crystallised). Uses FF, PSQL, DEMO, step
# and the money path's webhook() and MONEY from demo.sh/demo_money.sh.

step "managed investing: a wallet deposit auto-invested into a moderate model (fundflow run managed)"
# Three equity schemes priced on Fri 21-Aug-2026, none the other demos use.
read -r MA MB MC <<<"$("${PSQL[@]}" -At -c "SELECT string_agg(code, ' ') FROM (SELECT DISTINCT ON (cat) s.code, cat FROM (
    SELECT s.code, CASE WHEN s.category ILIKE '%Large Cap%' THEN 'a' WHEN s.category ILIKE '%Mid Cap%' THEN 'b' WHEN s.category ILIKE '%Small Cap%' THEN 'c' END AS cat
    FROM schemes s JOIN navs n ON n.scheme_code = s.code AND n.nav_date = '2026-08-21'
    WHERE s.code NOT IN (SELECT DISTINCT scheme_code FROM orders)) s
  WHERE cat IS NOT NULL ORDER BY cat, code) x")"
echo "model schemes: $MA (large cap) 40 %, $MB (mid cap) 35 %, $MC (small cap) 25 %"
cat > "$DEMO/model-moderate.json" <<JSON
{"id": "moderate", "version": 1, "profile": "moderate", "effective": "2026-01-01", "schemes": [
  {"scheme": "$MA", "weight": "40", "min": "1000.00", "multiple": "1.00"},
  {"scheme": "$MB", "weight": "35", "min": "1000.00", "multiple": "1.00"},
  {"scheme": "$MC", "weight": "25", "min": "5000.00", "multiple": "1.00"}]}
JSON
echo "-- a model whose weights sum to 99 is refused at load (exit 2):"
sed 's/"weight": "25"/"weight": "24"/' "$DEMO/model-moderate.json" > "$DEMO/model-bad.json"
"$FF" --log-level error managed model "$DEMO/model-bad.json" || echo "(exit code $?)"
"$FF" --log-level warn managed model "$DEMO/model-moderate.json"
"${PSQL[@]}" -c "INSERT INTO investors (id) VALUES ('MW-INV-1') ON CONFLICT DO NOTHING"
"$FF" --log-level warn managed wallet --wallet MW-1 --investor MW-INV-1 --model moderate --folio MW-F1
# Fee terms from 1 Jul (1.0 % a year), from 25 Aug 1.5 % with a 10 % performance fee: the quarter
# billed below changes rate mid-quarter. The daily run values the wallet every day; on 1 Jul it held nothing
# (on 21 Aug, run managed values it before it credits the deposit: 0.00 too).
"$FF" --log-level warn managed fees terms --wallet MW-1 --from 2026-07-01 --aum-rate 1.0 > /dev/null
"$FF" --log-level warn managed fees terms --wallet MW-1 --from 2026-08-25 --aum-rate 1.5 --perf 10 > /dev/null
"$FF" --log-level warn managed fees value --day 2026-07-01 > /dev/null
"$FF" --log-level warn serve > "$DEMO/managed-serve.log" 2>&1 &
MW_PID=$!
for _ in $(seq 1 100); do curl -sf "$MONEY/healthz" >/dev/null && break; sleep 0.1; done
echo "-- a deposit of ₹1,00,000.01 to wallet MW-1 (notes.order_id wallet:MW-1), and one naming no wallet"
webhook evt_MW1 pay_MW1 wallet:MW-1 10000001 captured
webhook evt_MW2 pay_MW2 wallet:NO-SUCH 50000 captured
kill $MW_PID 2>/dev/null || true; wait $MW_PID 2>/dev/null || true
"$FF" --log-level warn run managed --clock 2026-08-21T11:30:00+05:30
"$FF" --log-level warn run allocate > /dev/null
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT payment_id, reason, left(detail, 70) AS detail FROM payment_breaks WHERE reason LIKE 'wallet_%';
SELECT o.id AS order_id, o.scheme_code, o.status, t.amount, t.stamp_duty, t.units::numeric(24,3) AS units, t.nav::numeric(18,4) AS nav
FROM orders o LEFT JOIN ledger_transactions t ON t.order_id = o.id WHERE o.id LIKE 'AI-pay_MW1-%' ORDER BY 1;
SELECT id AS wallet, balance FROM wallets WHERE id = 'MW-1';
SQL

step "a NAV move, the drift, a rebalance dry run (plain and tax-aware), and the rebalance through the ledger"
echo "-- simulated NAVs for Mon 24-Aug-2026: $MA up 20 %, the others flat"
"${PSQL[@]}" -c "INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line)
  SELECT scheme_code, '2026-08-24', round(nav * CASE WHEN scheme_code = '$MA' THEN 1.2 ELSE 1 END, 4), nav_source('demo_managed', 'demo'), 1
  FROM navs WHERE nav_date = '2026-08-21' AND scheme_code IN ('$MA', '$MB', '$MC') ON CONFLICT DO NOTHING" \
  -c "UPDATE nav_latest l SET nav_date = n.nav_date, nav = n.nav FROM navs n WHERE n.scheme_code = l.scheme_code AND n.nav_date = '2026-08-24'
  AND l.scheme_code IN ('$MA', '$MB', '$MC')"
RB=(--wallet MW-1 --threshold 3 --clock 2026-08-24T11:00:00+05:30)
"$FF" --log-level warn managed rebalance "${RB[@]}" --dry-run > "$DEMO/rebalance-dry-run.json"
"$FF" --log-level warn managed rebalance "${RB[@]}" --dry-run --tax-aware > "$DEMO/rebalance-dry-run-tax-aware.json"
python3 - "$DEMO/rebalance-dry-run.json" "$DEMO/rebalance-dry-run-tax-aware.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    p = json.load(open(f))["plan"]
    print("--", "tax-aware" if p["tax_aware"] else "plain", "dry run:", f)
    for s in p["drift"]["schemes"]:
        print(f"   {s['scheme']:>8} value {s['value']:>10} target {s['target_pct']:>3} % actual {s['actual_pct']:>8} % drift {s['drift_pp']:>8} pp")
    for s in p["switches"]:
        print(f"   switch {s['from']} -> {s['to']}: {s['amount']}")
    for e in p["estimates"]:
        print(f"   redeem {e['scheme']} {e['amount']}: {e['units']} units, exit load {e['exit_load']}, short-term gain {e['short_term_gain']}, estimated tax {e['estimated_tax']}")
PY
"$FF" --log-level warn managed rebalance "${RB[@]}" > "$DEMO/rebalance.json"
"$FF" --log-level warn managed rebalance "${RB[@]}" > /dev/null   # again: the same run, nothing placed twice
"$FF" --log-level warn run allocate > /dev/null
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT o.id AS leg, o.kind, o.scheme_code, o.status, t.amount, t.net_amount, t.exit_load, t.stamp_duty, t.units::numeric(24,3) AS units
FROM orders o LEFT JOIN ledger_transactions t ON t.order_id = o.id WHERE o.switch_id LIKE 'RB-MW-1-%' ORDER BY o.id;
SELECT topic, count(*) AS events FROM outbox WHERE topic LIKE 'rebalance.%' OR topic IN ('wallet.deposited', 'autoinvest.orders.placed') GROUP BY 1 ORDER BY 1;
SQL
"$FF" --log-level warn managed rebalance "${RB[@]}" --run-id RB-MW-1-after --dry-run | python3 -c 'import json,sys; p=json.load(sys.stdin)["plan"]; print("-- after: over threshold?", p["drift"]["over_threshold"], "| drift pp:", ", ".join(s["scheme"]+" "+s["drift_pp"] for s in p["drift"]["schemes"]))'

step "a quarter's fees, billed on schedule: 1 Jul-30 Sep 2026, 1.0 % a year then 1.5 % from 25 Aug, GST, the invoice (CSV and PDF)"
echo "-- the daily valuations of the weekdays 24 Aug-30 Sep (the daily run writes them; the demo has no NAV after"
echo "   24 Aug, so September values the holdings at 24 Aug's NAVs); weekends and holidays carry the day before"
for d in $(python3 -c 'import datetime as t
d = t.date(2026, 8, 24)
while d <= t.date(2026, 9, 30):
    if d.weekday() < 5: print(d)
    d += t.timedelta(1)'); do
  "$FF" --log-level warn managed fees value --day "$d" > /dev/null
done
"${PSQL[@]}" -c "SELECT min(day) AS first, max(day) AS last, count(*) AS valuations, min(aum) AS min_aum, max(aum) AS max_aum FROM fee_valuations WHERE wallet_id = 'MW-1'"
echo "-- the quarterly billing (serve runs it daily at 06:00 IST, pipelines.managed.fees.bill_schedule): on Thu 1 Oct,"
echo "   the first business day after 30 Sep, it bills the quarter once; at 10:00 the same day it reads nothing"
"$FF" --log-level warn run managed-fees --clock 2026-10-01T06:00:00+05:30 > "$DEMO/fee-quarter-run.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("  ", r["period_from"], "..", r["period_to"], r["status"], "wallets", r["wallets_billed"], "total", r["total"], "due", r["invoices_due"])' "$DEMO/fee-quarter-run.json"
"$FF" --log-level warn run managed-fees --clock 2026-10-01T10:00:00+05:30 | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   again:", r["status"], "wallets", r["wallets_billed"])'
"${PSQL[@]}" -c "SELECT id, aum_fee, perf_fee, gst, total, status FROM fee_invoices WHERE wallet_id = 'MW-1'"
echo "-- the wallet's cash (0.01) does not cover it: the invoice is due. A ₹1,500.00 deposit (below every model"
echo "   minimum, so it stays in the wallet with its reasons), then run managed pays the invoice from the cash"
"$FF" --log-level warn serve > "$DEMO/managed-serve.log" 2>&1 &
MW_PID=$!
for _ in $(seq 1 100); do curl -sf "$MONEY/healthz" >/dev/null && break; sleep 0.1; done
webhook evt_MW3 pay_MW3 wallet:MW-1 150000 captured
kill $MW_PID 2>/dev/null || true; wait $MW_PID 2>/dev/null || true
"$FF" --log-level warn run managed --clock 2026-10-01T10:00:00+05:30 > /dev/null
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT payload->>'leftover' AS left_in_wallet, payload->'leftovers' AS reasons FROM outbox WHERE event_id = 'autoinvest.orders.placed:pay_MW3';
SELECT id, aum_fee, perf_fee, gst, total, status FROM fee_invoices WHERE wallet_id = 'MW-1';
SELECT t.kind, t.ref, p.account, p.amount::numeric(18,2) FROM wallet_transactions t JOIN wallet_postings p ON p.tx_id = t.id
WHERE t.wallet_id = 'MW-1' AND t.kind = 'fee' ORDER BY t.id, p.seq;
SELECT id AS wallet, balance FROM wallets WHERE id = 'MW-1';
SQL
QINV=FEE-MW-1-2026-07-01-2026-09-30
"$FF" --log-level warn managed fees bill --wallet MW-1 --from 2026-07-01 --to 2026-09-30 --out "$DEMO/invoices" > "$DEMO/fee-invoice.json"   # the invoice made, written out
cat "$DEMO/invoices/$QINV.csv"
pdftoppm -png -r 70 -singlefile "$DEMO/invoices/$QINV.pdf" "$DEMO/invoices/invoice-page1" 2>/dev/null || true

step "an exit: the investor leaves managed investing on Mon 5 Oct; the performance fee to that day is crystallised before the payout, once"
"$FF" --log-level warn managed exit --wallet MW-1 --request EXIT-MW-1 --clock 2026-10-05T11:00:00+05:30 > "$DEMO/exit.json"
"$FF" --log-level warn managed exit --wallet MW-1 --request EXIT-MW-1 --clock 2026-10-05T11:05:00+05:30 | python3 -c 'import json,sys; print("-- the same exit again:", json.load(sys.stdin)["status"])'
"$FF" --log-level warn managed fees bill --wallet MW-1 --from 2026-10-01 --to 2026-10-05 --out "$DEMO/invoices" > /dev/null   # the exit's invoice, written out
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT id, aum_fee, perf_fee, gst, total, status FROM fee_invoices WHERE wallet_id = 'MW-1' ORDER BY period_from;
SELECT hwm_gain AS high_water_mark_net_of_flows, as_of FROM fee_hwm WHERE wallet_id = 'MW-1';
SELECT t.id, t.kind, t.ref, t.amount FROM wallet_transactions t WHERE t.wallet_id = 'MW-1' AND t.kind IN ('fee', 'withdrawal') ORDER BY t.id;
SELECT w.id AS wallet, w.status, w.balance, a.enabled AS auto_invest FROM wallets w JOIN autoinvest_terms a ON a.wallet_id = w.id WHERE w.id = 'MW-1';
SQL
ls -l "$DEMO/invoices"
echo "-- wallet flows and fees copied to ClickHouse wallet_facts (once: the second pass copies nothing):"
"$FF" --log-level warn managed fees facts
"$FF" --log-level warn managed fees facts
echo "-- a pool distribution's shares (the largest remainder to the paisa, as pool distributions split):"
"$FF" check distribute --amount 1000.00 --units 1,1,1
echo "Managed investing, where to look: $DEMO/rebalance-dry-run*.json $DEMO/rebalance.json $DEMO/fee-quarter-run.json $DEMO/exit.json"
echo "  the quarter's invoice: $DEMO/invoices/$QINV.csv and $DEMO/invoices/$QINV.pdf (the exit's beside it)"
echo "  . $DEMO/env; bin/fundflow managed balance --wallet MW-1; bin/fundflow managed fees bill --wallet MW-1 --from 2026-07-01 --to 2026-09-30"
echo "  ClickHouse: SELECT kind, count(), sum(amount) FROM wallet_facts FINAL GROUP BY kind"
