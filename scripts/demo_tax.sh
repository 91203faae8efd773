# Sourced by scripts/demo.sh after folio-recon: investors' tax and corporate
# actions (issue 17). An IDCW paid out and one reinvested (TDS under 194K /
# 196A), a scheme merger, one investor's capital gains (JSON, CSV, ITR
# Schedule 112A and the PDF through the API), a grandfathered case through
# `check gains`. Uses FF, PSQL, DEMO, API, FIXTURES and step from demo.sh.

step "tax: IDCW declared and credited (fundflow tax idcw), payout and reinvestment with TDS"
mkdir -p "$DEMO/tax"
TAXT0=$SECONDS
TAXH="$FIXTURES/calendar/nse_fo_holidays_2026.csv"
# Four schemes held by a few dozen folios (not the most held: the demo shows the flow, each credit is its own
# transaction, and 358 of them were most of this step's ~50 s; the benchmark is where scale is measured): the first
# two get an IDCW on the last weekday of 2026 both have a NAV (the reinvestment's ex-NAV), the third merges into the
# fourth on the last date both have a NAV. One query: each psql is a process start too.
read -r IDP IDR MFROM MTO IDREC MDATE < <("${PSQL[@]}" -At -F ' ' <<'SQL'
WITH s AS (SELECT scheme_code, row_number() OVER (ORDER BY count(DISTINCT folio_no), scheme_code) AS n FROM holding_lots
  WHERE units_remaining > 0 GROUP BY 1 HAVING count(DISTINCT folio_no) >= 20),
c AS (SELECT max(scheme_code) FILTER (WHERE n = 1) AS p, max(scheme_code) FILTER (WHERE n = 2) AS r,
  max(scheme_code) FILTER (WHERE n = 3) AS mf, max(scheme_code) FILTER (WHERE n = 4) AS mt FROM s)
SELECT p, r, mf, mt,
  (SELECT max(a.nav_date) FROM navs a JOIN navs b ON b.nav_date = a.nav_date AND b.scheme_code = c.r
    WHERE a.scheme_code = c.p AND extract(isodow FROM a.nav_date) < 6 AND a.nav_date >= '2026-01-01'),
  (SELECT max(a.nav_date) FROM navs a JOIN navs b ON b.nav_date = a.nav_date AND b.scheme_code = c.mt
    WHERE a.scheme_code = c.mf AND a.nav_date >= (SELECT max(nav_date) FROM holding_lots WHERE scheme_code = c.mf))
FROM c
SQL
) || true
"$FF" --log-level warn tax idcw declare --scheme "$IDP" --record-date "$IDREC" --ex-date "$IDREC" --per-unit 20.00 --option payout \
  --id "DEMO-IDCW-P" --holidays "$TAXH" > "$DEMO/tax/idcw-payout-declared.json"
"$FF" --log-level warn tax idcw declare --scheme "$IDR" --record-date "$IDREC" --ex-date "$IDREC" --per-unit 15.00 --option reinvest \
  --id "DEMO-IDCW-R" --holidays "$TAXH" > "$DEMO/tax/idcw-reinvest-declared.json"
for id in DEMO-IDCW-P DEMO-IDCW-R; do
  echo "-- tax idcw run $id: $("$FF" --log-level warn tax idcw run "$id" | tr -d '\n ')"
