#!/usr/bin/env bash
# ClusterState benchmark: events/s and publish → etcd latency against the shared RabbitMQ and etcd.
# Usage: bench/clusterstate.sh [engines-per-phase]   (needs scripts/infra.sh up; reads run/infra.env)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
env_file="${ZD_INFRA_ENV:-$root/run/infra.env}"
[[ -f "$env_file" ]] || env_file=/work/main/run/infra.env
set -a; . "$env_file"; set +a
dotnet build -c Release "$root/bench/ClusterStateBench/ClusterStateBench.csproj" -v q -nologo >/dev/null
dotnet "$root/bench/ClusterStateBench/bin/Release/net10.0/ClusterStateBench.dll" "$@"
