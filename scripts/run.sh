#!/usr/bin/env bash
# The run command: installs what is missing, brings the local infrastructure up from Debian packages (no Docker
# needed), builds the suite, starts the local stack that stays up afterwards (scripts/stack.sh: a deployment serving
# vdisk vd1, with its status page; how to look at it and attach the disk is printed first), then runs the failure
# drill on a whole private stack of its own — ClusterState, RepairScheduler and two nodes (an NbdHost agent and a
# LogCollector each) — ending with a summary table; exits non-zero if any check did not hold. The drill removes
# what it registered when it ends.
#   scripts/run.sh [--outage tmp|final] [--side primary|slave] [--crash-server] [--kill-repair-agent] [--crash-tlog]
#                  [--load-seconds N] [--timeout-seconds N]
#   scripts/run.sh --down     stops the local stack and the infrastructure
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = --down ]; then
  scripts/stack.sh down
  scripts/infra.sh down
  exit 0
fi
scripts/infra.sh up
set -a; . "${ZD_RUN_DIR:-$ROOT/run}/infra.env"; set +a
dotnet build ZeroDiskServices.sln -c Release -nologo -v q
stack=0
scripts/stack.sh up || { stack=$?; echo "[run] the local stack did not come up (see above); the drill runs anyway" >&2; }
drill=0
dotnet tools/Drill/bin/Release/net10.0/zddrill.dll "$@" || drill=$?
# The drill's table is the last thing printed; its verdict is the exit code (then the stack's, if it failed).
[ "$drill" -ne 0 ] && exit "$drill"
exit "$stack"
