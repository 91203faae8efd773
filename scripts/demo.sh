#!/usr/bin/env bash
# make demo: start the services, build fundflow, load NAV files through the
# real SFTP server into fresh demo databases, and print what landed.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
FIXTURES=${FUNDFLOW_FIXTURES:-$REPO/../shared/fixtures}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "services (scripts/services.sh up)"
eval "$(scripts/services.sh up)"

step "build"
go build -buildvcs=auto -o bin/fundflow ./cmd/fundflow
FF=$REPO/bin/fundflow

step "fresh demo databases: Postgres fundflow_demo, ClickHouse fundflow_demo"
CH_PORT=${FUNDFLOW_CH_URL##*:}; CH_PORT=${CH_PORT%%/*}
# Two Postgres roles: the schema owner (FUNDFLOW_PG_MIGRATE_URL) creates the
# database and runs the migrations; fundflow connects as fundflow_app
# (FUNDFLOW_PG_URL), which owns nothing and cannot touch the audit triggers.
export FUNDFLOW_PG_MIGRATE_URL=${FUNDFLOW_PG_MIGRATE_URL:-$FUNDFLOW_PG_URL}
# The serve a previous demo left running for the ops console reads the
# database about to be dropped: stop it (its pid, as that demo wrote it).
if [ -f "$FUNDFLOW_STATE/demo/serve.pid" ]; then kill "$(cat "$FUNDFLOW_STATE/demo/serve.pid")" 2>/dev/null || true; sleep 1; fi
psql -q "$FUNDFLOW_PG_MIGRATE_URL" -c 'DROP DATABASE IF EXISTS fundflow_demo WITH (FORCE)' -c 'CREATE DATABASE fundflow_demo'
clickhouse-client --port "$CH_PORT" -q 'DROP DATABASE IF EXISTS fundflow_demo'
clickhouse-client --port "$CH_PORT" -q 'CREATE DATABASE fundflow_demo'
export FUNDFLOW_PG_URL=${FUNDFLOW_PG_URL/\/postgres\?/\/fundflow_demo?}
export FUNDFLOW_PG_MIGRATE_URL=${FUNDFLOW_PG_MIGRATE_URL/\/postgres\?/\/fundflow_demo?}
export FUNDFLOW_CH_URL=${FUNDFLOW_CH_URL%/*}/fundflow_demo
PSQL=(psql -q -X "$FUNDFLOW_PG_URL")
CHQ=(clickhouse-client --port "$CH_PORT" -d fundflow_demo)

DEMO=$FUNDFLOW_STATE/demo
rm -rf "$DEMO" && mkdir -p "$DEMO"
INBOX=$FUNDFLOW_SFTP_ROOT/demo-inbox
rm -rf "$INBOX" && mkdir -p "$INBOX" && chmod 777 "$INBOX"

cat > "$DEMO/fundflow.yaml" <<YAML
# Written by scripts/demo.sh. Connection settings come from the environment.
serve:
  metrics_addr: 127.0.0.1:9464
  api:
    addr: 127.0.0.1:18080                 # the query API (keys: FUNDFLOW_JWT_SECRET, FUNDFLOW_PII_KEY)
pipelines:
  nav-ingest:
    schedule: "*/15 * * * *"
    source:
      kind: sftp
      path: $INBOX
      glob: "NAVAll*.txt"
      stable_for: 1s
      archive: true
    max_reject_rate: 0.2
    holidays: [$FIXTURES/calendar/nse_fo_holidays_2024.csv, $FIXTURES/calendar/nse_fo_holidays_2025.csv, $FIXTURES/calendar/nse_fo_holidays_2026.csv]
  payments:                               # the money path (scripts/demo_money.sh)
    listen: 127.0.0.1:18090               # POST /webhooks/razorpay, POST /v1/orders
    # The demo replays Fri 21-Aug-2026 (its NAV files) and trusts the
    # gateway's and the clients' time stamps of that day; production keeps
    # the defaults (24h, 5m), which bound them by our receipt time.
    max_event_age: 87600h
  orders:
    http: true
    http_token_env: FUNDFLOW_ORDERS_TOKEN # a throwaway token, made below
    max_clock_skew: 87600h
  allocate:
    every: 2s
    # Business days of the money path and the SIPs' instalment dates (the
    # demo's SIPs run from August 2025).
    holidays: [$FIXTURES/calendar/nse_fo_holidays_2025.csv, $FIXTURES/calendar/nse_fo_holidays_2026.csv]
  outbox:
    every: 1s
audit:
  anchor_file: $DEMO/audit-anchors.jsonl  # the chain head, published hourly (and to the outbox); keep it off the database host
YAML
export FUNDFLOW_CONFIG=$DEMO/fundflow.yaml
# The query API's keys live in the environment only; the demo makes throwaway ones.
export FUNDFLOW_PII_KEY=${FUNDFLOW_PII_KEY:-$(head -c 32 /dev/urandom | base64)}
export FUNDFLOW_JWT_SECRET=${FUNDFLOW_JWT_SECRET:-$(head -c 32 /dev/urandom | base64)}
# The bearer token of POST /v1/orders (without one, serve refuses to open it).
export FUNDFLOW_ORDERS_TOKEN=${FUNDFLOW_ORDERS_TOKEN:-demo_orders_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}

step "lint the config"
"$FF" lint

step "migrate (as the schema owner; grants the application role fundflow_app what it needs)"
"$FF" migrate

step "dry run of a real AMFI file (fundflow check nav)"
"$FF" check nav "$FIXTURES/amfi/navall/NAVAll_2026-08-21_8col-plan-option.txt"

step "an HTML error page is not a NAV file (exit code 2, one line)"
"$FF" check nav "$FIXTURES/amfi/navall/NAVAll_error_2025-09-14_nginx-404.html" || echo "(exit code $?)"

step "drop real AMFI files (2017-2026 layouts) and an error page into the SFTP inbox"
i=0
for f in NAVAll_2017-04-13_8col-repurchase-sale.txt NAVAll_2019-06-21.txt NAVAll_2021-10-01_LF-normalized.txt \
         NAVAll_2023-08-11.txt NAVAll_2025-09-17_CR-CR-LF.txt NAVAll_2026-08-18_last-6col.txt \
         NAVAll_2026-08-21_8col-plan-option.txt; do
  cp "$FIXTURES/amfi/navall/$f" "$INBOX/$f"
  touch -d "-$((60 - i)) minutes" "$INBOX/$f"; i=$((i + 1))
done
cp "$FIXTURES/amfi/navall/NAVAll_error_2025-09-14_nginx-404.html" "$INBOX/NAVAll_2025-09-14.txt"
touch -d "-10 minutes" "$INBOX/NAVAll_2025-09-14.txt"
chmod 666 "$INBOX"/*
ls -l "$INBOX"

step "fundflow run nav-ingest (over SFTP from the real sshd)"
"$FF" --log-level warn run nav-ingest

step "run it again: the same bytes never load twice"
cp "$INBOX/archive/NAVAll_2023-08-11.txt" "$INBOX/NAVAll_2023-08-11_resent.txt" && chmod 666 "$INBOX"/*.txt
"$FF" --log-level warn run nav-ingest

step "what landed in Postgres"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT 'schemes' AS "table", count(*) AS rows FROM schemes
UNION ALL SELECT 'scheme_versions', count(*) FROM scheme_versions
UNION ALL SELECT 'navs', count(*) FROM navs
UNION ALL SELECT 'nav_latest', count(*) FROM nav_latest
UNION ALL SELECT 'quarantine', count(*) FROM quarantine
UNION ALL SELECT 'ingested_files', count(*) FROM ingested_files
UNION ALL SELECT 'alerts', count(*) FROM alerts
UNION ALL SELECT 'job_runs', count(*) FROM job_runs;
SELECT name, status, size, coalesce(error, '') AS error FROM ingested_files ORDER BY first_seen_at;
SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC;
SELECT s.amc, count(*) AS schemes, max(l.nav_date) AS newest_nav FROM nav_latest l JOIN schemes s ON s.code = l.scheme_code
GROUP BY s.amc ORDER BY 2 DESC LIMIT 5;
SQL

step "what landed in ClickHouse"
"${CHQ[@]}" -q "SELECT 'nav_history' AS table, count() AS rows, min(nav_date) AS first, max(nav_date) AS last FROM nav_history FINAL FORMAT PrettyCompact"
"${CHQ[@]}" -q "SELECT toYear(nav_date) AS year, count() AS navs, uniqExact(scheme_code) AS schemes FROM nav_history FINAL GROUP BY year ORDER BY year DESC LIMIT 8 FORMAT PrettyCompact"
"${CHQ[@]}" -q "SELECT kind, reason, count() AS events, sum(records) AS records FROM ingest_events GROUP BY kind, reason ORDER BY kind, events DESC FORMAT PrettyCompact"

source scripts/demo_money.sh
source scripts/demo_sips.sh
source scripts/demo_notify.sh
source scripts/demo_fraud.sh
source scripts/demo_commissions.sh
source scripts/demo_managed.sh
source scripts/demo_pools.sh
source scripts/demo_kyc.sh

step "the read side: query API, statement PDF, compliance exports, audit chain"
go run ./internal/ledgerfix/demoseed   # a small ledger on the real NAVs, unless the money path made one
API=http://127.0.0.1:18080
READ_PID=
if ! curl -sf "$API/healthz" >/dev/null; then
  "$FF" --log-level warn serve > "$DEMO/api-serve.log" 2>&1 &
  READ_PID=$!
  trap 'kill $READ_PID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.1; done
fi
# The SIP investor's folio (13 months of SIPs: the statement's chart and XIRR), else the busiest one.
FOLIO=$("${PSQL[@]}" -At -c "SELECT folio_no FROM ledger_transactions GROUP BY folio_no ORDER BY (folio_no = 'SIP-F1') DESC, count(*) DESC, folio_no LIMIT 1")
OWNER=$("${PSQL[@]}" -At -c "SELECT investor_id FROM folios WHERE folio_no = '$FOLIO'")
STRANGER=$("${PSQL[@]}" -At -c "SELECT id FROM investors WHERE id <> '$OWNER' ORDER BY id LIMIT 1")
SCHEME=$("${PSQL[@]}" -At -c "SELECT scheme_code FROM ledger_transactions WHERE folio_no = '$FOLIO' ORDER BY id LIMIT 1")
TX=$("${PSQL[@]}" -At -c "SELECT id FROM ledger_transactions WHERE folio_no = '$FOLIO' AND kind = 'purchase' ORDER BY id LIMIT 1")
INV=$("$FF" token --role investor --sub "user-$OWNER" --investor "$OWNER")
OTHER=$("$FF" token --role investor --sub "user-$STRANGER" --investor "${STRANGER:-nobody}")
COMP=$("$FF" token --role compliance --sub auditor-1)
# Outputs go to files first: a pager-like head on a live pipe makes the
# writer die of SIGPIPE (curl exit 23) once the answer outgrows the pipe.
echo "-- GET /v1/folios/$FOLIO/portfolio as its investor $OWNER (PAN masked; XIRR per scheme and overall):"
curl -s -H "Authorization: Bearer $INV" -o "$DEMO/portfolio.json" "$API/v1/folios/$FOLIO/portfolio"; head -45 "$DEMO/portfolio.json"
echo "-- the same folio as another investor, and with no token (problem+json, nothing of the folio):"
curl -s -H "Authorization: Bearer $OTHER" "$API/v1/folios/$FOLIO/portfolio"; echo
curl -s "$API/v1/folios/$FOLIO/portfolio"; echo
echo "-- GET /v1/schemes/$SCHEME/nav (ClickHouse nav_history):"
curl -s -H "Authorization: Bearer $INV" -o "$DEMO/nav.json" "$API/v1/schemes/$SCHEME/nav?from=2017-01-01&to=2026-12-31"; head -16 "$DEMO/nav.json"
echo "-- GET /v1/transactions/$TX/lineage (order, payment webhook event, NAV file/SHA-256/line, postings, audit rows):"
curl -s -H "Authorization: Bearer $INV" -o "$DEMO/lineage.json" "$API/v1/transactions/$TX/lineage"; head -50 "$DEMO/lineage.json"
curl -s -H "Authorization: Bearer $INV" -o "$DEMO/statement.pdf" "$API/v1/folios/$FOLIO/statement.pdf"
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$DEMO/statement.pdf" "$DEMO/statement-page1"
ls -l "$DEMO"/statement*
mkdir -p "$DEMO/exports"
"$FF" --log-level warn export transactions --from 2017-01-01 --to 2026-12-31 --format parquet --out "$DEMO/exports" >/dev/null
"$FF" --log-level warn export fatca-crs --from 2026-01-01 --to 2026-12-31 --format csv --out "$DEMO/exports" >"$DEMO/fatca-crs.txt"; head -12 "$DEMO/fatca-crs.txt"
curl -s -H "Authorization: Bearer $COMP" -o "$DEMO/exports/audit_via_api.csv" "$API/v1/exports/audit?from=2000-01-01&to=2099-12-31"
ls -l "$DEMO/exports"
"$FF" --log-level warn audit anchor      # publish the chain head: outbox (Kafka) + $DEMO/audit-anchors.jsonl
"$FF" --log-level warn audit verify      # the chain, its head, and every published anchor
[ -n "$READ_PID" ] && { kill $READ_PID 2>/dev/null || true; wait $READ_PID 2>/dev/null || true; }

source scripts/demo_recon.sh
source scripts/demo_tax.sh

step "NAV history: generate business days from a real file, backfill them in date order"
"$FF" gen nav-history --from "$FIXTURES/amfi/navall/NAVAll_2026-08-18_last-6col.txt" --days "${DEMO_HISTORY_DAYS:-60}" \
    --out "$DEMO/nav-history" --holidays "$FIXTURES/calendar/nse_fo_holidays_2026.csv"
ls "$DEMO/nav-history" | sed -n '1p;$p'
# Progress goes to stderr (a bar on a terminal); Ctrl-C stops, the same command resumes.
"$FF" --log-level warn backfill nav --dir "$DEMO/nav-history" --from 2026-01-01 --progress-every 5s
source scripts/demo_analytics.sh

step "quarantined NAV rows: list, show one, replay through today's rules"
"$FF" --log-level warn quarantine list --limit 12
QID=$("${PSQL[@]}" -At -c "SELECT id FROM quarantine WHERE reason = 'nav_not_available' ORDER BY id DESC LIMIT 1")
"$FF" --log-level warn quarantine show "$QID"
"$FF" --log-level warn quarantine replay --reason nav_not_available > "$DEMO/replay.json"
grep -v '^    [0-9]' "$DEMO/replay.json"
echo "-- completeness of Friday 2026-08-14 (schemes with a NAV on the 13th and none on the 14th; full list in $DEMO/completeness.json):"
"$FF" --log-level warn check completeness --date 2026-08-14 --at 2026-08-17T09:00:00+05:30 > "$DEMO/completeness.json"
grep -E '^  "(date|business_day|previous_business_day|expected|present|missing|pending)"' "$DEMO/completeness.json"

# Everything a command needs in a new shell: the services' settings, the demo's
# config and its throwaway keys. Every command printed at the end sources it.
export -p | grep '^declare -x FUNDFLOW_' > "$DEMO/env"
chmod 600 "$DEMO/env"

step "the ops console in the browser: serve keeps running in the background"
# serve with the demo's config: schedules, metrics, the query API and, on
# its listener, the ops console at /ops/ (sign in with an ops token).
if curl -sf "$API/healthz" >/dev/null; then
  echo "something already answers on $API: not starting another serve"
else
  setsid nohup "$FF" --log-level warn serve > "$DEMO/serve.log" 2>&1 < /dev/null &
  echo $! > "$DEMO/serve.pid"
  for _ in $(seq 1 100); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.1; done
fi
curl -s -o /dev/null -w "GET $API/ops/login: %{http_code}\n" "$API/ops/login"

cat <<EOF2

Where to look next (each line works pasted into a new shell in $PWD; $DEMO/env holds the settings):
  psql "$FUNDFLOW_PG_URL"                                   # schemes, navs, nav_lineage, nav_latest, quarantine, job_runs
  clickhouse-client --port $CH_PORT -d fundflow_demo        # nav_history, ingest_events
  . $DEMO/env; bin/fundflow quarantine list --reason nav_jump; bin/fundflow quarantine show $QID   # held NAV rows
  . $DEMO/env; bin/fundflow run nav-freshness; bin/fundflow check completeness --date 2026-08-14 # freshness
  . $DEMO/env; bin/fundflow runs --limit 5; bin/fundflow audit verify   # runs (a killed one shows as abandoned); the audit chain vs its anchors
  . $DEMO/env; bin/fundflow serve    # schedules, metrics on 127.0.0.1:9464/metrics, the API and ops console on $API (stop the demo's first: kill \$(cat $DEMO/serve.pid))
  . $DEMO/env; bin/fundflow check navdate --category liquid --type purchase --order-time 2026-08-21T14:00:00+05:30   # on the demo's holiday calendar
  ls $DEMO/portfolio.json $DEMO/lineage.json $DEMO/statement.pdf $DEMO/statement-page1.png $DEMO/exports/   # the read side's output
  . $DEMO/env; psql "\$FUNDFLOW_PG_URL" -c "SELECT plan_id, due_date, amount, status, reason FROM plan_instalments ORDER BY 2 LIMIT 20"   # SIP instalments
  . $DEMO/env; bin/fundflow notify status; bin/fundflow notify replay   # notifications; Mailpit's UI: $FUNDFLOW_MAILPIT_API
  . $DEMO/env; curl -s -H "Authorization: Bearer \$(bin/fundflow token --role investor --sub user-ravi --investor KYC-RAVI)" "$API/v1/investors/KYC-RAVI/payout-holds?all=true"; echo   # Ravi's held payouts
  . $DEMO/env; curl -s -H "Authorization: Bearer \$(bin/fundflow token --role ops --sub ops-kyc)" "$API/v1/ops/payout-holds?limit=20"; echo   # everyone's (ops)
  bin/fundflow check schedule --frequency monthly --day 31 --start 2026-01-01 --count 12 --holidays $FIXTURES/calendar/nse_fo_holidays_2026.csv

The ops console: $API/ops/   (serve runs in the background; log $DEMO/serve.log; stop it: kill \$(cat $DEMO/serve.pid))
  Sign in with the token this prints:
  . $DEMO/env; bin/fundflow token --role ops --sub "\${USER:-ops}" --ttl 8h
EOF2
