#!/usr/bin/env bash
# Run fundflow's real backing services as private processes on this machine:
# PostgreSQL 15, ClickHouse (Debian's 18.16), OpenSSH sshd as an SFTP server
# and Mailpit (SMTP with STARTTLS and AUTH, built from the Go module proxy).
# All state lives under one folder, STATE=${FUNDFLOW_STATE:-<repo>/.state}.
#
#   scripts/services.sh up      install what is missing, start (or reuse) all three,
#                               verify each, print `export` lines on stdout
#   scripts/services.sh env     print the `export` lines (also written to $STATE/env)
#   scripts/services.sh status  one line per service; exit 0 only if all are up
#   scripts/services.sh down    stop what this script started; data is kept
#   scripts/services.sh reset   down, then delete STATE
#
# Postgres has two URLs: FUNDFLOW_PG_URL logs in as fundflow_app, the
# application's role (owns nothing; `fundflow migrate` grants it what it
# needs), FUNDFLOW_PG_MIGRATE_URL as postgres, the schema owner (migrations,
# creating databases).
#
# Progress and diagnostics go to stderr, so `eval "$(scripts/services.sh up)"` works.
#
# Environment (defaults in brackets):
#   FUNDFLOW_STATE [<repo>/.state]     FUNDFLOW_PG_PORT [55432]
#   FUNDFLOW_CH_PORT [59000]           FUNDFLOW_CH_HTTP_PORT [58123]
#   FUNDFLOW_CH_INTERSERVER_PORT [FUNDFLOW_CH_PORT+9, i.e. 59009]
#   FUNDFLOW_SFTP_PORT [52222]
#   FUNDFLOW_SMTP_PORT [51025]         FUNDFLOW_MAILPIT_PORT [58025] (Mailpit's web UI and API)
#   FUNDFLOW_PG_FAST [unset]  1 = fsync/synchronous_commit/full_page_writes off
#                             (tests); fixed when Postgres starts, recorded and printed.
#
# Layout: $STATE/pg/{data,postgres.log,sock,mode}  $STATE/ch/{config.xml,users.xml,
# data,log,clickhouse.pid}  $STATE/ssh/{sshd_config,host_ed25519*,client_ed25519*,
# known_hosts,sshd.log,sshd.pid,user}  $STATE/sftp/{inbox,archive}  $STATE/env
# sshd runs unprivileged as `nobody` (setpriv; needs UsePAM yes); only if that
# login check fails does it fall back to a root sshd, recorded in $STATE/ssh/user.
#
# Needs root (it installs packages and drops to the postgres/nobody users).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(dirname -- "$SCRIPT_DIR")
STATE=${FUNDFLOW_STATE:-$REPO/.state}

PG_PORT=${FUNDFLOW_PG_PORT:-55432}
CH_PORT=${FUNDFLOW_CH_PORT:-59000}
CH_HTTP_PORT=${FUNDFLOW_CH_HTTP_PORT:-58123}
CH_INTERSERVER_PORT=${FUNDFLOW_CH_INTERSERVER_PORT:-$((CH_PORT + 9))}
SFTP_PORT=${FUNDFLOW_SFTP_PORT:-52222}
SMTP_PORT=${FUNDFLOW_SMTP_PORT:-51025}
MAILPIT_PORT=${FUNDFLOW_MAILPIT_PORT:-58025}
PG_FAST=${FUNDFLOW_PG_FAST:-0}
PG_APP_ROLE=fundflow_app

PACKAGES=(postgresql clickhouse-server clickhouse-client openssh-server poppler-utils prometheus chromium) # poppler-utils: pdftoppm/pdftotext for the statement PDF test; prometheus: promtool for the alert rule tests; chromium: the ops console browser test
CH_BIN=/usr/sbin/clickhouse-server
SSHD_BIN=/usr/sbin/sshd
SFTP_UNPRIV_USER=nobody
SFTP_UNPRIV_GROUP=nogroup

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

# --- helpers -----------------------------------------------------------------

