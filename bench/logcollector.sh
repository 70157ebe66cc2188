#!/usr/bin/env bash
# LogCollector benchmark (not a test): events/s sustained, append -> consume latency (p50/p99), and the collector's
# peak RSS while a large backlog builds up with the broker unreachable. Uses the shared RabbitMQ (run/infra.env).
#   bench/logcollector.sh            sizes: ZD_BENCH_EVENTS (50000), ZD_BENCH_LATENCY_EVENTS (1000), ZD_BENCH_BACKLOG_LINES (1000000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${RABBITMQ_URI:-}" ]; then
  [ -f run/infra.env ] || scripts/infra.sh up
  set -a; . run/infra.env; set +a
fi
dotnet build bench/logcollector/ZeroDisk.LogCollector.Bench.csproj -c Release -nologo -v q
dotnet bench/logcollector/bin/Release/net10.0/ZeroDisk.LogCollector.Bench.dll
