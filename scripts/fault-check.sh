#!/usr/bin/env bash
# Issue #17: random seeds of the fault-schedule checker (tools/FaultCheck), one after another, each a fresh private
# stack on the infrastructure of scripts/infra.sh, then a summary table: seeds run, faults injected by kind,
# violations (with each failing seed's rerun command and its logs).
#   scripts/fault-check.sh --seeds N --minutes M [--kinds EngineKill,ServeKill,...|all|every] (all: the kinds up to session 15; every: also the newer ones, such as OwnerLeaseLapse) [--first-seed S]
#   scripts/fault-check.sh --plant NAME --seeds N ...   the same on a throwaway copy with a known defect planted
#   scripts/fault-check.sh --table                       only print the accumulated table
# Results ACCUMULATE across invocations in run/faultcheck/results.tsv (one line per seed, appended as soon as the
# seed ends, so an interrupted run keeps what it finished); without --first-seed a run continues after the highest
# seed already in the file, and the printed table covers every seed ever recorded there. Touch
# run/faultcheck/STOP to end a long run after its current seed.
# --plant NAME applies tools/FaultCheck/planted/NAME.patch to a temporary git worktree (run/plant-NAME, detached,
# never a branch of the repository), builds the services the patch touches there (the others' binaries are copied),
# runs the seeds on it and records them in run/faultcheck/results-plant-NAME.tsv; the worktree is removed after.
# Extra options go to zdfaultcheck as they are: --only 0,3,5 (a subset of the schedule's faults), --scale, --length,
# --shrink [--shrink-runs N], --fio.
# Kinds that kill RabbitMQ or etcd restart them with scripts/infra.sh: run those against a private infrastructure
# (your ZD_* ports), never the one the tests of others use. Every port the checker's own processes listen on comes
# from ZD_FREE_PORTS (default 27110-27198: the checker stream's block, below the kernel's ephemeral range).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
seeds=5; minutes=1; kinds=""; first=""; plant=""; table_only=0; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --minutes) minutes="$2"; shift 2 ;;
    --kinds) kinds="$2"; shift 2 ;;
    --first-seed) first="$2"; shift 2 ;;
    --plant) plant="$2"; shift 2 ;;
    --table) table_only=1; shift ;;
    --only) extra+=(--only "$2"); shift 2 ;;
    --shrink|--fio) extra+=("$1"); shift ;;
    --shrink-runs|--length|--scale) extra+=("$1" "$2"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export ZD_FREE_PORTS="${ZD_FREE_PORTS:-27110-27198}"
mkdir -p "$ROOT/run/faultcheck"
results="$ROOT/run/faultcheck/results${plant:+-plant-$plant}.tsv"

table() {
  [ -s "$results" ] || { echo "no results yet in $results"; return; }
  awk -F'\t' '
    { n++; if ($6 == "pass") p++; else if ($6 == "FAIL") f++; else e++
      k[$5]++; m[$4]++
      split($7, parts, ", "); for (i in parts) { split(parts[i], kv, " "); if (kv[2] != "") inj[kv[1]] += kv[2] }
      if (!(lo) || $2 < lo) lo = $2; if ($2 > hi) hi = $2 }
    END {
      printf "| seeds run | passed | violations (seeds) | run errors | seeds | minutes each | kinds |\n|---|---|---|---|---|---|---|\n"
      ks = ""; for (x in k) ks = ks (ks ? "; " : "") x " (" k[x] ")"
      ms = ""; for (x in m) ms = ms (ms ? ", " : "") x " (" m[x] ")"
      printf "| %d | %d | %d | %d | %s..%s | %s | %s |\n\n", n, p, f, e, lo, hi, ms, ks
      printf "| fault kind | injected |\n|---|---|\n"
      for (x in inj) printf "| %s | %d |\n", x, inj[x]
    }' "$results"
  echo
  awk -F'\t' '$6 != "pass" { printf "- seed %s (%s, load %s): %s — %s\n", $2, $6, $3, $8, $9 }' "$results"
}
if [ "$table_only" = 1 ]; then table; exit 0; fi

# The infrastructure of this worktree (ZD_RUN_DIR), also for a planted copy: RabbitMqKill/EtcdKill restart it there.
export ZD_RUN_DIR="${ZD_RUN_DIR:-$ROOT/run}"
scripts/infra.sh up >/dev/null
set -a; . "$ZD_RUN_DIR/infra.env"; set +a

tree="$ROOT"
if [ -n "$plant" ]; then
  patch="$ROOT/tools/FaultCheck/planted/$plant.patch"
  [ -f "$patch" ] || { echo "no planted defect $patch" >&2; exit 2; }
  tree="$ROOT/run/plant-$plant"
  git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
  git worktree add --detach "$tree" HEAD >/dev/null
  # The runs' logs (every process's) are kept under run/faultcheck/plant-<name>/ before the copy goes.
  trap 'mkdir -p "$ROOT/run/faultcheck/plant-$plant"; mv "$tree"/run/faultcheck/fc* "$ROOT/run/faultcheck/plant-$plant/" 2>/dev/null; git -C "$ROOT" worktree remove --force "$tree" 2>/dev/null || true' EXIT
  git -C "$tree" apply "$patch"
  echo "planted $plant on a throwaway worktree $tree (detached at $(git rev-parse --short HEAD)):"
  git -C "$tree" diff --stat | sed 's/^/  /'
fi
build() { dotnet build "$1" -c Release -nologo -v q 2>&1 | grep -E " error |rror\(s\)" || true; }
# nbdhost is built from the data plane's layers beside it: a defect planted in one of them rebuilds nbdhost.
sources() { if [ "$1" = NbdHost ]; then echo services/NbdHost services/Nbd services/Storage services/Tlog services/NodeAgent; else echo "services/$1"; fi; }
for p in ClusterState RepairScheduler LogCollector NbdHost; do
  if [ -n "$plant" ] && ! git -C "$tree" diff --quiet -- $(sources "$p"); then
    echo "building the planted services/$p"; build "$tree/services/$p/"*.csproj
  elif [ -n "$plant" ]; then
    ls services/$p/bin/Release/net10.0/*.dll >/dev/null 2>&1 || build services/$p/*.csproj
    mkdir -p "$tree/services/$p/bin"; cp -r "services/$p/bin/Release" "$tree/services/$p/bin/"
  else
    ls services/$p/bin/Release/net10.0/*.dll >/dev/null 2>&1 || build services/$p/*.csproj
  fi
done
ls tools/FaultCheck/bin/Release/net10.0/zdfaultcheck.dll >/dev/null 2>&1 || build tools/FaultCheck/ZeroDisk.FaultCheck.csproj
# The checker runs from a copy of its binaries (inside the tree, so it finds the tree's services): rebuilding it
# while a long run goes on does not change the run under way.
bin="$tree/run/faultcheck/bin-$$"
mkdir -p "$bin"; cp -r tools/FaultCheck/bin/Release/net10.0/. "$bin/"

if [ -z "$first" ]; then
  if [ -s "$results" ]; then first=$(( $(cut -f2 "$results" | sort -n | tail -1) + 1 )); else first=1000; fi
fi
out="$ROOT/run/faultcheck/logs"
mkdir -p "$out"
seconds=$(awk "BEGIN { printf \"%d\", $minutes * 60 }")
rm -f "$ROOT/run/faultcheck/STOP"
failed=0; errors=0
for i in $(seq 0 $((seeds - 1))); do
  [ -f "$ROOT/run/faultcheck/STOP" ] && { echo "STOP file found: ending after $i seed(s)"; break; }
  seed=$((first + i))
  args=(--seed "$seed" --seconds "$seconds"); [ -n "$kinds" ] && args+=(--kinds "$kinds")
  args+=("${extra[@]+"${extra[@]}"}")
  # A rerun of a seed must not overwrite the log of the run that failed: the name carries the start time.
  log="$out/seed-$seed${plant:+-plant-$plant}-$(date -u +%Y%m%dT%H%M%S).log"
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "=== seed $seed (load $load) $(date -u +%H:%M:%S)"
  set +e
  dotnet "$bin/zdfaultcheck.dll" "${args[@]}" >"$log" 2>&1
  rc=$?
  set -e
  load="$load-$(cut -d' ' -f1 /proc/loadavg)"
  case $rc in
    0) verdict=pass; echo "    pass" ;;
    1) verdict=FAIL; failed=$((failed + 1)); grep -m1 "first violation" "$log" | sed 's/^/    /'; echo "    FAIL: $log" ;;
    *) verdict=error; errors=$((errors + 1)); echo "    run error ($rc): $log" ;;
  esac
  injected=$(grep -h -m1 "^injected:" "$log" | sed 's/^injected: //; s/;.*//' || true)
  first_violation=$(grep -h -m1 "^first violation:" "$log" | sed 's/^first violation: //' | tr '\t' ' ' | cut -c1-300 || true)
  [ "$verdict" = error ] && first_violation=$(grep -h -m1 "FAULTCHECK ERROR" "$log" | tr '\t' ' ' | cut -c1-300 || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$seed" "$load" "$minutes" "${kinds:-survivable}" "$verdict" "$injected" "$first_violation" "$log" >>"$results"
done
rm -rf "$bin"
table | tee "$ROOT/run/faultcheck/summary${plant:+-plant-$plant}.md"
echo "results: $results (summary: run/faultcheck/summary${plant:+-plant-$plant}.md)"
[ "$failed" -eq 0 ] && [ "$errors" -eq 0 ]
