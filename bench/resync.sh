#!/usr/bin/env bash
# Resync benchmark: NbdHost's tmp-outage repair against a bare pipelined copy and Redis's MIGRATE on the same
# engines in the same run (bench/README.md). Usage: bench/resync.sh [blocks] [rounds]   (needs scripts/infra.sh up)
# ZD_BENCH_RESYNC_DLL: a ResyncBench.dll built elsewhere (e.g. a "before" tree) to run instead of this tree's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
set -a; . "$root/run/infra.env"; set +a
dll="${ZD_BENCH_RESYNC_DLL:-$root/bench/ResyncBench/bin/Release/net10.0/ResyncBench.dll}"
[[ -n "${ZD_BENCH_RESYNC_DLL:-}" ]] || dotnet build -c Release "$root/bench/ResyncBench/ResyncBench.csproj" -v q -nologo >/dev/null
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $dll"
dotnet "$dll" "$@"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
