# Shared by the bench scripts (sourced): the infrastructure they run on, and the builds they compare.
#   bench_infra            RABBITMQ_URI/ETCD_ENDPOINTS from the environment if set, else `scripts/infra.sh up` (idempotent;
#                          its ports move with ZD_AMQP_PORT, ZD_ETCD_PORT, ... as in the README) and run/infra.env
#   bench_builds DEFAULT   the "label=path" list to run: $ZD_BENCH_BUILDS, else "current=DEFAULT"
#   bench_load             the load average (1, 5, 15 min), printed beside every figure on this shared machine
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

bench_infra() {
  if [ -z "${RABBITMQ_URI:-}" ] || [ -z "${ETCD_ENDPOINTS:-}" ]; then
    "$BENCH_ROOT/scripts/infra.sh" up >&2
    set -a; . "${ZD_RUN_DIR:-$BENCH_ROOT/run}/infra.env"; set +a
  fi
}

bench_load() { cut -d' ' -f1-3 /proc/loadavg; }

# Prints one "label=path" a line. A bare path is labelled by its folder's name (run/before-bin/ClusterState → before-bin).
bench_builds() {
  local list="${ZD_BENCH_BUILDS:-current=$1}" item
  for item in $list; do
    if [[ "$item" == *=* ]]; then echo "$item"; else echo "$(basename "$(dirname "$(dirname "$item")")")=$item"; fi
  done
}
