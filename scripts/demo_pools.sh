# Sourced by scripts/demo.sh after managed investing: an investment pool
# (issue 22). Three wallets are funded through signed payment webhooks;
# each contributes ₹1,000.00 before the cut-off, the day's pool NAV prices
# them at the launch NAV; ₹1,000.00 is distributed over their thirds by the
# largest remainder (one member reinvests); then a contribution after the
# cut-off and a withdrawal are priced at the next business day's NAV.
# Then a second pool invests its contributions in the moderate model of
# scripts/demo_managed.sh (MA, MB, MC) through the ledger.
# Uses FF, PSQL, CHQ, DEMO, step and the money path's webhook() and MONEY.

step "an investment pool: three members, the daily pool NAV, a ₹1,000.00 distribution (fundflow pool)"
"${PSQL[@]}" -c "INSERT INTO investors (id) VALUES ('PL-INV-1'), ('PL-INV-2'), ('PL-INV-3') ON CONFLICT DO NOTHING" > /dev/null
for i in 1 2 3; do "$FF" --log-level warn managed wallet --wallet "PL-W$i" --investor "PL-INV-$i"; done
"$FF" --log-level warn serve > "$DEMO/pools-serve.log" 2>&1 &
PL_PID=$!
for _ in $(seq 1 100); do curl -sf "$MONEY/healthz" >/dev/null && break; sleep 0.1; done
for i in 1 2 3; do webhook "evt_PL$i" "pay_PL$i" "wallet:PL-W$i" 500000 captured; done   # ₹5,000.00 each
kill $PL_PID 2>/dev/null || true; wait $PL_PID 2>/dev/null || true
"$FF" --log-level warn run managed --clock 2026-08-21T10:00:00+05:30 > /dev/null
"$FF" --log-level warn pool create PL-1 --name "Demo income pool" --launch 10.0000 --cutoff 15:00 > /dev/null
echo "-- Fri 21-Aug-2026 10:00 IST, before the 15:00 cut-off: each contribution gets that day's pool NAV"
for i in 1 2 3; do
  "$FF" --log-level warn pool contribute --pool PL-1 --wallet "PL-W$i" --request "PLC-1-$i" --amount 1000.00 --clock 2026-08-21T10:00:00+05:30
done
echo "-- the day's pool NAV: no units yet, so the launch NAV 10.0000; 1,000.00 / 10 = 100.000 units each"
"$FF" --log-level warn pool nav --day 2026-08-21 --pool PL-1 | tee "$DEMO/pool-nav-0821.json"
"$FF" --log-level warn pool reinvest --pool PL-1 --wallet PL-W2 > /dev/null
echo "-- ₹1,000.00 over three thirds: 333.34 (the paisa left goes to the first), 333.33, 333.33; PL-W2 reinvests at the"
echo "   ex-distribution NAV (3,000.00 − 1,000.00) / 300.000 = 6.6667: 333.33 / 6.6667 → 49.999 units"
"$FF" --log-level warn pool distribute --pool PL-1 --record 2026-08-21 --amount 1000.00 | tee "$DEMO/pool-distribution.json"
"$FF" --log-level warn pool distribute --pool PL-1 --record 2026-08-21 --amount 1000.00 > /dev/null   # again: the same, paid once
echo "-- the same split by the dry run (fundflow check distribute, the same code):"
"$FF" check distribute --amount 1000.00 --units 100,100,100
echo "-- 16:00 IST, after the cut-off: a contribution and a withdrawal wait for Mon 24-Aug's pool NAV"
"$FF" --log-level warn pool contribute --pool PL-1 --wallet PL-W1 --request PLC-2-1 --amount 500.00 --clock 2026-08-21T16:00:00+05:30
"$FF" --log-level warn pool withdraw --pool PL-1 --wallet PL-W3 --request PLW-1-3 --units 50.000 --clock 2026-08-21T16:00:00+05:30
"$FF" --log-level warn pool nav --day 2026-08-24 --pool PL-1 > "$DEMO/pool-nav-0824.json"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT nav_date, nav, holdings, cash, units, launch FROM pool_navs WHERE pool_id = 'PL-1' ORDER BY nav_date;
SELECT id AS request, wallet_id, kind, amount, units, nav_date, nav, status FROM pool_requests WHERE pool_id = 'PL-1' ORDER BY received_at, id;
SELECT wallet_id, units, amount, reinvested FROM pool_distribution_shares WHERE pool_id = 'PL-1' ORDER BY wallet_id;
SELECT m.wallet_id, m.units, m.reinvest, w.balance AS wallet_balance FROM pool_members m JOIN wallets w ON w.id = m.wallet_id
WHERE m.pool_id = 'PL-1' ORDER BY 1;
SELECT cash, units, last_nav_date FROM pools WHERE id = 'PL-1';
SELECT topic, count(*) AS events FROM outbox WHERE topic LIKE 'pool.%' GROUP BY 1 ORDER BY 1;
SQL
"$FF" --log-level warn pool show PL-W1
"$FF" --log-level warn pool facts --from 2026-08-01 --to 2026-08-31 > /dev/null
"${CHQ[@]}" -q "SELECT day, kind, count() AS rows, sum(units) AS units, sum(amount) AS amount FROM pool_facts FINAL WHERE pool_id = 'PL-1' GROUP BY day, kind ORDER BY day, kind FORMAT PrettyCompact"

step "a pool investing its cash: the day's contributions bought into the moderate model as ordinary purchases (pool --model/--folio)"
# The pool's purchases go into its own folio PL-F2 (investor PL-INV-P).
"${PSQL[@]}" -c "INSERT INTO investors (id) VALUES ('PL-INV-P') ON CONFLICT DO NOTHING" \
  -c "INSERT INTO folios (folio_no, investor_id) VALUES ('PL-F2', 'PL-INV-P') ON CONFLICT DO NOTHING" > /dev/null
