#!/usr/bin/env bash
# Local ZeroDisk infrastructure from Debian packages, on loopback, all data under run/.
#   scripts/infra.sh install   install the Debian packages that are missing
#   scripts/infra.sh up        install, then start RabbitMQ, etcd, primary and slave Redis clusters; write run/infra.env
#   scripts/infra.sh down      stop everything this script started, by PID
#   scripts/infra.sh status    show what runs and where
# ZD_INFRA_AUTH=1 (or `up --auth`): the engines ask for a password (requirepass and an ACL user), etcd has
# authentication on (a root user and a service user, JWT tokens); the credentials are written to run/secrets/ and
# their variables (Engines__*, Etcd__*) to run/infra.env, so what sources it uses them. Switch mode with `down` first.
# ZD_INFRA_TLS=1 (or `up --tls`, combinable with --auth): a private CA and certificates in run/secrets/tls/ (openssl,
# scripts/lib/store-pki.sh); the engines listen with TLS only (--port 0, --tls-port, client certificates required) and
# etcd on https:// (client certificates required); run/infra.env gets Engines__UseTls/CaFile/CertificateFile/KeyFile,
# Etcd__CaFile/CertificateFile/KeyFile and https ETCD_ENDPOINTS. etcd's peers stay plain http on loopback.
# ZD_INFRA_RABBITMQ_URI=<uri> (and ZD_INFRA_RABBITMQ_MANAGEMENT_URL): use that broker, start none (a second stack, e.g.
# scripts/test.sh's auth-on one, beside a first).
# Ports are non-default on purpose: Debian's postinst starts the packaged services on their default ports.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${ZD_RUN_DIR:-$ROOT/run}"
PIDS="$RUN/pids"
LOGS="$RUN/logs"

AMQP_PORT="${ZD_AMQP_PORT:-35672}"
MGMT_PORT="${ZD_MGMT_PORT:-45672}"
DIST_PORT="${ZD_DIST_PORT:-45673}"
ETCD_PORT="${ZD_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${ZD_ETCD_PEER_PORT:-23800}"
ETCD_MEMBERS="${ZD_ETCD_MEMBERS:-1}" # 3: a three-member cluster on consecutive client and peer ports
PRIMARY_PORTS=(${ZD_PRIMARY_PORTS:-26379 26380})
SLAVE_PORTS=(${ZD_SLAVE_PORTS:-26479 26480})
RABBIT_NODE="zerodisk-${AMQP_PORT}@localhost"
AUTH="${ZD_INFRA_AUTH:-0}"
TLS="${ZD_INFRA_TLS:-0}"
SECRETS="$RUN/secrets"
PKI="$SECRETS/tls"
ENGINE_USER=zerodisk
ETCD_USER=zerodisk

PACKAGES=(rabbitmq-server etcd-server etcd-client redis-server qemu-utils libnbd-bin python3-libnbd nbdkit fio jq curl prometheus strace chromium docker-compose openssl)

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

. "$ROOT/scripts/lib/pids.sh" # alive, port_free, stop_pid, status_pids

await_port_free() { # port, what, seconds
  for _ in $(seq 1 $(($3 * 10))); do port_free "$1" && ! { command -v ss >/dev/null && ss -Htan "sport = :$1" | grep -qv "^TIME-WAIT"; } && return 0; sleep 0.1; done
  die "port $1 (for $2) is taken by another process; set ZD_*_PORT to move it"
}

show_log() { # name: the end of its log, so that a failure explains itself where it is reported (CI prints only stderr)
  [ -f "$LOGS/$1.log" ] || return 0
  log "last lines of $LOGS/$1.log:"
  tail -n 40 "$LOGS/$1.log" | cut -c1-600 | sed 's/^/[infra]   /' >&2
}

await() { # name, seconds, command...: 0 ready, 1 the process exited, 2 not ready in time
  local name=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$name" || return 1
    sleep 0.1
  done
  return 2
}

wait_for() { # name, seconds, command...
  local rc=0
  await "$@" || rc=$?
  [ $rc -eq 0 ] && return 0
  show_log "$1"
  [ $rc -eq 1 ] && die "$1 exited during start-up; see $LOGS/$1.log"
  die "$1 did not become ready within ${2}s; see $LOGS/$1.log"
}

