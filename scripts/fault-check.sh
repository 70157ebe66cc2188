#!/usr/bin/env bash
# Issue #17: N random seeds of the fault-schedule checker (tools/FaultCheck), one after another, each a fresh private
# stack on the infrastructure of scripts/infra.sh, then a summary table: seeds run, faults injected by kind,
# violations (with each failing seed's rerun command and its logs).
#   scripts/fault-check.sh --seeds N --minutes M [--kinds EngineKill,ServeKill,...|all] [--first-seed S]
# Kinds that kill RabbitMQ or etcd restart them with scripts/infra.sh: run those against a private infrastructure
# (your ZD_* ports), never the one the tests of others use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
seeds=5; minutes=1; kinds=""; first=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --kinds) kinds="$2"; shift 2 ;;
    --first-seed) first="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
scripts/infra.sh up >/dev/null
set -a; . "${ZD_RUN_DIR:-$ROOT/run}/infra.env"; set +a
[ -f tools/FaultCheck/bin/Release/net10.0/zdfaultcheck.dll ] || dotnet build tools/FaultCheck/ZeroDisk.FaultCheck.csproj -c Release -nologo -v q
for p in ClusterState RepairScheduler LogCollector NbdHost; do
  ls services/$p/bin/Release/net10.0/*.dll >/dev/null 2>&1 || dotnet build services/$p/*.csproj -c Release -nologo -v q
done
out="$ROOT/run/faultcheck/summary-$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$out"
seconds=$(awk "BEGIN { printf \"%d\", $minutes * 60 }")
[ -n "$first" ] || first=$(( (RANDOM << 15 | RANDOM) % 1000000 ))
passed=0; failed=0; errors=0
for i in $(seq 0 $((seeds - 1))); do
  seed=$((first + i))
  args=(--seed "$seed" --seconds "$seconds"); [ -n "$kinds" ] && args+=(--kinds "$kinds")
  echo "=== seed $seed"
  set +e
  dotnet tools/FaultCheck/bin/Release/net10.0/zdfaultcheck.dll "${args[@]}" >"$out/seed-$seed.log" 2>&1
  rc=$?
  set -e
  case $rc in
    0) passed=$((passed + 1)); echo "    pass" ;;
    1) failed=$((failed + 1)); grep -m1 "first violation" "$out/seed-$seed.log" | sed 's/^/    /'; echo "    FAIL: $out/seed-$seed.log" ;;
    *) errors=$((errors + 1)); echo "    run error ($rc): $out/seed-$seed.log" ;;
  esac
  grep -h "^injected:" "$out/seed-$seed.log" | sed 's/^injected: //; s/;.*//' | tr ',' '\n' | sed 's/^ *//' >>"$out/injected.txt" || true
done
{
  echo "| seeds run | passed | violations (seeds) | run errors | kinds |"
  echo "|---|---|---|---|---|"
  echo "| $seeds ($first..$((first + seeds - 1)), ${minutes} min each) | $passed | $failed | $errors | ${kinds:-survivable} |"
  echo
  echo "| fault kind | injected |"
  echo "|---|---|"
  awk 'NF == 2 { n[$1] += $2 } END { for (k in n) printf "| %s | %d |\n", k, n[k] }' "$out/injected.txt" | sort
  echo
  for log in "$out"/seed-*.log; do
    grep -q "FAULTCHECK FAIL" "$log" && { grep -h "FAULTCHECK FAIL\|first violation" "$log"; echo; }
  done
} | tee "$out/summary.md"
echo "summary: $out/summary.md"
[ "$failed" -eq 0 ] && [ "$errors" -eq 0 ]
