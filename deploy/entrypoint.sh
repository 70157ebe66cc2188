#!/bin/sh
# Runs the service's own binary with the arguments compose gives it.
case "$SERVICE" in
  NbdHost) exec dotnet /app/nbdhost.dll "$@" ;;
  LogCollector) exec dotnet /app/logcollector.dll "$@" ;;
  ClusterState) exec dotnet /app/clusterstate.dll "$@" ;;
  RepairScheduler) exec dotnet /app/repairscheduler.dll "$@" ;;
  Setup) exec /bin/sh /setup.sh "$@" ;;
  *) echo "unknown SERVICE '$SERVICE'" >&2; exit 2 ;;
esac
