# Sourced by scripts/demo.sh after the money path: folio-recon. The RTAs'
# mailback files (CAMS WBR22/WBR2, KFintech MFSD203/MFSD201) are generated
# from our own ledger — the money path's allotments plus a synthetic ledger
# of a few thousand folios — with 1 % of the folios given a difference, put
# on the real sshd, loaded and reconciled on two days. Uses FF, PSQL, CHQ,
# DEMO, FUNDFLOW_SFTP_ROOT and step from demo.sh; its own config file.

step "folio-recon: a synthetic ledger next to the money path's (fundflow gen ledger, COPY)"
RECON_INBOX=$FUNDFLOW_SFTP_ROOT/demo-rta
rm -rf "$RECON_INBOX" && mkdir -p "$RECON_INBOX" && chmod 777 "$RECON_INBOX"
cat > "$DEMO/recon.yaml" <<YAML
# Written by scripts/demo_recon.sh. Connection settings come from the environment.
pipelines:
  folio-recon:
    schedule: "30 7 * * *"                # daily, IST, after the RTAs' overnight mailbacks
    source:
      kind: sftp
      path: $RECON_INBOX
      stable_for: 1s
      archive: true
    report_dir: $DEMO/recon-reports
    max_reject_rate: 0.2
YAML
RECON=("$FF" --config "$DEMO/recon.yaml" --log-level warn)
"${RECON[@]}" gen ledger --folios 3000 --end 2026-08-14 --days 365 --seed 7 --check

# rta_files DAY: the RTAs' files for DAY, from our ledger, 1 % of folios with a difference.
rta_files() {
  "${RECON[@]}" gen rta --as-of "$1" --out "$DEMO/rta-$1" --inject-rate 0.01 --seed 7 --truth "$DEMO/rta-truth-$1.jsonl" |
    sed -n '/"injected"/,/}/p'
  cp "$DEMO/rta-$1"/*_* "$RECON_INBOX"/ && chmod 666 "$RECON_INBOX"/*_*
}

step "the RTAs' files for Thu 20-Aug-2026 (fundflow gen rta --inject-rate 0.01), on the SFTP server"
rta_files 2026-08-20
# One row CAMS would never send: a transaction type not in its code list (quarantined, with file and line).
sed -n '2p' "$RECON_INBOX"/CAMS_WBR2_20260820.csv | sed 's/,P,/,XX,/; s/,R,/,XX,/' >> "$RECON_INBOX"/CAMS_WBR2_20260820.csv
ls -l "$RECON_INBOX"
head -3 "$RECON_INBOX"/KFIN_MFSD203_20260820.txt | cut -c1-160

step "fundflow run folio-recon --date 2026-08-20 (load over SFTP, reconcile in Postgres, report)"
"${RECON[@]}" run folio-recon --date 2026-08-20 > "$DEMO/recon-20260820.json"
cat "$DEMO/recon-reports/summary_20260820.txt"
echo "-- every injected difference found, and nothing else? (truth file vs recon_breaks)"
python3 - "$DEMO/rta-truth-2026-08-20.jsonl" "$FUNDFLOW_PG_URL" <<'PY' || true
import json, subprocess, sys
want = sorted(" ".join([e["scope"], e["type"], e["rta"], e["folio"], e["subject"], e["cause"]])
              for l in open(sys.argv[1]) for e in json.loads(l)["expect"])
got = sorted(subprocess.run(["psql", "-At", sys.argv[2], "-c",
    "SELECT concat_ws(' ', scope, type, rta, folio, CASE WHEN scope = 'holding' THEN coalesce(nullif(scheme_code, ''), product_code) "
    "ELSE coalesce(nullif(order_id, ''), rta_txn_no) END, cause) FROM recon_breaks WHERE status <> 'resolved'"],
    capture_output=True, text=True, check=True).stdout.split("\n")[:-1])
print(f"injected: {len(want)} expected breaks; found: {len(got)}; missed: {len(set(want) - set(got))}; not expected: {len(set(got) - set(want))}")
PY

step "the next day (Fri 21-Aug-2026): the same differences are seen again, the money path's allotments of the 21st are in"
rta_files 2026-08-21
"${RECON[@]}" run folio-recon --date 2026-08-21 > "$DEMO/recon-20260821.json"
head -9 "$DEMO/recon-reports/summary_20260821.txt"
ID=$("${PSQL[@]}" -At -c "SELECT id FROM recon_breaks WHERE status = 'open' AND cause = 'rounding_step' ORDER BY id LIMIT 1")
[ -n "$ID" ] && "${RECON[@]}" recon explain "$ID" --by ops@demo --note "CAMS rounds units half up; agreed with the AMC"

step "recon_breaks in Postgres, history in ClickHouse"
"${PSQL[@]}" <<'SQL'
\pset footer off
SELECT type, status, coalesce(nullif(cause, ''), '-') AS cause, count(*), min(first_seen) AS first_seen, max(last_seen) AS last_seen
FROM recon_breaks GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT id, type, rta, folio, coalesce(nullif(scheme_code, ''), order_id) AS subject, rta_units, ledger_units, units_diff,
       rta_file || ':' || rta_line AS rta_position, ledger_tx_id, cause
FROM recon_breaks WHERE status <> 'resolved' ORDER BY abs(coalesce(units_diff, 0)) DESC LIMIT 8;
SELECT source_file, source_line, reason, detail FROM quarantine WHERE pipeline = 'folio-recon';
SQL
"${CHQ[@]}" -q "SELECT recon_date, type, countIf(status = 'open') AS open, countIf(status = 'explained') AS explained, max(age_days) AS oldest_days
  FROM recon_breaks_history FINAL GROUP BY recon_date, type ORDER BY recon_date, type FORMAT PrettyCompact"
echo "every break of each day, both sides and positions: $DEMO/recon-reports/breaks_*.csv"