done
echo "-- run again: each folio is credited exactly once: $("$FF" --log-level warn tax idcw run DEMO-IDCW-P | tr -d '\n ')"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT declaration_id, option, tds_section, count(*) AS folios, sum(gross) AS gross, sum(tds) AS tds, sum(net) AS net
FROM idcw_credits GROUP BY 1, 2, 3 ORDER BY 1, 3;
SELECT topic, count(*) AS events FROM outbox WHERE event_id LIKE '%IDCW-DEMO-%' OR event_id LIKE 'idcw.%:DEMO-%' GROUP BY 1 ORDER BY 1;
SQL
read -r TDSINV TDSFY < <("${PSQL[@]}" -At -F ' ' -c "SELECT i, CASE WHEN extract(month FROM d) >= 4 THEN extract(year FROM d)::int
  ELSE extract(year FROM d)::int - 1 END FROM (SELECT i, (SELECT max(credit_date) FROM idcw_credits WHERE investor_id = i) AS d
  FROM (SELECT investor_id AS i FROM idcw_credits WHERE tds > 0 ORDER BY gross DESC, investor_id LIMIT 1) x) y") || true
if [ -n "$TDSINV" ]; then
  TDSFY="$TDSFY-$(printf '%02d' $(( (TDSFY + 1) % 100 )))"
  echo "-- tax tds --investor $TDSINV --fy $TDSFY (Form 16A data):"
  "$FF" --log-level warn tax tds --investor "$TDSINV" --fy "$TDSFY" | tee "$DEMO/tax/tds.json" | head -20
fi

step "tax: a scheme merger (fundflow tax merge): lots carried with their tax dates and costs, plans redirected"
# The next two such schemes (picked above): the first merges into the second on the last date both have a NAV.
"$FF" --log-level warn tax merge --from "$MFROM" --to "$MTO" --date "$MDATE" --id DEMO-MERGER | tee "$DEMO/tax/merger.json"
"${PSQL[@]}" <<SQL
\pset footer off
SELECT count(*) AS folios, sum(lots) AS lots, sum(units_from) AS units_from, sum(units_to) AS units_to, sum(cost) AS cost_carried,
       sum(residue) AS residue_inr FROM merger_folios WHERE merger_id = 'DEMO-MERGER';
SELECT l.folio_no, l.scheme_code, l.nav_date AS ledger_date, l.acquired_on AS tax_date, l.units, l.cost
FROM holding_lots l WHERE l.carried_from IS NOT NULL AND l.scheme_code = '$MTO' ORDER BY l.acquired_on, l.id LIMIT 5;
SQL

step "tax: an equity index fund's tax type as effective-dated data (fundflow tax scheme-type)"
"$FF" --log-level warn tax scheme-type --scheme "$MTO" --from 2024-07-23 --type equity --reason "demo: an equity index fund (category says Other)"

step "tax: one investor's capital gains (JSON, CSV, Schedule 112A, PDF) and a grandfathered case"
# The query API for the PDFs below, started now so it comes up while the CLI runs (not before the IDCW and the
# merger: its start-up work would compete with theirs).
TAXPID=
if ! curl -sf "$API/healthz" >/dev/null; then
  "$FF" --log-level warn serve > "$DEMO/tax/serve.log" 2>&1 &
  TAXPID=$!
fi
# The investor with the most lots transferred in the latest FY with any, and (for their folio statement) their folio
# with the most transfers.
read -r CGINV CGFY CGFOLIO < <("${PSQL[@]}" -At -F ' ' <<'SQL'
WITH g AS (SELECT f.investor_id, CASE WHEN extract(month FROM t.nav_date) >= 4 THEN extract(year FROM t.nav_date)::int
  ELSE extract(year FROM t.nav_date)::int - 1 END AS fy FROM lot_consumptions c JOIN ledger_transactions t ON t.id = c.ledger_tx_id
  JOIN folios f ON f.folio_no = t.folio_no WHERE t.kind IN ('redemption', 'switch_out') GROUP BY 1, 2 ORDER BY 2 DESC, count(*) DESC, 1 LIMIT 1)
SELECT g.investor_id, g.fy, (SELECT t.folio_no FROM ledger_transactions t JOIN folios f ON f.folio_no = t.folio_no
  WHERE f.investor_id = g.investor_id AND t.kind IN ('redemption', 'switch_out') GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) FROM g
SQL
) || true
CGFY="$CGFY-$(printf '%02d' $(( (CGFY + 1) % 100 )))"
"$FF" --log-level warn tax gains --investor "$CGINV" --fy "$CGFY" > "$DEMO/tax/capital-gains.json"
echo "-- tax gains --investor $CGINV --fy $CGFY: totals"
sed -n '/^  "totals"/,/^  }/p' "$DEMO/tax/capital-gains.json" | head -20
for _ in $(seq 1 100); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.1; done
CGTOK=$("$FF" token --role investor --sub "user-$CGINV" --investor "$CGINV")
# The CSV and Schedule 112A through the API (the same code as `tax gains --format csv|schedule112a`), with the PDF.
CGURL="$API/v1/investors/$CGINV/capital-gains?fy=$CGFY&format"
for f in csv:capital-gains.csv schedule112a:schedule112a.csv pdf:capital-gains.pdf; do
  curl -s -H "Authorization: Bearer $CGTOK" -o "$DEMO/tax/${f#*:}" "$CGURL=${f%%:*}" || true
done
head -3 "$DEMO/tax/capital-gains.csv"
# The same investor's folio statement (gopdf, embedded DejaVu font: ₹, full scheme names, running unit balance, stale
# NAV flag, IDCW received, the FY's gains) for the FY of the gains.
CGEND=$(( ${CGFY%-*} + 1 ))-03-31
curl -s -H "Authorization: Bearer $CGTOK" -o "$DEMO/tax/folio-statement.pdf" \
  "$API/v1/folios/$(printf %s "$CGFOLIO" | sed 's|/|%2F|g')/statement.pdf?from=${CGFY%-*}-04-01&to=$CGEND" || true
[ -n "$TAXPID" ] && { kill "$TAXPID" 2>/dev/null || true; wait "$TAXPID" 2>/dev/null || true; }
PNGPID=
if [ "$(head -c 4 "$DEMO/tax/capital-gains.pdf")" = "%PDF" ]; then # drawn while the statement's page is
  pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$DEMO/tax/capital-gains.pdf" "$DEMO/tax/capital-gains-page1" &
  PNGPID=$!
else
  echo "-- the API on $API did not give a PDF (another build's serve?): $(head -c 300 "$DEMO/tax/capital-gains.pdf")"
fi
if [ "$(head -c 4 "$DEMO/tax/folio-statement.pdf")" = "%PDF" ]; then
  pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$DEMO/tax/folio-statement.pdf" "$DEMO/tax/folio-statement-page1"
  echo "-- folio $CGFOLIO's statement: $(pdfinfo "$DEMO/tax/folio-statement.pdf" | awk '/^Pages/{print $2}') pages, fonts embedded: $(pdffonts "$DEMO/tax/folio-statement.pdf" | awk 'NR>2{print $1" "$(NF-4)}' | tr '\n' ' ')"
else
  echo "-- the API on $API did not give the folio statement: $(head -c 300 "$DEMO/tax/folio-statement.pdf")"
fi
[ -n "$PNGPID" ] && wait "$PNGPID"
echo "-- check gains: an equity lot bought before 1-Feb-2018, grandfathered (support's dry run, the statement's code):"
"$FF" check gains --case fund/tax/testdata/grandfathered.json | grep -E '"(term|cost_used|grandfathered|gain|rate_section)"' | head -8
cat <<EOF2
Tax output: $DEMO/tax/ (capital-gains.json, .csv, schedule112a.csv, capital-gains.pdf, capital-gains-page1.png, merger.json, tds.json,
  folio-statement.pdf and folio-statement-page1.png: folio $CGFOLIO's statement for FY $CGFY)
  . $DEMO/env; bin/fundflow tax gains --investor $CGINV --fy $CGFY --format csv     # the lot-wise gains
  . $DEMO/env; bin/fundflow tax tds --investor ${TDSINV:-$CGINV} --fy ${TDSFY:-$CGFY}       # IDCW TDS (Form 16A data)
  . $DEMO/env; bin/fundflow tax idcw run DEMO-IDCW-P; bin/fundflow tax merge --from $MFROM --to $MTO --date $MDATE --id DEMO-MERGER   # again: nothing twice
EOF2
echo "-- the tax step took $((SECONDS - TAXT0)) s (budget 30 s)"
