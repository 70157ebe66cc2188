#!/bin/sh
# One-shot setup of a deployment through ClusterState's admin API (zdctl): a primary and a slave storage cluster of
# two engines each (identity markers written on the engines and registered in etcd), vdisk vd1 mirrored on them,
# exported by NBD server vm1 that node1's agent starts. docker-compose runs it as its "setup" service (defaults
# below); scripts/stack.sh runs the same script on the local stack with its own engines and zdctl.
# Safe to run again: existing clusters are accepted as they are, an existing vdisk is kept, the server restarted.
set -eu
ZDCTL=${ZDCTL:-dotnet /app/zdctl.dll}
PRIMARY_ENGINES=${ZD_PRIMARY_ENGINES:-redis-primary-0:6379 redis-primary-1:6379}
SLAVE_ENGINES=${ZD_SLAVE_ENGINES:-redis-slave-0:6379 redis-slave-1:6379}
NODE=${ZD_NODE:-node1}
# $ZDCTL and the engine lists are split on spaces on purpose.
zdctl() { $ZDCTL --api "${ZD_ADMIN_URL:-http://clusterstate:5080}" --timeout 60 "$@"; }

# Until ClusterState answers (exit 3 = unreachable); any other failure is a refusal and ends the setup.
retry_unreachable() {
  tries=0
  while :; do
    if out=$("$@" 2>&1); then echo "$out"; return 0; else code=$?; fi
    tries=$((tries + 1))
    if [ "$code" -ne 3 ] || [ "$tries" -ge 60 ]; then echo "$out" >&2; return "$code"; fi
    sleep 2
  done
}

retry_unreachable zdctl cluster create primary $PRIMARY_ENGINES
retry_unreachable zdctl cluster create slave $SLAVE_ENGINES
if ! out=$(zdctl vdisk create vd1 --cluster primary --slave-cluster slave --size "${ZD_VDISK_SIZE:-10GiB}" 2>&1); then
  case "$out" in *"already exists"*) echo "vdisk vd1 already exists" ;; *) echo "$out" >&2; exit 1 ;; esac
else
  echo "$out"
fi
zdctl nbdserver assign vm1 vd1
# The agent registers itself in etcd once it runs; a start for a node without one is refused.
tries=0
until out=$(zdctl nbdserver start vm1 --node "$NODE" 2>&1); do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then echo "$out" >&2; exit 1; fi
  sleep 2
done
echo "$out"
