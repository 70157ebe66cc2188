#!/usr/bin/env bash
# The chaos suite (issue #10): two drills on a private copy of the local infrastructure, each under fio load, that
# between them SIGKILL every kind of component once — primary engine, slave engine, NBD server, tlog server, node
# agent (mid repair job), log collector, ClusterState, RepairScheduler, RabbitMQ and etcd — and check that no
# acknowledged write is lost (fio verification, checksums), no state transition is recorded twice, and every incident
# ends with the engine online/rip and every cluster healthy. RabbitMQ and etcd are killed for real, so the suite
# runs its own infrastructure (ZD_RUN_DIR=run/chaos-infra, ports below) and never disturbs scripts/infra.sh's.
#   scripts/chaos.sh            ~8 minutes on 2 cores; exits non-zero if any check did not hold
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ZD_RUN_DIR="$ROOT/run/chaos-infra" ZD_AMQP_PORT=35772 ZD_MGMT_PORT=45772 ZD_DIST_PORT=45773 \
  ZD_ETCD_PORT=23890 ZD_ETCD_PEER_PORT=23900 ZD_PRIMARY_PORTS="26389 26390" ZD_SLAVE_PORTS="26489 26490"
scripts/infra.sh up
trap 'scripts/infra.sh down' EXIT
set -a; . "$ZD_RUN_DIR/infra.env"; set +a
dotnet build ZeroDiskServices.sln -c Release -nologo -v q
mkdir -p run/chaos
log="run/chaos/$(date -u +%Y%m%dT%H%M%SZ).log"
status=0
run() {
  echo "=== zddrill $*" | tee -a "$log"
  dotnet tools/Drill/bin/Release/net10.0/zddrill.dll "$@" 2>&1 | tee -a "$log" || status=1
}
run --outage tmp --side primary --load-seconds 30 --chaos --crash-server --crash-tlog
run --outage final --side slave --load-seconds 20 --chaos --kill-repair-agent
echo "chaos suite: $([ $status -eq 0 ] && echo "every check held" || echo FAILED); full output in $log"
exit $status