# Make STATE absolute (it is written into configs and env lines).
absolutize_state() {
  case $STATE in
    /*) ;;
    *) STATE=$PWD/$STATE ;;
  esac
  STATE=${STATE%/}
}

# Derived paths; call after absolutize_state.
set_paths() {
  PG_DIR=$STATE/pg
  PG_DATA=$PG_DIR/data
  PG_LOG=$PG_DIR/postgres.log
  PG_SOCK=$PG_DIR/sock
  PG_MODE_FILE=$PG_DIR/mode
  CH_DIR=$STATE/ch
  CH_CONFIG=$CH_DIR/config.xml
  CH_PID=$CH_DIR/clickhouse.pid
  CH_LOG=$CH_DIR/log/clickhouse-server.log
  CH_ERRLOG=$CH_DIR/log/clickhouse-server.err.log
  CH_STDOUT=$CH_DIR/log/stdout.log
  SSH_DIR=$STATE/ssh
  SSH_CONFIG=$SSH_DIR/sshd_config
  SSH_PID=$SSH_DIR/sshd.pid
  SSH_LOG=$SSH_DIR/sshd.log
  SSH_HOST_KEY=$SSH_DIR/host_ed25519
  SSH_CLIENT_KEY=$SSH_DIR/client_ed25519
  SSH_AUTH_KEYS=$SSH_DIR/authorized_keys
  SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts
  SSH_USER_FILE=$SSH_DIR/user
  SFTP_ROOT=$STATE/sftp
  ENV_FILE=$STATE/env
}

pg_bin() {
  local d
  if [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
    PG_BIN=/usr/lib/postgresql/15/bin
    return
  fi
  # Fall back to the newest installed major version.
  d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d && -x $d/postgres ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
  PG_BIN=$d
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Fail clearly if a port we are about to bind is already taken by someone else.
require_free_port() { # port envvar what
  if port_open "$1"; then
    die "port $1 ($3) is already in use by a process that is not fundflow's instance in $STATE; set $2 to a free port (or stop that process)"
  fi
}

# True if pid $1 is alive and its command line contains $2.
pid_matches() {
  local pid=$1 needle=$2 cmd
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$needle"* ]]
}

read_pid() { # file -> first line, or empty
  local p=""
  if [[ -r $1 ]]; then IFS= read -r p <"$1" || true; fi
  printf '%s' "$p"
}

# Wait until pid $1 is gone (up to $2 seconds); true if it exited.
wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

stop_pid() { # pid what
  local pid=$1 what=$2
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_exit "$pid" 30; then
    log "$what (pid $pid) did not stop in 30 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_exit "$pid" 5 || die "$what (pid $pid) does not die"
  fi
}

# Value of "<tag>N</tag>" / "Key N" in a config we wrote, for port-mismatch messages.
xml_value() { sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$1" 2>/dev/null | head -n 1; }
sshd_value() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }

tail_log() { # file
  if [[ -r $1 ]]; then
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n 25 "$1" >&2 || true
    printf -- '---\n' >&2
  else
    printf -- '(no log at %s)\n' "$1" >&2
  fi
}

# --- install -----------------------------------------------------------------

pkg_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    pkg_installed "$p" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing missing packages: ${missing[*]}"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
}

# --- state folder ------------------------------------------------------------

check_traversable() { # user dir
  runuser -u "$1" -- test -x "$2" 2>/dev/null ||
    die "user $1 cannot reach $2 (a parent folder is not world-searchable); set FUNDFLOW_STATE to a folder such as /tmp/fundflow-state"
}

prepare_state() {
  mkdir -p "$STATE"
  chmod 755 "$STATE"
}

# --- PostgreSQL --------------------------------------------------------------

pg_running_pid() { # prints pid if our postmaster is alive
  local pid
  pid=$(read_pid "$PG_DATA/postmaster.pid")
  if pid_matches "$pid" "$PG_DATA"; then printf '%s' "$pid"; fi
}

pg_running_port() { sed -n '4p' "$PG_DATA/postmaster.pid" 2>/dev/null; }

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2; }

pg_mode() { # human-readable mode of the running instance
  local m
  m=$(cat "$PG_MODE_FILE" 2>/dev/null || echo unknown)
  case $m in
    fast) echo "fast (fsync=off synchronous_commit=off full_page_writes=off)" ;;
    durable) echo "durable (fsync=on, default settings)" ;;
    *) echo "$m" ;;
  esac
}

pg_up() {
  local pid want_mode opts
  pg_bin
  [[ $PG_FAST == 1 ]] && want_mode=fast || want_mode=durable
  pid=$(pg_running_pid)
  if [[ -n $pid ]]; then
    local running_port
    running_port=$(pg_running_port)
    [[ $running_port == "$PG_PORT" ]] ||
      die "postgres from $STATE is already running on port $running_port, but FUNDFLOW_PG_PORT=$PG_PORT; run '$0 down' first or use port $running_port"
    local deadline=$((SECONDS + 30))
    until pg_ready; do
      ((SECONDS < deadline)) || { tail_log "$PG_LOG"; die "postgres (pid $pid) runs but does not accept connections on 127.0.0.1:$PG_PORT"; }
      sleep 0.1
    done
    log "postgres: reused (pid $pid, 127.0.0.1:$PG_PORT, mode $(pg_mode))"
    if [[ $(cat "$PG_MODE_FILE" 2>/dev/null) != "$want_mode" ]]; then
      log "postgres: WARNING: running in mode '$(cat "$PG_MODE_FILE" 2>/dev/null || echo unknown)', requested '$want_mode' (FUNDFLOW_PG_FAST=${FUNDFLOW_PG_FAST:-}); settings are fixed at start: run '$0 down' then 'up' to switch"
    fi
    return 0
  fi

  require_free_port "$PG_PORT" FUNDFLOW_PG_PORT postgres

  mkdir -p "$PG_DIR" "$PG_SOCK"
  chown postgres:postgres "$PG_DIR" "$PG_SOCK"
  chmod 755 "$PG_DIR" "$PG_SOCK"
  check_traversable postgres "$PG_DIR"
  # Unix socket paths are limited to 107 bytes.
  local sock_path="$PG_SOCK/.s.PGSQL.$PG_PORT"
  ((${#sock_path} <= 100)) || die "socket path $sock_path is too long for a unix socket; use a shorter FUNDFLOW_STATE"

  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    log "postgres: initdb in $PG_DATA"
    rm -rf "$PG_DATA"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust \
      -E UTF8 --no-locale -N >"$PG_DIR/initdb.log" 2>&1 ||
      { tail_log "$PG_DIR/initdb.log"; die "initdb failed"; }
  fi

  opts="-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_SOCK -c max_connections=200"
  if [[ $want_mode == fast ]]; then
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  # pg_ctl puts -o into a shell command line; the state path must not need quoting.
  [[ $PG_SOCK != *[[:space:]\'\"\\\$\`]* ]] || die "FUNDFLOW_STATE must not contain spaces or shell quoting characters: $STATE"
  touch "$PG_LOG"
  chown postgres:postgres "$PG_LOG"
  printf '%s\n' "$want_mode" >"$PG_MODE_FILE"
  if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 -o "$opts" start >/dev/null 2>"$PG_DIR/pg_ctl.err" 9>&-; then
    cat "$PG_DIR/pg_ctl.err" >&2 || true
    tail_log "$PG_LOG"
    die "postgres failed to start on 127.0.0.1:$PG_PORT"
  fi
  pg_ready || { tail_log "$PG_LOG"; die "postgres started but is not ready on 127.0.0.1:$PG_PORT"; }
  log "postgres: started (pid $(pg_running_pid), 127.0.0.1:$PG_PORT, mode $(pg_mode))"
}

# The application's role: it logs in, owns nothing and is granted only what
# `fundflow migrate` (run as the owner, postgres here) gives it, so it cannot
# switch off or rewrite the audit trail. Roles belong to the whole cluster.
pg_app_role() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null <<SQL ||
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_ROLE') THEN
    CREATE ROLE $PG_APP_ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END \$\$;
SQL
    die "postgres: could not create the application role $PG_APP_ROLE"
  log "postgres: application role $PG_APP_ROLE ready (grants come with 'fundflow migrate')"
}

pg_down() {
  local pid
  [[ -d $PG_DATA ]] || return 0
  pid=$(pg_running_pid)
  [[ -n $pid ]] || return 0
  pg_bin
  log "postgres: stopping (pid $pid)"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
    die "pg_ctl stop failed"
}

# --- ClickHouse --------------------------------------------------------------

ch_running_pid() {
  local pid
  pid=$(read_pid "$CH_PID")
  if pid_matches "$pid" "$CH_CONFIG"; then printf '%s' "$pid"; fi
}

ch_ping() { # port
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
    grep -q "^Ok\." <&3' _ "$1" 2>/dev/null
}

ch_wait() { # pid
  local pid=$1 deadline=$((SECONDS + 30))
  until ch_ping "$CH_HTTP_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log "$CH_ERRLOG"; tail_log "$CH_STDOUT"
      die "clickhouse-server exited during start-up (config $CH_CONFIG)"
    fi
    if ((SECONDS >= deadline)); then
      tail_log "$CH_LOG"; tail_log "$CH_STDOUT"
      die "clickhouse-server (pid $pid) did not answer /ping on 127.0.0.1:$CH_HTTP_PORT within 30 s"
    fi
    sleep 0.1
  done
}

ch_write_config() {
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log}
  cat >"$CH_CONFIG" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh; rewritten on each start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$CH_LOG</log>
        <errorlog>$CH_ERRLOG</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$CH_PORT</tcp_port>
    <http_port>$CH_HTTP_PORT</http_port>
    <interserver_http_port>$CH_INTERSERVER_PORT</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <!-- Keep memory modest: shared caches are small. -->
    <uncompressed_cache_size>134217728</uncompressed_cache_size>
    <mark_cache_size>134217728</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <users_config>$CH_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <dictionaries_config>$CH_DIR/*_dictionary.xml</dictionaries_config>
</yandex>
EOF
  cat >"$CH_DIR/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by scripts/services.sh. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

ch_up() {
  local pid
  pid=$(ch_running_pid)
  if [[ -n $pid ]]; then
    local running_http running_tcp
    running_http=$(xml_value "$CH_CONFIG" http_port)
    running_tcp=$(xml_value "$CH_CONFIG" tcp_port)
    [[ $running_http == "$CH_HTTP_PORT" && $running_tcp == "$CH_PORT" ]] ||
      die "clickhouse from $STATE is already running on tcp $running_tcp / http $running_http, but FUNDFLOW_CH_PORT=$CH_PORT FUNDFLOW_CH_HTTP_PORT=$CH_HTTP_PORT; run '$0 down' first"
    ch_wait "$pid"
    log "clickhouse: reused (pid $pid, tcp 127.0.0.1:$CH_PORT, http 127.0.0.1:$CH_HTTP_PORT)"
    return 0
  fi
  rm -f "$CH_PID"

  require_free_port "$CH_PORT" FUNDFLOW_CH_PORT "clickhouse native"
  require_free_port "$CH_HTTP_PORT" FUNDFLOW_CH_HTTP_PORT "clickhouse http"
  require_free_port "$CH_INTERSERVER_PORT" FUNDFLOW_CH_INTERSERVER_PORT "clickhouse interserver"
  [[ -x $CH_BIN ]] || die "$CH_BIN not found"

  ch_write_config
  # Run as root in our own session, detached from the caller's terminal/pipes.
  (cd "$CH_DIR" && exec setsid "$CH_BIN" --config-file="$CH_CONFIG" </dev/null >>"$CH_STDOUT" 2>&1 9>&-) &
  pid=$!
  printf '%s\n' "$pid" >"$CH_PID"
  ch_wait "$pid"
  log "clickhouse: started (pid $pid, tcp 127.0.0.1:$CH_PORT, http 127.0.0.1:$CH_HTTP_PORT)"
}

ch_down() {
  local pid
  pid=$(ch_running_pid)
  if [[ -n $pid ]]; then
    log "clickhouse: stopping (pid $pid)"
    stop_pid "$pid" clickhouse-server
  fi
  rm -f "$CH_PID"
}

# --- sshd / SFTP -------------------------------------------------------------

sftp_user() { cat "$SSH_USER_FILE" 2>/dev/null || echo "$SFTP_UNPRIV_USER"; }

ssh_running_pid() {
  local pid
  pid=$(read_pid "$SSH_PID")
  if pid_matches "$pid" "$SSH_CONFIG"; then printf '%s' "$pid"; fi
}

# A real SFTP login with the client key, pinning our host key.
sftp_check() { # user
  printf 'ls %s\n' "$SFTP_ROOT" |
    timeout 10 sftp -q -b - -F /dev/null -i "$SSH_CLIENT_KEY" \
      -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
      -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" \
      -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR \
      -P "$SFTP_PORT" "$1@127.0.0.1" >"$SSH_DIR/check.out" 2>&1
}

sftp_wait() { # pid user
  local pid=$1 user=$2 deadline=$((SECONDS + 15))
  until sftp_check "$user"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.1
  done
}

ssh_keys() {
  mkdir -p "$SSH_DIR"
  if [[ ! -f $SSH_HOST_KEY ]]; then
    rm -f "$SSH_HOST_KEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C "fundflow-sftp-host" -f "$SSH_HOST_KEY"
  fi
  if [[ ! -f $SSH_CLIENT_KEY ]]; then
    rm -f "$SSH_CLIENT_KEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C "fundflow-sftp-client" -f "$SSH_CLIENT_KEY"
  fi
  chown root:root "$SSH_CLIENT_KEY"
  chmod 600 "$SSH_CLIENT_KEY"
  cp "$SSH_CLIENT_KEY.pub" "$SSH_AUTH_KEYS"
  chmod 644 "$SSH_AUTH_KEYS" "$SSH_HOST_KEY.pub" "$SSH_CLIENT_KEY.pub"
  printf '[127.0.0.1]:%s %s\n' "$SFTP_PORT" "$(cut -d' ' -f1,2 "$SSH_HOST_KEY.pub")" >"$SSH_KNOWN_HOSTS"
}

ssh_write_config() { # user
  cat >"$SSH_CONFIG" <<EOF
# Generated by scripts/services.sh; rewritten on each start.
ListenAddress 127.0.0.1
Port $SFTP_PORT
HostKey $SSH_HOST_KEY
PidFile $SSH_PID
AuthorizedKeysFile $SSH_AUTH_KEYS
AllowUsers $1
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM yes
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
MaxStartups 100:30:200
MaxSessions 100
LogLevel INFO
Subsystem sftp internal-sftp
EOF
  chmod 644 "$SSH_CONFIG"
}

# Start sshd running as $1 (nobody: unprivileged; root: classic). Returns 1 if
# the verification login fails (sshd is stopped again in that case).
ssh_start_as() {
  local user=$1 group pid
  [[ $user == root ]] && group=root || group=$SFTP_UNPRIV_GROUP
  chown "$user:$group" "$SSH_DIR" "$SSH_HOST_KEY"
  chmod 755 "$SSH_DIR"
  chmod 600 "$SSH_HOST_KEY"
  mkdir -p "$SFTP_ROOT/inbox" "$SFTP_ROOT/archive"
  chown -R "$user:$group" "$SFTP_ROOT"
  chmod 755 "$SFTP_ROOT" "$SFTP_ROOT/inbox" "$SFTP_ROOT/archive"
  ssh_write_config "$user"
  rm -f "$SSH_PID"
  : >"$SSH_LOG"
  if [[ $user == root ]]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
    (exec setsid "$SSHD_BIN" -D -e -f "$SSH_CONFIG" </dev/null >>"$SSH_LOG" 2>&1 9>&-) &
  else
    check_traversable "$user" "$SSH_DIR"
    (exec setsid setpriv --reuid="$user" --regid="$group" --clear-groups \
      "$SSHD_BIN" -D -e -f "$SSH_CONFIG" </dev/null >>"$SSH_LOG" 2>&1 9>&-) &
  fi
  pid=$!
  # sshd writes PidFile itself too (same pid: setsid/setpriv exec).
  printf '%s\n' "$pid" >"$SSH_PID.start"
  if sftp_wait "$pid" "$user"; then
    [[ -s $SSH_PID ]] || printf '%s\n' "$pid" >"$SSH_PID"
    rm -f "$SSH_PID.start"
    printf '%s\n' "$user" >"$SSH_USER_FILE"
    log "sftp: started sshd as $user (pid $pid, 127.0.0.1:$SFTP_PORT), login verified"
    return 0
  fi
  log "sftp: sshd as $user failed the login check"
  cat "$SSH_DIR/check.out" >&2 || true
  tail_log "$SSH_LOG"
  if kill -0 "$pid" 2>/dev/null; then stop_pid "$pid" sshd; fi
  rm -f "$SSH_PID" "$SSH_PID.start"
  return 1
}

ssh_up() {
  local pid user
  pid=$(ssh_running_pid)
  if [[ -n $pid ]]; then
    local running_port
    running_port=$(sshd_value "$SSH_CONFIG" Port)
    [[ $running_port == "$SFTP_PORT" ]] ||
      die "sshd from $STATE is already running on port $running_port, but FUNDFLOW_SFTP_PORT=$SFTP_PORT; run '$0 down' first"
    user=$(sftp_user)
    sftp_wait "$pid" "$user" || {
      cat "$SSH_DIR/check.out" >&2 || true
      tail_log "$SSH_LOG"
      die "sshd (pid $pid) runs but the SFTP login as $user on 127.0.0.1:$SFTP_PORT fails"
    }
    log "sftp: reused (pid $pid, 127.0.0.1:$SFTP_PORT, user $user), login verified"
    return 0
  fi

  require_free_port "$SFTP_PORT" FUNDFLOW_SFTP_PORT "sftp (sshd)"
  [[ -x $SSHD_BIN ]] || die "$SSHD_BIN not found"
  ssh_keys
  # Prefer an unprivileged sshd (user nobody); fall back to a root sshd.
  user=$(sftp_user)
  if ssh_start_as "$user"; then return 0; fi
  if [[ $user != root ]]; then
    log "sftp: falling back to sshd as root"
    ssh_start_as root && return 0
  fi
  die "could not start a working sshd on 127.0.0.1:$SFTP_PORT (see $SSH_LOG)"
}

ssh_down() {
  local pid f
  for f in "$SSH_PID" "$SSH_PID.start"; do
    pid=$(read_pid "$f")
    if pid_matches "$pid" "$SSH_CONFIG"; then
      log "sftp: stopping sshd (pid $pid)"
      stop_pid "$pid" sshd
    fi
  done
  rm -f "$SSH_PID" "$SSH_PID.start"
}

# --- Mailpit (SMTP with STARTTLS + AUTH, and its JSON API) --------------------
# Built from the Go module proxy into $STATE/bin on the first `up` (about a
# minute cold); a self-signed certificate for 127.0.0.1 and an htpasswd file
# (apr1) are generated into $STATE/mailpit. Clients trust the certificate by
# FUNDFLOW_SMTP_CA. Messages are kept in memory (a restart empties it), no cap.

MAILPIT_VERSION=v1.33.1

mailpit_paths() {
  MP_DIR=$STATE/mailpit
  MP_BIN=$STATE/bin/mailpit
  MP_PID=$MP_DIR/mailpit.pid
  MP_LOG=$MP_DIR/mailpit.log
  MP_CERT=$MP_DIR/smtp.crt
  MP_KEY=$MP_DIR/smtp.key
  MP_AUTH=$MP_DIR/smtp.auth
  MP_USER=fundflow
  MP_PASS_FILE=$MP_DIR/smtp.password
}

mailpit_build() {
  if [[ -x $MP_BIN && $(cat "$MP_BIN.version" 2>/dev/null) == "$MAILPIT_VERSION" ]]; then return 0; fi
  command -v go >/dev/null || die "mailpit: go is not on PATH (needed to build github.com/axllent/mailpit@$MAILPIT_VERSION)"
  log "mailpit: building github.com/axllent/mailpit@$MAILPIT_VERSION into $STATE/bin (about a minute on a cold cache)"
  mkdir -p "$STATE/bin"
  (cd / && GOBIN=$STATE/bin GOFLAGS= go install "github.com/axllent/mailpit@$MAILPIT_VERSION") >&2 ||
    die "mailpit: go install github.com/axllent/mailpit@$MAILPIT_VERSION failed"
  printf '%s\n' "$MAILPIT_VERSION" >"$MP_BIN.version"
}

mailpit_secrets() {
  mkdir -p "$MP_DIR"
  if [[ ! -s $MP_CERT || ! -s $MP_KEY ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
      -keyout "$MP_KEY" -out "$MP_CERT" 2>"$MP_DIR/openssl.err" ||
      { cat "$MP_DIR/openssl.err" >&2; die "mailpit: could not make the SMTP certificate"; }
  fi
  if [[ ! -s $MP_PASS_FILE ]]; then
    openssl rand -hex 16 >"$MP_PASS_FILE"
  fi
  printf '%s:%s\n' "$MP_USER" "$(openssl passwd -apr1 "$(cat "$MP_PASS_FILE")")" >"$MP_AUTH"
  chmod 600 "$MP_KEY" "$MP_PASS_FILE" "$MP_AUTH"
  chmod 644 "$MP_CERT"
}

mailpit_running_pid() {
  local pid
  pid=$(read_pid "$MP_PID")
  if pid_matches "$pid" "$MP_BIN"; then printf '%s' "$pid"; fi
}

mailpit_ready() { # api port
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /livez HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
    head -n 1 <&3 | grep -q " 200"' _ "$1" 2>/dev/null
}

mailpit_up() {
  local pid
  mailpit_paths
  pid=$(mailpit_running_pid)
  if [[ -n $pid ]]; then
    log "mailpit: reused (pid $pid, smtp 127.0.0.1:$SMTP_PORT, ui/api http://127.0.0.1:$MAILPIT_PORT)"
    return 0
  fi
  require_free_port "$SMTP_PORT" FUNDFLOW_SMTP_PORT "mailpit smtp"
  require_free_port "$MAILPIT_PORT" FUNDFLOW_MAILPIT_PORT "mailpit http"
  mailpit_build
  mailpit_secrets
  (exec setsid "$MP_BIN" --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$MAILPIT_PORT" \
    --smtp-tls-cert "$MP_CERT" --smtp-tls-key "$MP_KEY" --smtp-require-starttls \
    --smtp-auth-file "$MP_AUTH" --smtp-disable-rdns --max 0 --quiet \
    </dev/null >>"$MP_LOG" 2>&1 9>&-) &
  pid=$!
  printf '%s\n' "$pid" >"$MP_PID"
  local deadline=$((SECONDS + 30))
  until mailpit_ready "$MAILPIT_PORT" && port_open "$SMTP_PORT"; do
    kill -0 "$pid" 2>/dev/null || { tail_log "$MP_LOG"; die "mailpit exited during start-up"; }
    ((SECONDS < deadline)) || { tail_log "$MP_LOG"; die "mailpit (pid $pid) not ready within 30 s"; }
    sleep 0.1
  done
  log "mailpit: started (pid $pid, smtp 127.0.0.1:$SMTP_PORT with STARTTLS+AUTH, ui/api http://127.0.0.1:$MAILPIT_PORT)"
}

mailpit_down() {
  local pid
  mailpit_paths
  pid=$(mailpit_running_pid)
  if [[ -n $pid ]]; then
    log "mailpit: stopping (pid $pid)"
    stop_pid "$pid" mailpit
  fi
  rm -f "$MP_PID"
}

mailpit_env_lines() {
  mailpit_paths
  printf "export %s='%s'\n" \
    FUNDFLOW_SMTP_ADDR "127.0.0.1:$SMTP_PORT" \
    FUNDFLOW_SMTP_USER "$MP_USER" \
    FUNDFLOW_SMTP_PASSWORD "$(cat "$MP_PASS_FILE" 2>/dev/null)" \
    FUNDFLOW_SMTP_CA "$MP_CERT" \
    FUNDFLOW_MAILPIT_API "http://127.0.0.1:$MAILPIT_PORT"
}

mailpit_status() {
  mailpit_paths
  local pid
  pid=$(mailpit_running_pid)
  if [[ -n $pid ]] && mailpit_ready "$MAILPIT_PORT"; then
    printf 'mailpit     up    127.0.0.1:%s (http %s)  pid %s\n' "$SMTP_PORT" "$MAILPIT_PORT" "$pid"
  else
    printf 'mailpit     down  127.0.0.1:%s (http %s)\n' "$SMTP_PORT" "$MAILPIT_PORT"; return 3
  fi
}

# --- env / status ------------------------------------------------------------

env_lines() {
  local user
  user=$(sftp_user)
  # Single-quote values: the PG URL contains '?', which a shell would glob.
  printf "export %s='%s'\n" \
    FUNDFLOW_PG_URL "postgres://$PG_APP_ROLE@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
    FUNDFLOW_PG_MIGRATE_URL "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" \
    FUNDFLOW_CH_URL "clickhouse://127.0.0.1:$CH_PORT/default" \
    FUNDFLOW_CH_HTTP "http://127.0.0.1:$CH_HTTP_PORT" \
    FUNDFLOW_SFTP_ADDR "127.0.0.1:$SFTP_PORT" \
    FUNDFLOW_SFTP_USER "$user" \
    FUNDFLOW_SFTP_KEY "$SSH_CLIENT_KEY" \
    FUNDFLOW_SFTP_HOST_KEY "$SSH_HOST_KEY.pub" \
    FUNDFLOW_SFTP_ROOT "$SFTP_ROOT" \
    FUNDFLOW_STATE "$STATE"
  mailpit_env_lines
}

write_env() {
  local tmp
  [[ -d $STATE ]] || return 0
  tmp=$(mktemp "$STATE/.env.XXXXXX")
  env_lines >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

status() {
  local ok=0 pid
  pg_bin
  pid=$(pg_running_pid)
  if [[ -n $pid ]] && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(pg_running_port)" -t 2; then
    printf 'postgres    up    127.0.0.1:%s  pid %s  mode %s\n' "$(pg_running_port)" "$pid" "$(pg_mode)"
  else
    printf 'postgres    down  127.0.0.1:%s\n' "$PG_PORT"; ok=3
  fi
  pid=$(ch_running_pid)
  if [[ -n $pid ]] && ch_ping "$(xml_value "$CH_CONFIG" http_port)"; then
    printf 'clickhouse  up    127.0.0.1:%s (http %s)  pid %s\n' "$(xml_value "$CH_CONFIG" tcp_port)" "$(xml_value "$CH_CONFIG" http_port)" "$pid"
  else
    printf 'clickhouse  down  127.0.0.1:%s (http %s)\n' "$CH_PORT" "$CH_HTTP_PORT"; ok=3
  fi
  pid=$(ssh_running_pid)
  if [[ -n $pid ]] && port_open "$(sshd_value "$SSH_CONFIG" Port)"; then
    printf 'sftp        up    127.0.0.1:%s  pid %s  user %s\n' "$(sshd_value "$SSH_CONFIG" Port)" "$pid" "$(sftp_user)"
  else
    printf 'sftp        down  127.0.0.1:%s\n' "$SFTP_PORT"; ok=3
  fi
  mailpit_status || ok=3
  return "$ok"
}

# Serialise concurrent invocations on the same STATE.
lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "timed out waiting for the lock on $STATE/.lock"
}

need_root() {
  [[ $(id -u) == 0 ]] || die "'$1' must run as root (it installs packages and starts services as other users)"
}

# --- main --------------------------------------------------------------------

main() {
  local cmd=${1:-}
  absolutize_state
  set_paths
  case $cmd in
    up)
      need_root up
      ensure_packages
      prepare_state
      lock_state
      pg_up
      pg_app_role
      ch_up
      ssh_up
      mailpit_up
      write_env
      env_lines
      ;;
    env)
      write_env
      env_lines
      ;;
    status)
      status
      ;;
    down)
      need_root down
      [[ -d $STATE ]] || { log "nothing to stop: $STATE does not exist"; return 0; }
      lock_state
      mailpit_down
      ssh_down
      ch_down
      pg_down
      log "stopped (data kept in $STATE)"
      ;;
    reset)
      need_root reset
      if [[ -d $STATE ]]; then
        lock_state
        mailpit_down
        ssh_down
        ch_down
        pg_down
        rm -rf "$STATE"
        log "deleted $STATE"
      fi
      ;;
    *)
      sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
      [[ $cmd == -h || $cmd == --help || $cmd == help ]] && return 0
      return 2
      ;;
  esac
}

main "$@"