start() { # name, port, command...: starts in its own session, records the PID
  local name=$1 port=$2; shift 2
  if alive "$name"; then log "$name already running (pid $(cat "$PIDS/$name.pid"))"; return 1; fi
  port_free "$port" || die "port $port (for $name) is taken by another process; set ZD_*_PORT to move it"
  # Appended, not overwritten: a server restarted after a crash (the fault checker kills them) keeps the log of the one that died.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/$name.pid"
  return 0
}

# --- credentials (ZD_INFRA_AUTH=1) ---------------------------------------------------------------------------
secret() { # name: a random password kept in run/secrets/<name>.password (chmod 600), created once
  local file="$SECRETS/$1.password"
  if [ ! -s "$file" ]; then
    mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
    (umask 077; openssl rand -hex 24 > "$file")
  fi
  echo "$file"
}

redis_cli() { # port, args...: as the engines' service user when auth is on (password from the environment, not argv)
  local port=$1 tls=(); shift
  [ "$TLS" = 1 ] && tls=(--tls --cacert "$PKI/ca-cert.pem" --cert "$PKI/client-cert.pem" --key "$PKI/client-key.pem")
  if [ "$AUTH" = 1 ]; then
    REDISCLI_AUTH="$(cat "$(secret engine)")" redis-cli "${tls[@]}" --no-auth-warning --user "$ENGINE_USER" -h 127.0.0.1 -p "$port" "$@"
  else
    redis-cli "${tls[@]}" -h 127.0.0.1 -p "$port" "$@"
  fi
}

# --- TLS (ZD_INFRA_TLS=1) --------------------------------------------------------------------------------------
make_pki() { [ "$TLS" = 1 ] && "$ROOT/scripts/lib/store-pki.sh" "$PKI"; return 0; }

redis_tls_args() { # port: TLS only on the engine's port, every client with a certificate of the CA
  if [ "$TLS" = 1 ]; then
    echo "--port 0 --tls-port $1 --tls-cert-file $PKI/server-cert.pem --tls-key-file $PKI/server-key.pem"
    echo "--tls-ca-cert-file $PKI/ca-cert.pem --tls-auth-clients yes"
  else
    echo "--port $1"
  fi
}

etcd_scheme() { [ "$TLS" = 1 ] && echo https || echo http; }

etcd_tls_args() {
  [ "$TLS" = 1 ] || return 0
  echo "--cert-file $PKI/server-cert.pem --key-file $PKI/server-key.pem --trusted-ca-file $PKI/ca-cert.pem --client-cert-auth"
}

etcd_client_tls() { # etcdctl's and curl's options for the members' client port
  [ "$TLS" = 1 ] || return 0
  echo "--cacert $PKI/ca-cert.pem --cert $PKI/client-cert.pem --key $PKI/client-key.pem"
}

# shellcheck disable=SC2046 # the TLS arguments are one word each
etcd_health() { curl -sf $(etcd_client_tls) "$(etcd_scheme)://127.0.0.1:$1/health"; }

redis_ping() { redis_cli "$1" ping 2>/dev/null | grep -q PONG; }

redis_auth_conf() { # dir: the engine's password and ACL user in a config file of its own (not on its command line)
  local conf="$1/auth.conf" password
  password="$(cat "$(secret engine)")"
  (umask 077; printf 'requirepass "%s"\nuser %s on >%s ~* &* +@all\n' "$password" "$ENGINE_USER" "$password" > "$conf")
  echo "$conf"
}

etcd_auth_args() { # JWT tokens: valid on every member and across restarts (etcd's simple tokens are neither)
  [ "$AUTH" = 1 ] || return 0
  if [ ! -s "$SECRETS/etcd-jwt.key" ]; then
    mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
    (umask 077; openssl genrsa -out "$SECRETS/etcd-jwt.key" 2048 2>/dev/null)
    openssl rsa -in "$SECRETS/etcd-jwt.key" -pubout -out "$SECRETS/etcd-jwt.pub" 2>/dev/null
  fi
  echo "--auth-token jwt,pub-key=$SECRETS/etcd-jwt.pub,priv-key=$SECRETS/etcd-jwt.key,sign-method=RS256,ttl=10m"
}

