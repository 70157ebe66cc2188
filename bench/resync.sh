#!/usr/bin/env bash
# Resync benchmark: NbdHost's tmp-outage repair against a bare pipelined copy and Redis's MIGRATE on the same
# engines in the same run (bench/README.md). Usage: bench/resync.sh [blocks] [rounds]   (needs scripts/infra.sh up)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
set -a; . "$root/run/infra.env"; set +a
dotnet build -c Release "$root/bench/ResyncBench/ResyncBench.csproj" -v q -nologo >/dev/null
dotnet "$root/bench/ResyncBench/bin/Release/net10.0/ResyncBench.dll" "$@"
