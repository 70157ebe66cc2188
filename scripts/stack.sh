#!/usr/bin/env bash
# The local stack that stays up after scripts/run.sh: a deployment to look at and attach a disk to, set up the way
# docker-compose's "setup" service sets one up (deploy/setup.sh, zdctl through the admin API). Real processes from
# the built solution, all on loopback, all state under run/stack/ (git-ignored):
#   its own etcd (so drills and tests on the shared etcd never pick its agent, and it never sees theirs), its own
#   RabbitMQ virtual host on the infrastructure's broker, a primary and a slave cluster of two redis-server each,
#   ClusterState (admin API and status page), RepairScheduler, and node1: an NbdHost agent and its LogCollector,
#   serving vdisk vd1 through NBD server vm1.
#   scripts/stack.sh up|down|status
# Needs scripts/infra.sh up (run/infra.env) and a built solution. Ports: ZD_STACK_ADMIN_PORT (5080),
# ZD_STACK_NBD_PORT (10809), ZD_STACK_ETCD_PORT (23890, and the next one for its peer port),
# ZD_STACK_ENGINE_PORTS ("26581 26582 26583 26584": primary, primary, slave, slave).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUN="$ROOT/run/stack"
PIDS="$RUN/pids"
LOGS="$RUN/logs"
ADMIN_PORT="${ZD_STACK_ADMIN_PORT:-5080}"
NBD_PORT="${ZD_STACK_NBD_PORT:-10809}"
ETCD_PORT="${ZD_STACK_ETCD_PORT:-23890}"
ENGINE_PORTS=(${ZD_STACK_ENGINE_PORTS:-26581 26582 26583 26584})
VHOST=zerodisk-stack
BIN=Release

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
. "$ROOT/scripts/lib/pids.sh" # alive, port_free, stop_pid, status_pids
dll() { echo "$ROOT/$1/bin/$BIN/net10.0/$2.dll"; }

start() { # name, port (0: none), command...: in its own session, its PID recorded
  local name=$1 port=$2; shift 2
  if alive "$name"; then return 0; fi
  [ "$port" = 0 ] || port_free "$port" || die "port $port (for $name) is taken; set ZD_STACK_*_PORT to move it"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$PIDS/$name.pid"
}

wait_for() { # what, seconds, command...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  die "$what not ready after ${seconds}s (logs in $LOGS)"
}

env_file() {
  local infra="${ZD_RUN_DIR:-$ROOT/run}/infra.env"
  [ -f "$infra" ] || die "$infra missing: run scripts/infra.sh up first"
  set -a; . "$infra"; set +a
  STACK_ETCD="http://127.0.0.1:$ETCD_PORT"
  STACK_AMQP="${RABBITMQ_URI%/}/$VHOST"
  ZDCTL_ARGS=(--api "http://127.0.0.1:$ADMIN_PORT" --etcd "$STACK_ETCD" --token-file "$RUN/admin.token")
  # The services' environment: the stack's etcd and vhost, not the shared ones.
  SERVICE_ENV=(env RABBITMQ_URI="$STACK_AMQP" ETCD_ENDPOINTS="$STACK_ETCD" DOTNET_gcServer=0)
}


