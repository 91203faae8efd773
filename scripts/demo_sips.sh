# Sourced by scripts/demo.sh after the money path: 13 months of SIPs.
# Uses FF, PSQL, DEMO, FIXTURES and step from demo.sh.

step "SIPs: 13 months of instalments on mandates (fundflow gen sips), over 13 months of NAVs"
# Two schemes of the real 18-Aug-2026 file: HDFC Mid Cap (Direct, Growth) and
# Axis ELSS Tax Saver (Direct, Growth); their history walked back from it.
SIP_SCHEMES=118989,120503
HOLIDAYS=(--holidays "$FIXTURES/calendar/nse_fo_holidays_2025.csv" --holidays "$FIXTURES/calendar/nse_fo_holidays_2026.csv")
"$FF" gen nav-history --from "$FIXTURES/amfi/navall/NAVAll_2026-08-18_last-6col.txt" --days 290 --history \
    --schemes "$SIP_SCHEMES" --out "$DEMO/sip-nav" "${HOLIDAYS[@]}" | grep -E '"(rows|first|last)"'
"$FF" --log-level warn backfill nav --dir "$DEMO/sip-nav" --from 2025-01-01 | grep -E '"(files|rows)"' || true
# What each scheme accepts (ops load these from the AMC's SIP terms).
"${PSQL[@]}" -c "INSERT INTO scheme_plan_terms (scheme_code, kind, frequency, min_amount, multiple, min_first_gap_days) VALUES
  ('118989', 'sip', 'monthly', 100, 100, 7), ('120503', 'sip', 'monthly', 500, 500, 7), ('120503', 'sip', 'weekly', 500, 500, 7)"
echo "-- when will a SIP on the 31st be debited? (fundflow check schedule; the instalment run uses the same code)"
"$FF" check schedule --frequency monthly --day 31 --start 2026-01-01 --count 4 \
    --holidays "$FIXTURES/calendar/nse_fo_holidays_2026.csv"
echo "-- replay 13 months: mandates confirmed by token webhooks, plans registered, then every day the instalment run"
echo "   (generate + pre-debit notice, present debits to the stand-in gateway, settle), signed payment webhooks, allotment"
"$FF" --log-level warn gen sips --schemes "$SIP_SCHEMES" --end 2026-08-18 > "$DEMO/sips.json"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT p.folio_no AS folio, p.scheme_code AS scheme, p.frequency, p.status,
       count(*) FILTER (WHERE i.status = 'allotted') AS allotted,
       count(*) FILTER (WHERE i.status = 'failed') AS failed,
       count(*) FILTER (WHERE i.status = 'skipped') AS skipped,
       min(i.amount) AS first_amount, max(i.amount) AS last_amount
FROM plans p JOIN plan_instalments i ON i.plan_id = p.id GROUP BY 1, 2, 3, 4, p.id ORDER BY 1, 2, 3;
SELECT i.due_date, p.scheme_code AS scheme, i.amount, i.status, i.reason, left(i.detail, 60) AS detail
FROM plan_instalments i JOIN plans p ON p.id = i.plan_id WHERE i.status IN ('failed', 'skipped') ORDER BY 1;
SELECT topic, count(*) AS events FROM outbox WHERE topic LIKE 'sip.%' GROUP BY 1 ORDER BY 1;
SQL
