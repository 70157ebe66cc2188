#!/usr/bin/env bash
# bench/nbd.sh with the Redis backend as well, on the local infrastructure (scripts/infra.sh up): registers a
# primary and slave cluster from run/infra.env and 10 vdisks of 1 GiB for one NBD server in etcd, then runs the
# same fio jobs against nbdkit memory, NbdHost serve-memory and NbdHost serve over Redis in one run. The
# NbdHost-over-Redis peak RSS is for a server exporting all 10 vdisks.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
set -a; . "$ROOT/run/infra.env"; set +a
PORT="${ZD_BENCH_REDIS_PORT:-21811}"
ID="bench-$$"
servers() { local out=""; IFS=, read -ra list <<<"$1"; for a in "${list[@]}"; do out+="{\"address\":\"$a\",\"db\":0,\"state\":\"online\"},"; done; echo "{\"servers\":[${out%,}]}"; }
put() { ETCDCTL_API=3 etcdctl --endpoints="$ETCD_ENDPOINTS" put "$1" "$2" >/dev/null; }
# Identity is checked, never assumed: an engine is used only while its identity marker equals the one etcd registers. An engine of
# the local infrastructure keeps the marker it has; one without gets a new one; etcd registers what the engine holds.
IFS=, read -ra marked <<<"$REDIS_PRIMARY,$REDIS_SLAVE"
for engine in "${marked[@]}"; do
  cli=(redis-cli -h "${engine%:*}" -p "${engine##*:}")
  marker="$("${cli[@]}" GET zerodisk:engine)"
  if [ -z "$marker" ]; then marker="engine-$engine-$(date +%s%N)"; "${cli[@]}" SET zerodisk:engine "$marker" >/dev/null; fi
  put "zerodisk/engines/$engine/identity" "$marker"
done
put "$ID-primary:cluster:conf:storage" "$(servers "$REDIS_PRIMARY")"
put "$ID-slave:cluster:conf:storage" "$(servers "$REDIS_SLAVE")"
vdisks=""
for n in $(seq 0 9); do
  put "$ID-vd$n:vdisk:conf:static" '{"blockSize":4096,"readOnly":false,"size":1,"type":"db"}'
  put "$ID-vd$n:vdisk:conf:storage:nbd" "{\"storageClusterID\":\"$ID-primary\",\"slaveStorageClusterID\":\"$ID-slave\"}"
  vdisks+="\"$ID-vd$n\","
done
put "$ID-nbd:nbdserver:conf:vdisks" "{\"vdisks\":[${vdisks%,}]}"
# Leave the engines and etcd as they were: GiBs of old bench data make every later run slower (AOF rewrites fork
# a big process) and can push a command past its timeout.
cleanup() {
  ETCDCTL_API=3 etcdctl --endpoints="$ETCD_ENDPOINTS" del --prefix "$ID-" >/dev/null || true
  IFS=, read -ra engines <<<"$REDIS_PRIMARY,$REDIS_SLAVE"
  for engine in "${engines[@]}"; do
    redis-cli -h "${engine%:*}" -p "${engine##*:}" --scan --pattern "*$ID-vd*" | xargs -r redis-cli -h "${engine%:*}" -p "${engine##*:}" unlink >/dev/null || true
  done
}
trap cleanup EXIT
ZD_BENCH_ENGINES="$REDIS_PRIMARY,$REDIS_SLAVE" ZD_BENCH_REDIS=1 ZD_BENCH_REDIS_URI="nbd://127.0.0.1:$PORT/$ID-vd0" \
  ZD_BENCH_REDIS_ARGS="--id $ID-nbd --listen 127.0.0.1:$PORT --etcd $ETCD_ENDPOINTS" \
  "$ROOT/bench/nbd.sh"