up() {
  env_file
  for d in ClusterState RepairScheduler LogCollector NbdHost; do
    [ -f "$(dll services/$d "$(echo $d | tr 'A-Z' 'a-z')")" ] || die "services/$d is not built (dotnet build ZeroDiskServices.sln -c Release)"
  done
  [ -f "$(dll tools/Zdctl zdctl)" ] || die "tools/Zdctl is not built"
  mkdir -p "$PIDS" "$LOGS" "$RUN/node1/logs" "$RUN/node1/state"
  # The services run from a copy of their build, so a rebuild while the stack runs never rewrites a running
  # process's files; the copy is refreshed whenever none of them runs.
  if ! alive clusterstate && ! alive repairscheduler && ! alive node1-agent && ! alive node1-collector; then
    rm -rf "$RUN/bin"; mkdir -p "$RUN/bin"
    for d in ClusterState RepairScheduler LogCollector NbdHost; do cp -r "$ROOT/services/$d/bin/$BIN/net10.0" "$RUN/bin/$d"; done
  fi
  [ -s "$RUN/admin.token" ] || { (umask 077; openssl rand -hex 32 > "$RUN/admin.token"); }

  start etcd "$ETCD_PORT" etcd --name stack --data-dir "$RUN/etcd" \
    --listen-client-urls "$STACK_ETCD" --advertise-client-urls "$STACK_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "stack=http://127.0.0.1:$((ETCD_PORT + 1))" --initial-cluster-state new \
    --auto-compaction-mode periodic --auto-compaction-retention 1h
  local i port
  for i in 0 1 2 3; do
    port=${ENGINE_PORTS[$i]}
    mkdir -p "$RUN/engines/$port"
    start "engine-$port" "$port" redis-server --port "$port" --bind 127.0.0.1 --dir "$RUN/engines/$port" --daemonize no \
      --appendonly yes --appendfsync always --maxmemory-policy noeviction --save "" --protected-mode no
  done
  # Its own virtual host: the stack's messages never meet a drill's or a test's.
  curl -sf -u guest:guest -X PUT "${RABBITMQ_MANAGEMENT_URL%/}/api/vhosts/$VHOST" >/dev/null || die "could not create RabbitMQ vhost $VHOST"
  curl -sf -u guest:guest -X PUT -H 'content-type: application/json' -d '{"configure":".*","write":".*","read":".*"}' \
    "${RABBITMQ_MANAGEMENT_URL%/}/api/permissions/$VHOST/guest" >/dev/null || die "could not grant guest on $VHOST"
  wait_for etcd 30 curl -sf "$STACK_ETCD/health"
  for port in "${ENGINE_PORTS[@]}"; do wait_for "redis-server $port" 10 redis-cli -p "$port" ping; done

  start clusterstate "$ADMIN_PORT" "${SERVICE_ENV[@]}" ClusterState__AdminTokenFile="$RUN/admin.token" \
    dotnet "$RUN/bin/ClusterState/clusterstate.dll" --urls "http://127.0.0.1:$ADMIN_PORT"
  start repairscheduler 0 "${SERVICE_ENV[@]}" Operations__Url="http://127.0.0.1:$((ADMIN_PORT + 1))" dotnet "$RUN/bin/RepairScheduler/repairscheduler.dll"
  start node1-agent 0 "${SERVICE_ENV[@]}" dotnet "$RUN/bin/NbdHost/nbdhost.dll" agent --node node1 \
    --log-dir "$RUN/node1/logs" --state-dir "$RUN/node1/state" --etcd "$STACK_ETCD" \
    --nbd-command "{self} serve --id {id} --listen 127.0.0.1:$NBD_PORT --etcd $STACK_ETCD"
  start node1-collector 0 "${SERVICE_ENV[@]}" LogCollector__Node=node1 LogCollector__Directory="$RUN/node1/logs" \
    Operations__Url="http://127.0.0.1:$((ADMIN_PORT + 2))" dotnet "$RUN/bin/LogCollector/logcollector.dll"
  wait_for "ClusterState's admin API" 180 curl -sf "http://127.0.0.1:$ADMIN_PORT/status/model"

  # Unless vd1 is served already (deploy/setup.sh would restart vm1 under whatever uses it): the first time, and after
  # a down, which stopped vm1 (setup.sh accepts what exists and starts vm1 again).
  if ! nbdinfo "nbd://127.0.0.1:$NBD_PORT/vd1" >/dev/null 2>&1; then
    log "setting up clusters, vdisk vd1 and NBD server vm1 through the admin API (deploy/setup.sh)"
    ZDCTL="dotnet $(dll tools/Zdctl zdctl) --token-file $RUN/admin.token" ZD_ADMIN_URL="http://127.0.0.1:$ADMIN_PORT" \
      ZD_PRIMARY_ENGINES="127.0.0.1:${ENGINE_PORTS[0]} 127.0.0.1:${ENGINE_PORTS[1]}" \
      ZD_SLAVE_ENGINES="127.0.0.1:${ENGINE_PORTS[2]} 127.0.0.1:${ENGINE_PORTS[3]}" ZD_NODE=node1 \
      sh "$ROOT/deploy/setup.sh" >>"$LOGS/setup.log" 2>&1 || { tail -5 "$LOGS/setup.log" >&2; die "setup failed (log: $LOGS/setup.log)"; }
  fi
  wait_for "nbd://127.0.0.1:$NBD_PORT/vd1" 90 nbdinfo "nbd://127.0.0.1:$NBD_PORT/vd1"
  info
}

info() {
  env_file
  cat <<INFO

The local stack is up (scripts/run.sh --down stops it and the infrastructure; scripts/stack.sh status shows this again).
  Status page   http://127.0.0.1:$ADMIN_PORT/status/
  zdctl         alias zdctl='dotnet $ROOT/tools/Zdctl/bin/$BIN/net10.0/zdctl.dll ${ZDCTL_ARGS[*]}'
                zdctl status      zdctl health detail      zdctl follow
                zdctl vdisk create vd2 --cluster primary --slave-cluster slave --size 1GiB && zdctl nbdserver assign vm1 vd2
  Attach vd1    nbdinfo nbd://127.0.0.1:$NBD_PORT/vd1
                qemu-img info nbd://127.0.0.1:$NBD_PORT/vd1
                qemu-img convert -p -n -O raw disk.img nbd://127.0.0.1:$NBD_PORT/vd1        # write an image into it
                qemu-system-x86_64 -m 1G -drive file=nbd://127.0.0.1:$NBD_PORT/vd1,format=raw,if=virtio
  Break it      redis-cli -p ${ENGINE_PORTS[0]} shutdown nosave, then write to vd1 and watch the status page;
                scripts/stack.sh up starts the engine again (a temporary outage: it is resynced and back online)
  Logs          $LOGS; node1's event streams in $RUN/node1/logs
INFO
}

down() {
  [ -d "$PIDS" ] || { log "nothing to stop"; return 0; }
  stop_pid node1-collector; stop_pid node1-agent
  # The agent's children run in their own sessions (they outlive an agent by design): stop them by their pid files.
  local f pid
  for f in "$RUN"/node1/state/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f"); kill -TERM "$pid" 2>/dev/null || true; rm -f "$f"
  done
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    stop_pid "$(basename "$f" .pid)"
  done
  log "stopped (state kept in $RUN; rm -rf it for a fresh start)"
}

status() {
  if status_pids; then info; else echo "  the local stack is not running (scripts/stack.sh up)"; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: scripts/stack.sh up|down|status" >&2; exit 2 ;;
esac