enable_etcd_auth() { # a root user, a role with read-write on every key, the service user in it, then auth on (once)
  [ "$AUTH" = 1 ] || return 0
  local endpoint root service
  endpoint="$(etcd_endpoints)"; root="$(cat "$(secret etcd-root)")"; service="$(cat "$(secret etcd)")"
  # shellcheck disable=SC2046 # the TLS arguments are one word each
  local ctl=(env ETCDCTL_API=3 etcdctl --endpoints "$endpoint" $(etcd_client_tls))
  # Already on (a second `up`): etcd asks an anonymous client for a user name, or (TLS: the client certificate's CN
  # names the user zerodisk) refuses it the root's commands.
  # (The answer is kept first: under pipefail etcdctl's exit status would make a piped grep's match count for nothing.)
  local probe; probe=$("${ctl[@]}" user list 2>&1 || true)
  if grep -Eq "user name is empty|permission denied" <<<"$probe"; then return 0; fi
  "${ctl[@]}" user get root >/dev/null 2>&1 || "${ctl[@]}" user add root --new-user-password="$root" >/dev/null
  "${ctl[@]}" role get root >/dev/null 2>&1 || "${ctl[@]}" role add root >/dev/null
  "${ctl[@]}" user grant-role root root >/dev/null
  "${ctl[@]}" role get zerodisk >/dev/null 2>&1 || "${ctl[@]}" role add zerodisk >/dev/null
  "${ctl[@]}" role grant-permission zerodisk readwrite --from-key '' >/dev/null
  "${ctl[@]}" user get "$ETCD_USER" >/dev/null 2>&1 || "${ctl[@]}" user add "$ETCD_USER" --new-user-password="$service" >/dev/null
  "${ctl[@]}" user grant-role "$ETCD_USER" zerodisk >/dev/null
  "${ctl[@]}" auth enable >/dev/null
  log "etcd: authentication on (users root and $ETCD_USER; passwords in $SECRETS)"
}

start_redis() { # name, port
  local name=$1 port=$2 dir="$RUN/redis/$2" conf=()
  mkdir -p "$dir"
  [ "$AUTH" = 1 ] && conf=("$(redis_auth_conf "$dir")")
  # shellcheck disable=SC2046 # the port and TLS arguments are one word each
  if start "$name" "$port" redis-server "${conf[@]}" $(redis_tls_args "$port") --bind 127.0.0.1 --dir "$dir" --daemonize no \
      --appendonly yes --appendfsync always --maxmemory-policy noeviction --save "" --protected-mode no; then
    wait_for "$name" 10 redis_ping "$port"
  else
    # Started by an older infra.sh with appendfsync everysec: NBD servers refuse such an engine (issue 15 item 7).
    redis_cli "$port" config set appendfsync always >/dev/null || true
  fi
}

start_etcd() {
  mkdir -p "$RUN/etcd"
  if [ "$ETCD_MEMBERS" -eq 1 ]; then
    start_etcd_member etcd zerodisk "$ETCD_PORT" "$ETCD_PEER_PORT" "$RUN/etcd/data" "zerodisk=http://127.0.0.1:$ETCD_PEER_PORT"
    return
  fi
  local i cluster=""
  for ((i = 0; i < ETCD_MEMBERS; i++)); do cluster+="zerodisk-$i=http://127.0.0.1:$((ETCD_PEER_PORT + i)),"; done
  # Members start together (each waits for a quorum), then each is checked.
  for ((i = 0; i < ETCD_MEMBERS; i++)); do
    start_etcd_member "$(etcd_name $i)" "zerodisk-$i" "$((ETCD_PORT + i))" "$((ETCD_PEER_PORT + i))" "$RUN/etcd/member-$i" "${cluster%,}" nowait
  done
  for ((i = 0; i < ETCD_MEMBERS; i++)); do wait_for "$(etcd_name $i)" 30 etcd_health "$((ETCD_PORT + i))"; done
}