"$FF" --log-level warn pool create PL-2 --name "Demo managed pool" --launch 10.0000 --cutoff 15:00 --model moderate --folio PL-F2
echo "-- Fri 21-Aug 10:00 IST: PL-W1 and PL-W3 contribute 2,000.00 each; the day's pool NAV (21:00) is the launch NAV,"
echo "   200.000 units each; the batch 4,000.00 splits as a wallet deposit does: $MA 40 % 1,600.00, $MB 35 % 1,400.00,"
echo "   $MC 25 % 1,000.00 below its 5,000.00 minimum, so 1,000.00 stays in the pool's cash with that reason"
for i in 1 3; do
  "$FF" --log-level warn pool contribute --pool PL-2 --wallet "PL-W$i" --request "PL2C-$i" --amount 2000.00 --clock 2026-08-21T10:00:00+05:30 > /dev/null
done
"$FF" --log-level warn pool nav --day 2026-08-21 --pool PL-2 --clock 2026-08-21T21:00:00+05:30 | tee "$DEMO/pool2-nav-0821.json"
echo "-- placed after the schemes' 15:00 cut-off: allotted at Mon 24-Aug's NAVs (run allocate); the 24th's pool NAV values"
echo "   the units at those NAVs: (holdings + 1,000.00 cash) / 400.000 = 9.9972: 3,998.87, 1.13 short of 4,000.00,"
echo "   0.15 the stamp duty (0.08 + 0.07) and ~0.98 the units rounded down to 3 places (at NAVs of ~187 and ~973)"
"$FF" --log-level warn run allocate > /dev/null
"$FF" --log-level warn pool nav --day 2026-08-24 --pool PL-2 --clock 2026-08-24T21:00:00+05:30 > "$DEMO/pool2-nav-0824.json"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT r.nav_date, r.batch, r.invested, r.split->'leftovers' AS leftovers, r.status FROM pool_invest_runs r WHERE r.pool_id = 'PL-2';
SELECT o.request_id AS order_id, o.scheme_code, o.status, t.amount, t.stamp_duty, t.units::numeric(24,3) AS units, t.nav::numeric(18,4) AS nav
FROM orders o LEFT JOIN ledger_transactions t ON t.order_id = o.id WHERE o.folio_no = 'PL-F2' ORDER BY 1;
SELECT nav_date, nav, holdings, investing AS in_purchases, cash, units FROM pool_navs WHERE pool_id = 'PL-2' ORDER BY nav_date;
SQL
step "a pool's quarter billed on the schedule: PL-1's fees of 1 Jul-30 Sep 2026 (fundflow run managed-fees)"
echo "-- PL-1's terms from Tue 25-Aug: 1 % a year (10 % performance, crystallised at the year's end in March); the pool NAVs"
echo "   of 25-Aug and 30-Sep accrue it (30-Sep's carries 25-Aug's AUM over 26-Aug..29-Sep)"
"$FF" --log-level warn pool fees terms --pool PL-1 --from 2026-08-25 --aum-rate 1.00 --perf 10 > /dev/null
for d in 2026-08-25 2026-09-30; do "$FF" --log-level warn pool nav --day "$d" --pool PL-1 > "$DEMO/pool-nav-${d//-/}.json"; done
echo "-- Thu 1-Oct 07:00 IST, the first business day after the quarter: the managed-fees run bills the pools next to the"
echo "   wallets (the wallets' quarter was billed at 06:00 above: already_billed); again at 10:00 it reads nothing"
"$FF" --log-level warn run managed-fees --clock 2026-10-01T07:00:00+05:30 | tee "$DEMO/pool-fee-quarter-run.json" | python3 -c 'import json,sys; r=json.load(sys.stdin); p=r["pools"]; print("   wallets:", r["status"], "| pools:", p["status"], p["period_from"], "..", p["period_to"], "billed", p["pools_billed"], "total", p["total"], "invoices", p.get("invoices"))'
"$FF" --log-level warn run managed-fees --clock 2026-10-01T10:00:00+05:30 | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   again: pools", r["pools"]["status"])'
"$FF" --log-level warn pool fees bill --pool PL-1 --from 2026-07-01 --to 2026-09-30 --out "$DEMO/pool-fees" > /dev/null   # the same invoice, written out
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT nav_date, days_from, days_to, aum, fee, invoice_id FROM pool_fee_accruals WHERE pool_id = 'PL-1' ORDER BY nav_date;
SELECT id, period_from, period_to, aum_fee, perf_fee, gst, total, status FROM pool_fee_invoices WHERE pool_id = 'PL-1';
SELECT cash, fee_accrued FROM pools WHERE id = 'PL-1';
SQL
echo "PL-1's quarter invoice: $DEMO/pool-fees/PFEE-PL-1-2026-07-01-2026-09-30.csv and .pdf; the run: $DEMO/pool-fee-quarter-run.json"
echo "Pools, where to look: $DEMO/pool-distribution.json $DEMO/pool-nav-*.json $DEMO/pool2-nav-*.json"
echo "  . $DEMO/env; bin/fundflow pool show PL-W1   # its units in PL-1 and PL-2, their latest NAV and value"
echo "  . $DEMO/env; psql \"\$FUNDFLOW_PG_URL\" -c \"SELECT nav_date, nav, holdings, investing, cash, units FROM pool_navs WHERE pool_id = 'PL-2'\""
echo "  GET /v1/wallets/PL-W1/pools (an investor token for PL-INV-1)"
