#!/usr/bin/env bash
# The run command: installs what is missing, brings the local infrastructure up from Debian packages (no Docker
# needed), builds the suite and runs the failure drill on a whole private stack — ClusterState, RepairScheduler
# and two nodes (an NbdHost agent and a LogCollector each) — ending with a summary table; exits non-zero if any
# check did not hold.
#   scripts/run.sh [--outage tmp|final] [--side primary|slave] [--crash-server] [--kill-repair-agent] [--crash-tlog]
#                  [--load-seconds N] [--timeout-seconds N]
# The infrastructure stays up afterwards; stop it with scripts/infra.sh down.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/infra.sh up
set -a; . run/infra.env; set +a
dotnet build ZeroDiskServices.sln -c Release -nologo -v q
exec dotnet tools/Drill/bin/Release/net10.0/zddrill.dll "$@"
