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
