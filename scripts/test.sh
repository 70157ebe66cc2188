#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, NuGet restore), starts the local infrastructure,
# builds once and runs every test project against the real servers. Ends with "N passed, N failed".
# Two lanes run side by side (the whole suite one project at a time took ~30 minutes on 2 cores, mostly waiting):
# the heavy projects (whole stacks, NBD servers under load) one after another, and beside them the light ones, which
# mostly wait on brokers, leases and timers (measured: the repair scheduler's suite uses a fifth of a core). The
# fault-schedule seeds run last and alone: they load the shared servers hardest and may kill and restart them.
# Each lane's output is printed whole when the lane ends, so the log reads one project at a time.
#   scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Nbd]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/infra.sh up
set -a; . run/infra.env; set +a

dotnet build ZeroDiskServices.sln -c Release -nologo -v q -warnaserror

results="$ROOT/run/test-results"
rm -rf "$results"; mkdir -p "$results"

run_project() { # project [trx name]: one test project against the servers of the current environment
  local project=$1 name=${2:-$(basename "$1" .csproj)}
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" --blame-hang-timeout 10m "${test_args[@]}"
}
test_args=("$@")

# Issue 21: one suite again with credentials and TLS on — engines with a password, an ACL user and TLS only (client
# certificates required), etcd with authentication on https (client certificates required) — on a second etcd and
# second engines beside the first (the broker is shared). Everything reads them from run/auth/infra.env's
# Engines__*/Etcd__* variables, as from any run/infra.env; the suite's own engines get TLS from its ZD_TLS_SERVER_*.
auth=(env ZD_RUN_DIR="$ROOT/run/auth" ZD_INFRA_AUTH=1 ZD_INFRA_TLS=1 ZD_ETCD_PORT="${ZD_AUTH_ETCD_PORT:-23890}" ZD_ETCD_PEER_PORT="${ZD_AUTH_ETCD_PEER_PORT:-23900}"
  ZD_PRIMARY_PORTS="${ZD_AUTH_PRIMARY_PORTS:-26389 26390}" ZD_SLAVE_PORTS="${ZD_AUTH_SLAVE_PORTS:-26489 26490}"
  ZD_INFRA_RABBITMQ_URI="$RABBITMQ_URI" ZD_INFRA_RABBITMQ_MANAGEMENT_URL="$RABBITMQ_MANAGEMENT_URL")
run_with_auth() {
  echo "=== ZeroDisk.RepairScheduler.Tests with credentials and TLS on (scripts/infra.sh up --auth --tls)"
  local ok=0
  if "${auth[@]}" scripts/infra.sh up >/dev/null; then
    (set -a; . run/auth/infra.env; set +a
     run_project tests/ZeroDisk.RepairScheduler.Tests/ZeroDisk.RepairScheduler.Tests.csproj ZeroDisk.RepairScheduler.Tests.auth) || ok=1
  else
    ok=1
  fi
  "${auth[@]}" scripts/infra.sh down >/dev/null || true
  return $ok
}

run_lane() { # project...: one after another; fails if any failed
  local ok=0 project
  for project in "$@"; do
    echo "=== $(basename "$project" .csproj)"
    run_project "$project" || ok=1
  done
  return $ok
}

# The drill's tests check that a drill leaves no queue or exchange on the shared broker's default virtual host, so
# nothing that declares endpoints there runs beside them: the light lane starts with what needs no broker, then waits.
drills=tests/ZeroDisk.EndToEnd.Tests/ZeroDisk.EndToEnd.Tests.csproj
light_first=(tests/ZeroDisk.Contracts.Tests/ZeroDisk.Contracts.Tests.csproj tests/ZeroDisk.Nbd.Tests/ZeroDisk.Nbd.Tests.csproj)
light_then=(tests/ZeroDisk.Infrastructure.Tests/ZeroDisk.Infrastructure.Tests.csproj tests/ZeroDisk.LogCollector.Tests/ZeroDisk.LogCollector.Tests.csproj)
# The repair scheduler's suite on the shared etcd runs alone, as it always had: its scheduler scans every vdisk and
# agent registered there, which the other suites add to while they run, and a test waiting for its respread's dispatch
# timed out beside them twice (never alone, never in its run with credentials, which has an etcd of its own and stays
# in the light lane).
last=(tests/ZeroDisk.RepairScheduler.Tests/ZeroDisk.RepairScheduler.Tests.csproj tests/ZeroDisk.FaultSchedule.Tests/ZeroDisk.FaultSchedule.Tests.csproj)
heavy=() # the rest, after the drills
for project in tests/*/*.Tests.csproj; do
  [[ " $drills ${light_first[*]} ${light_then[*]} ${last[*]} " == *" $project "* ]] || heavy+=("$project")
done

status=0
lane_log="$results/light-lane.log"
drills_done="$results/.drills-done"
(
  ok=0
  run_lane "${light_first[@]}" || ok=1
  while [ ! -e "$drills_done" ]; do kill -0 $$ 2>/dev/null || exit 1; sleep 2; done
  run_lane "${light_then[@]}" || ok=1
  run_with_auth || ok=1
  exit $ok
) >"$lane_log" 2>&1 &
light_pid=$!
run_lane "$drills" || status=1
touch "$drills_done"
run_lane "${heavy[@]}" || status=1
wait "$light_pid" || status=1
cat "$lane_log"
run_lane "${last[@]}" || status=1

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  n=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
done
[ "$passed" -gt 0 ] || { echo "no test ran"; status=1; }
echo "Total: $passed passed, $failed failed, $skipped skipped"
exit $status
