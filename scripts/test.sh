#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, NuGet restore), starts the local infrastructure,
# builds once and runs every test project against the real servers, one project at a time (2 cores: heavy
# I/O tests in parallel would measure each other). Ends with "N passed, N failed".
#   scripts/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Nbd]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/infra.sh up
set -a; . run/infra.env; set +a

dotnet build ZeroDiskServices.sln -c Release -nologo -v q -warnaserror

results="$ROOT/run/test-results"
rm -rf "$results"; mkdir -p "$results"
status=0
# The fault-schedule seeds run last: they load the shared servers hardest (and a seed may kill and restart them),
# so nothing else is measured in their wake.
projects=$(ls tests/*/*.Tests.csproj | grep -v FaultSchedule; ls tests/*/*.Tests.csproj | grep FaultSchedule)
for project in $projects; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results" --blame-hang-timeout 10m "$@" || status=1
done

# Issue 21: one suite again with credentials and TLS on — engines with a password, an ACL user and TLS only (client
# certificates required), etcd with authentication on https (client certificates required) — on a second etcd and
# second engines beside the first (the broker is shared). Everything reads them from run/auth/infra.env's
# Engines__*/Etcd__* variables, as from any run/infra.env; the suite's own engines get TLS from its ZD_TLS_SERVER_*.
# About a minute.
auth=(env ZD_RUN_DIR="$ROOT/run/auth" ZD_INFRA_AUTH=1 ZD_INFRA_TLS=1 ZD_ETCD_PORT="${ZD_AUTH_ETCD_PORT:-23890}" ZD_ETCD_PEER_PORT="${ZD_AUTH_ETCD_PEER_PORT:-23900}"
  ZD_PRIMARY_PORTS="${ZD_AUTH_PRIMARY_PORTS:-26389 26390}" ZD_SLAVE_PORTS="${ZD_AUTH_SLAVE_PORTS:-26489 26490}"
  ZD_INFRA_RABBITMQ_URI="$RABBITMQ_URI" ZD_INFRA_RABBITMQ_MANAGEMENT_URL="$RABBITMQ_MANAGEMENT_URL")
echo "=== ZeroDisk.RepairScheduler.Tests with credentials and TLS on (scripts/infra.sh up --auth --tls)"
if "${auth[@]}" scripts/infra.sh up >/dev/null; then
  (set -a; . run/auth/infra.env; set +a
   dotnet test tests/ZeroDisk.RepairScheduler.Tests/ZeroDisk.RepairScheduler.Tests.csproj -c Release --no-build --nologo \
     --logger "trx;LogFileName=ZeroDisk.RepairScheduler.Tests.auth.trx" --logger "console;verbosity=minimal" \
     --results-directory "$results" --blame-hang-timeout 10m "$@") || status=1
else
  status=1
fi
"${auth[@]}" scripts/infra.sh down >/dev/null || true

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
