#!/usr/bin/env bash
# LogCollector benchmark (not a test): events/s sustained, append -> consume latency (p50/p99), the collector's peak
# RSS in every phase (throughput, a large backlog built with the broker unreachable, its catch-up), and the anchor:
# the same contracts published straight from C# (MassTransit, confirms) in the same run. The collector runs as its own
# process.
#   bench/logcollector.sh        sizes: ZD_BENCH_EVENTS (50000), ZD_BENCH_LATENCY_EVENTS (1000), ZD_BENCH_BACKLOG_LINES (1000000)
#                                ZD_BENCH_WARM_EVENTS (0): events relayed before the throughput phase, not measured
#   ZD_BENCH_BUILDS="before=run/before-bin/LogCollector/logcollector.dll current=services/LogCollector/bin/Release/net10.0/logcollector.dll"
#                                builds to compare, alternated ZD_BENCH_ROUNDS times (default: the current build, once)
#   ZD_BENCH_NO_BUILD=1          skip building the bench and the current collector
# Brings up scripts/infra.sh when RABBITMQ_URI/ETCD_ENDPOINTS are not set.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BENCH_ROOT"
bench_infra
if [ "${ZD_BENCH_NO_BUILD:-0}" != 1 ]; then
  dotnet build services/LogCollector/ZeroDisk.LogCollector.csproj -c Release -nologo -v q >/dev/null
  dotnet build bench/logcollector/ZeroDisk.LogCollector.Bench.csproj -c Release -nologo -v q >/dev/null
fi
mapfile -t builds < <(bench_builds services/LogCollector/bin/Release/net10.0/logcollector.dll)
for round in $(seq 1 "${ZD_BENCH_ROUNDS:-1}"); do
  for build in "${builds[@]}"; do
    echo "== logcollector round $round: ${build%%=*} (${build#*=}); load average $(bench_load)"
    ZD_BENCH_LABEL="${build%%=*}" ZD_COLLECTOR_DLL="${build#*=}" dotnet bench/logcollector/bin/Release/net10.0/ZeroDisk.LogCollector.Bench.dll
  done
done