etcd_name() { [ "$1" -eq 0 ] && echo etcd || echo "etcd-$1"; }

start_etcd_member() { # pid name, member name, client port, peer port, data dir, initial cluster, [nowait]
  # shellcheck disable=SC2046 # the auth arguments are one word each
  if start "$1" "$3" etcd --name "$2" --data-dir "$5" $(etcd_auth_args) $(etcd_tls_args) \
      --listen-client-urls "$(etcd_scheme)://127.0.0.1:$3" --advertise-client-urls "$(etcd_scheme)://127.0.0.1:$3" \
      --listen-peer-urls "http://127.0.0.1:$4" --initial-advertise-peer-urls "http://127.0.0.1:$4" \
      --initial-cluster "$6" --initial-cluster-state new \
      --auto-compaction-mode periodic --auto-compaction-retention 1h; then
    [ "${7:-}" = nowait ] || wait_for "$1" 20 etcd_health "$3"
  fi
  return 0
}

etcd_endpoints() {
  local i list=""
  for ((i = 0; i < ETCD_MEMBERS; i++)); do list+="$(etcd_scheme)://127.0.0.1:$((ETCD_PORT + i)),"; done
  echo "${list%,}"
}

rabbit_env() {
  export HOME="$RUN/rabbitmq" RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$DIST_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$RUN/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$RUN/rabbitmq/log" \
    RABBITMQ_CONFIG_FILE="$RUN/rabbitmq/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$RUN/rabbitmq/enabled_plugins" \
    RABBITMQ_PID_FILE="$RUN/rabbitmq/rabbitmq.pid" RABBITMQ_LOGS=- ERL_CRASH_DUMP="$RUN/rabbitmq/erl_crash.dump"
  # Erlang distribution (the broker's and its CLI tools') listens on every interface unless told otherwise.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

start_rabbitmq() {
  mkdir -p "$RUN/rabbitmq"
  cat > "$RUN/rabbitmq/rabbitmq.conf" <<CONF
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
loopback_users = none
CONF
  echo '[rabbitmq_management,rabbitmq_tracing].' > "$RUN/rabbitmq/enabled_plugins"
  (
    rabbit_env
    # Our own epmd, on loopback, so that 'down' can stop it by PID as well; rabbit starts only once it listens
    # (else the node may start a second epmd of its own that races ours for the port).
    if ! pgrep -x epmd >/dev/null; then
      setsid epmd -address 127.0.0.1 >"$LOGS/epmd.log" 2>&1 < /dev/null &
      echo $! > "$PIDS/epmd.pid"
      wait_for epmd 10 epmd -names
    fi
    # One retry: a broker that dies while booting (seen once on a CI machine, reason not captured) usually boots on
    # the second try; its log is shown either way.
    local attempt rc
    # Already up (a second `up`): its own ports are taken by itself.
    if alive rabbitmq; then log "rabbitmq already running (pid $(cat "$PIDS/rabbitmq.pid"))"; return 0; fi
    for attempt in 1 2; do
      # The broker dies at boot when its management or distribution port is taken (its AMQP port is checked by
      # start); these ports lie in the ephemeral range, so a short-lived client socket may hold one for a moment.
      await_port_free "$MGMT_PORT" rabbitmq-management 10 && await_port_free "$DIST_PORT" rabbitmq-distribution 10
      start rabbitmq "$AMQP_PORT" /usr/lib/rabbitmq/bin/rabbitmq-server || return 0
      rc=0; await rabbitmq 90 /usr/lib/rabbitmq/bin/rabbitmq-diagnostics -q check_port_connectivity || rc=$?
      if [ $rc -eq 0 ]; then
        wait_for rabbitmq 30 curl -sf -u guest:guest "http://127.0.0.1:$MGMT_PORT/api/overview"
        return 0
      fi
      show_log rabbitmq
      [ $rc -eq 1 ] && [ $attempt -eq 1 ] || break
      log "rabbitmq exited during start-up; starting it once more"
      mv -f "$LOGS/rabbitmq.log" "$LOGS/rabbitmq.first-attempt.log"
      rm -f "$PIDS/rabbitmq.pid"
      sleep 2
    done
    [ $rc -eq 1 ] && die "rabbitmq exited during start-up; see $LOGS/rabbitmq.log"
    die "rabbitmq did not become ready within 90s; see $LOGS/rabbitmq.log"
  )
}

write_env() {
  local primary slave
  primary=$(printf '127.0.0.1:%s,' "${PRIMARY_PORTS[@]}"); slave=$(printf '127.0.0.1:%s,' "${SLAVE_PORTS[@]}")
  cat > "$RUN/infra.env" <<ENV
RABBITMQ_URI=${ZD_INFRA_RABBITMQ_URI:-amqp://guest:guest@127.0.0.1:$AMQP_PORT/}
RABBITMQ_MANAGEMENT_URL=${ZD_INFRA_RABBITMQ_MANAGEMENT_URL:-http://127.0.0.1:$MGMT_PORT/}
ETCD_ENDPOINTS=$(etcd_endpoints)
REDIS_PRIMARY=${primary%,}
REDIS_SLAVE=${slave%,}
ENV
  if [ "$TLS" = 1 ]; then
    # The engines' TLS ports are their only ports; ZD_TLS_SERVER_* are for engines a test or tool starts itself
    # (tools/LocalStack/RedisServerProcess), so that they ask for TLS as these do.
    cat >> "$RUN/infra.env" <<ENV
Engines__UseTls=true
Engines__CaFile=$PKI/ca-cert.pem
Engines__CertificateFile=$PKI/client-cert.pem
Engines__KeyFile=$PKI/client-key.pem
Etcd__CaFile=$PKI/ca-cert.pem
Etcd__CertificateFile=$PKI/client-cert.pem
Etcd__KeyFile=$PKI/client-key.pem
ZD_TLS_SERVER_CERT_FILE=$PKI/server-cert.pem
ZD_TLS_SERVER_KEY_FILE=$PKI/server-key.pem
ENV
  fi
  [ "$AUTH" = 1 ] || return 0
  # The services' configuration keys (section__key): every service, tool and test that sources this file uses them.
  cat >> "$RUN/infra.env" <<ENV
Engines__User=$ENGINE_USER
Engines__PasswordFile=$(secret engine)
Etcd__User=$ETCD_USER
Etcd__PasswordFile=$(secret etcd)
ENV
}

up() {
  install_packages
  mkdir -p "$PIDS" "$LOGS"
  make_pki
  start_etcd
  enable_etcd_auth
  local i=0
  for p in "${PRIMARY_PORTS[@]}"; do start_redis "redis-primary-$i" "$p"; i=$((i + 1)); done
  i=0
  for p in "${SLAVE_PORTS[@]}"; do start_redis "redis-slave-$i" "$p"; i=$((i + 1)); done
  [ -n "${ZD_INFRA_RABBITMQ_URI:-}" ] || start_rabbitmq
  write_env
  status
}

down() {
  [ -d "$PIDS" ] || { log "nothing to stop"; return 0; }
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    local name; name=$(basename "$f" .pid)
    [ "$name" = epmd ] && continue
    stop_pid "$name"; log "stopped $name"
  done
  stop_pid epmd
}

status() {
  status_pids || { echo "  nothing running"; return 0; }
  if [ -f "$RUN/infra.env" ]; then
    echo "Listening (from $RUN/infra.env):"
    sed 's/^/  /' "$RUN/infra.env"
    echo "  RabbitMQ management UI: ${ZD_INFRA_RABBITMQ_MANAGEMENT_URL:-http://127.0.0.1:$MGMT_PORT/} (guest/guest, loopback only; Admin > Tracing)"
  fi
}

for option in "${@:2}"; do
  case "$option" in
    --auth) AUTH=1 ;;
    --tls) TLS=1 ;;
    *) echo "unknown option $option; usage: $0 up [--auth] [--tls]" >&2; exit 2 ;;
  esac
done
case "${1:-}" in
  install) install_packages ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 install|up [--auth] [--tls]|down|status" >&2; exit 2 ;;
esac
