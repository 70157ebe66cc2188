#!/usr/bin/env bash
# ClusterState benchmark: the etcd transaction anchor, paced failures (publish → etcd p50/p99) and a burst of reports
# (events/s), against a ClusterState run as its own process on a private RabbitMQ vhost and etcd scope.
# Usage: bench/clusterstate.sh [engines-per-phase (200)]
#   ZD_BENCH_BUILDS="before=run/before-bin/ClusterState/clusterstate.dll current=services/ClusterState/bin/Release/net10.0/clusterstate.dll"
#                       builds to compare, alternated ZD_BENCH_ROUNDS times (default: the current build, once)
#   ZD_BENCH_NO_BUILD=1 skip building the bench (and the current ClusterState) in Release
# Brings up scripts/infra.sh when RABBITMQ_URI/ETCD_ENDPOINTS are not set. Lines "@result clusterstate <label> <figure>
# <value>" are for bench/all.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BENCH_ROOT"
bench_infra
[ "${ZD_BENCH_NO_BUILD:-0}" = 1 ] || dotnet build -c Release bench/ClusterStateBench/ClusterStateBench.csproj -v q -nologo >/dev/null
mapfile -t builds < <(bench_builds services/ClusterState/bin/Release/net10.0/clusterstate.dll)
for round in $(seq 1 "${ZD_BENCH_ROUNDS:-1}"); do
  for build in "${builds[@]}"; do
    echo "== clusterstate round $round: ${build%%=*} (${build#*=}); load average $(bench_load)"
    ZD_BENCH_LABEL="${build%%=*}" ZD_BENCH_CLUSTERSTATE_DLL="${build#*=}" \
      dotnet bench/ClusterStateBench/bin/Release/net10.0/ClusterStateBench.dll "$@"
  done
done
