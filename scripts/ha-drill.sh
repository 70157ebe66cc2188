#!/usr/bin/env bash
# The drill on a "past one machine" layout (docs/OPERATIONS.md), locally: a three-member etcd cluster, two
# ClusterState instances side by side, and --chaos, so one etcd member and one ClusterState instance are SIGKILLed
# during the incident while the others carry on. Runs its own infrastructure (ZD_RUN_DIR=run/ha-infra, ports below),
# so it never disturbs scripts/infra.sh's; stops it at the end.
#   scripts/ha-drill.sh [extra zddrill options]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ZD_RUN_DIR="$ROOT/run/ha-infra" ZD_ETCD_MEMBERS=3 ZD_AMQP_PORT=35872 ZD_MGMT_PORT=45872 ZD_DIST_PORT=45873 \
  ZD_ETCD_PORT=23990 ZD_ETCD_PEER_PORT=24000 ZD_PRIMARY_PORTS="26399 26400" ZD_SLAVE_PORTS="26499 26500"
scripts/infra.sh up
trap 'scripts/infra.sh down' EXIT
set -a; . "$ZD_RUN_DIR/infra.env"; set +a
dotnet build ZeroDiskServices.sln -c Release -nologo -v q
dotnet tools/Drill/bin/Release/net10.0/zddrill.dll --outage tmp --side primary --load-seconds 20 --clusterstate-instances 2 --chaos "$@"
