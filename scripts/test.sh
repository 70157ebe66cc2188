#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, NuGet restore), starts the local infrastructure,
# builds once and runs every test project against the real servers. Ends with "N passed, N failed".
# Two lanes run side by side (the whole suite one project at a time took ~30 minutes on 2 cores, mostly waiting):
# the heavy projects (whole stacks, NBD servers under load) one after another, and beside them the light ones, which
# mostly wait on brokers, leases and timers (measured: the repair scheduler's suite uses a fifth of a core), some on
# servers of their own.
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

# Suites that get servers of their own (scripts/infra.sh up with another ZD_RUN_DIR and ports) beside the shared ones:
# what they do to etcd and the engines, or what the other suites do there, cannot reach the other side.
#   the repair scheduler's: its scheduler scans every vdisk and agent registered in its etcd, which the other suites
#     add to while they run (a test waiting for its respread's dispatch timed out beside them on the shared etcd);
#   issue 21's: the same suite with credentials and TLS on (engines with a password, an ACL user and TLS only, client
#     certificates required; etcd with authentication on https). Everything reads them from the run dir's infra.env
#     Engines__*/Etcd__* variables, as from any infra.env; the suite's own engines get TLS from its ZD_TLS_SERVER_*;
#   the fault-schedule seeds': they SIGKILL and restart etcd and RabbitMQ, so they get a broker of their own as well.
# Each ZD_*_PORT can be moved by the same variable with ZD_SCHEDULER_/ZD_AUTH_/ZD_FAULTS_ in front (a second clone).
shared_broker=(ZD_INFRA_RABBITMQ_URI="$RABBITMQ_URI" ZD_INFRA_RABBITMQ_MANAGEMENT_URL="$RABBITMQ_MANAGEMENT_URL")
scheduler_servers=(ZD_RUN_DIR="$ROOT/run/scheduler" ZD_ETCD_PORT="${ZD_SCHEDULER_ETCD_PORT:-23990}" ZD_ETCD_PEER_PORT="${ZD_SCHEDULER_ETCD_PEER_PORT:-24000}"
  ZD_PRIMARY_PORTS="${ZD_SCHEDULER_PRIMARY_PORTS:-26399 26400}" ZD_SLAVE_PORTS="${ZD_SCHEDULER_SLAVE_PORTS:-26499 26500}" "${shared_broker[@]}")
auth_servers=(ZD_RUN_DIR="$ROOT/run/auth" ZD_INFRA_AUTH=1 ZD_INFRA_TLS=1 ZD_ETCD_PORT="${ZD_AUTH_ETCD_PORT:-23890}" ZD_ETCD_PEER_PORT="${ZD_AUTH_ETCD_PEER_PORT:-23900}"
  ZD_PRIMARY_PORTS="${ZD_AUTH_PRIMARY_PORTS:-26389 26390}" ZD_SLAVE_PORTS="${ZD_AUTH_SLAVE_PORTS:-26489 26490}" "${shared_broker[@]}")
fault_servers=(ZD_RUN_DIR="$ROOT/run/faults" ZD_AMQP_PORT="${ZD_FAULTS_AMQP_PORT:-25772}" ZD_MGMT_PORT="${ZD_FAULTS_MGMT_PORT:-25773}"
  ZD_DIST_PORT="${ZD_FAULTS_DIST_PORT:-25774}" ZD_ETCD_PORT="${ZD_FAULTS_ETCD_PORT:-24090}" ZD_ETCD_PEER_PORT="${ZD_FAULTS_ETCD_PEER_PORT:-24100}"
  ZD_PRIMARY_PORTS="${ZD_FAULTS_PRIMARY_PORTS:-26369 26370}" ZD_SLAVE_PORTS="${ZD_FAULTS_SLAVE_PORTS:-26469 26470}")

run_on_own_servers() { # servers-array-name project [trx name]: starts them, runs the project against them, stops them
  local -n servers=$1
  local project=$2 name=${3:-$(basename "$2" .csproj)} ok=0 run_dir
  run_dir=$(printf '%s\n' "${servers[@]}" | sed -n 's/^ZD_RUN_DIR=//p')
  echo "=== $name (on servers of its own: ${run_dir#"$ROOT/"})"
  if env "${servers[@]}" scripts/infra.sh up >/dev/null; then
    (export "${servers[@]}"; set -a; . "$run_dir/infra.env"; set +a
     run_project "$project" "$name") || ok=1
  else
    echo "scripts/infra.sh up failed for ${run_dir#"$ROOT/"}; see ${run_dir#"$ROOT/"}/logs"; ok=1
  fi
  env "${servers[@]}" scripts/infra.sh down >/dev/null || true
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
# nothing that declares endpoints there runs beside them: beside the drills the light lane runs what needs no broker
# and what has a virtual host of its own (the repair scheduler's fixture makes one per test), then waits.
drills=tests/ZeroDisk.EndToEnd.Tests/ZeroDisk.EndToEnd.Tests.csproj
scheduler=tests/ZeroDisk.RepairScheduler.Tests/ZeroDisk.RepairScheduler.Tests.csproj
faults=tests/ZeroDisk.FaultSchedule.Tests/ZeroDisk.FaultSchedule.Tests.csproj
light_first=(tests/ZeroDisk.Contracts.Tests/ZeroDisk.Contracts.Tests.csproj tests/ZeroDisk.Nbd.Tests/ZeroDisk.Nbd.Tests.csproj)
# ClusterState's suite (about a core, every test on a virtual host of its own) balances the lanes: on the heavy one,
# after the drills, it made that lane the suite's critical path (21 of 24 minutes).
light_then=(tests/ZeroDisk.Infrastructure.Tests/ZeroDisk.Infrastructure.Tests.csproj tests/ZeroDisk.LogCollector.Tests/ZeroDisk.LogCollector.Tests.csproj
  tests/ZeroDisk.ClusterState.Tests/ZeroDisk.ClusterState.Tests.csproj)
heavy=() # the rest, after the drills
for project in tests/*/*.Tests.csproj; do
  [[ " $drills $scheduler $faults ${light_first[*]} ${light_then[*]} " == *" $project "* ]] || heavy+=("$project")
done

status=0
lane_log="$results/light-lane.log"
drills_done="$results/.drills-done"
(
  ok=0
  run_lane "${light_first[@]}" || ok=1
  run_on_own_servers auth_servers "$scheduler" ZeroDisk.RepairScheduler.Tests.auth || ok=1
  run_on_own_servers scheduler_servers "$scheduler" || ok=1
  while [ ! -e "$drills_done" ]; do kill -0 $$ 2>/dev/null || exit 1; sleep 2; done
  run_lane "${light_then[@]}" || ok=1
  run_on_own_servers fault_servers "$faults" || ok=1
  exit $ok
) >"$lane_log" 2>&1 &
light_pid=$!
run_lane "$drills" || status=1
touch "$drills_done"
run_lane "${heavy[@]}" || status=1
wait "$light_pid" || status=1
cat "$lane_log"

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
