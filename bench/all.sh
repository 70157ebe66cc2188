#!/usr/bin/env bash
# Every benchmark in one run, then ONE table: each figure beside its anchor measured in the same run, the ratio, the
# target, and the load average around each bench (the machine is shared: say how busy it was).
#   bench/all.sh              full sizes (about 20-40 minutes on a quiet 2-core machine)
#   bench/all.sh --quick      a quick look: short fio jobs, fewer engines, events and blocks (a few minutes)
#   ZD_BENCH_ONLY="clusterstate logcollector"   a subset of: nbd-redis resync clusterstate logcollector
#   ZD_BENCH_BUILDS_CLUSTERSTATE / ZD_BENCH_BUILDS_LOGCOLLECTOR="before=run/before-bin/X/x.dll current=..."
#                             compare builds of a service back to back (ZD_BENCH_ROUNDS alternations; bench/README.md)
# Starts what it needs: scripts/infra.sh up (its ports move with ZD_AMQP_PORT, ZD_ETCD_PORT, ... as in the README),
# and each bench builds what it runs. Logs of every bench: run/bench/<time>/.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$BENCH_ROOT"

quick=0
[ "${1:-}" = --quick ] && quick=1
benches=(${ZD_BENCH_ONLY:-nbd-redis resync clusterstate logcollector})
out="run/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
bench_infra || { echo "scripts/infra.sh up failed" >&2; exit 1; }

declare -A loads status
run_bench() { # name, command...: its output goes to $out/<name>.log (and, condensed, to the terminal)
  local name=$1 rc; shift
  echo "== $name ($(date -u +%H:%M:%S), load average $(bench_load)): $*"
  loads[$name]="$(bench_load | cut -d' ' -f1)"
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  loads[$name]+=" → $(bench_load | cut -d' ' -f1)"
  status[$name]=$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc, see $out/$name.log)")
  grep -E '^(==|FIGURE|@result)' "$out/$name.log" | grep -v '^@result' | sed 's/^/   /'
  [ $rc -eq 0 ] || tail -n 15 "$out/$name.log" | sed 's/^/   ! /'
}

for bench in "${benches[@]}"; do
  case "$bench" in
    nbd-redis)
      if [ $quick = 1 ]; then run_bench nbd-redis env ZD_BENCH_SECONDS="${ZD_BENCH_SECONDS:-3}" ZD_BENCH_SIZE_MIB="${ZD_BENCH_SIZE_MIB:-256}" bench/nbd-redis.sh
      else run_bench nbd-redis bench/nbd-redis.sh; fi ;;
    resync)
      if [ $quick = 1 ]; then run_bench resync bench/resync.sh 4096 2; else run_bench resync bench/resync.sh; fi ;;
    clusterstate)
      builds=(); [ -z "${ZD_BENCH_BUILDS_CLUSTERSTATE:-}" ] || builds=("ZD_BENCH_BUILDS=$ZD_BENCH_BUILDS_CLUSTERSTATE")
      run_bench clusterstate env "${builds[@]}" bench/clusterstate.sh "$([ $quick = 1 ] && echo 30 || echo 100)" ;;
    logcollector)
      builds=(); [ -z "${ZD_BENCH_BUILDS_LOGCOLLECTOR:-}" ] || builds=("ZD_BENCH_BUILDS=$ZD_BENCH_BUILDS_LOGCOLLECTOR")
      if [ $quick = 1 ]; then
        run_bench logcollector env "${builds[@]}" ZD_BENCH_EVENTS="${ZD_BENCH_EVENTS:-10000}" \
          ZD_BENCH_LATENCY_EVENTS="${ZD_BENCH_LATENCY_EVENTS:-200}" ZD_BENCH_BACKLOG_LINES="${ZD_BENCH_BACKLOG_LINES:-200000}" bench/logcollector.sh
      else
        run_bench logcollector env "${builds[@]}" bench/logcollector.sh
      fi ;;
    *) echo "unknown bench $bench (nbd-redis resync clusterstate logcollector)" >&2; exit 2 ;;
  esac
done

# One table. A figure's anchor comes from the same run (and, for the services, from the same build's run).
echo
echo "## bench/all.sh $([ $quick = 1 ] && echo '--quick ')$(date -u +%FT%TZ) on $(nproc) cores; logs in $out"
echo
printf '| %-13s | %-9s | %-34s | %12s | %-34s | %12s | %7s | %-16s | %-11s |\n' bench build figure value anchor "anchor value" ratio target load
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------------  ----------- ------------------------------------ -------------- ------------------------------------ -------------- --------- ------------------ -------------
row() { # bench build figure value anchor anchor-value target [ratio as value/anchor, or "-"]
  local ratio
  ratio=$(awk -v a="$4" -v b="$6" 'BEGIN { if (a != "" && b != "" && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')
  printf '| %-13s | %-9s | %-34s | %12s | %-34s | %12s | %7s | %-16s | %-11s |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$ratio" "$7" "${loads[$1]:-}"
}

for bench in "${benches[@]}"; do
  log="$out/$bench.log"
  if [ "${status[$bench]:-}" != ok ]; then
    printf '| %-13s | %-9s | %-34s | %s |\n' "$bench" - "${status[$bench]:-not run}" ""
    continue
  fi
  case "$bench" in
    nbd-redis) # bench/nbd.sh's table: job target IOPS MiB/s p99(us) ratio-to-nbdkit
      awk '$1 ~ /-qd[0-9]+$/ && NF >= 6 { print $1, $2, $3, $4, $5 }' "$log" | while read -r job target iops mibs p99; do
        [ "$target" = nbdkit-memory ] && { declare -g "anchor_${job//-/_}=$iops"; continue; }
        anchor_var="anchor_${job//-/_}"
        case "$job/$target" in
          4k-randwrite-qd32/nbdhost-redis) t="≥ 0.4x" ;; 4k-randread-qd32/nbdhost-redis) t="≥ 0.6x" ;;
          4k-randread-qd1/nbdhost-redis) t="≥ 0.6x" ;; 4k-randwrite-qd1/nbdhost-redis) t="≥ 0.35x" ;;
          1m-write-qd8/nbdhost-redis) t="≥ 0.05x, p99<50ms" ;; 1m-read-qd8/nbdhost-redis) t="≥ 0.3x" ;;
          */nbdhost-memory) t="≥ 1.0x (qd32)" ;; *) t="" ;;
        esac
        row nbd-redis - "$job $target IOPS (p99 ${p99%.*} us)" "$iops" "$job nbdkit-memory IOPS" "${!anchor_var:-}" "$t"
      done
      # A mirrored 4 KiB write is one SET-sized write on each of two engines at once: the engine alone, at the same
      # depth, is its ceiling on this machine (appendfsync always: an fsync per engine call).
      engine_fig() { awk -v f="$1" '$1 == "@result" && $2 == "nbd-redis" && $3 == "engine" && $4 == f { print $5 }' "$log"; }
      for depth in 1 32; do
        iops=$(awk -v j="4k-randwrite-qd$depth" '$1 == j && $2 == "nbdhost-redis" { print $3 }' "$log")
        figure=$([ $depth = 1 ] && echo set_1_client_per_s || echo set_32_clients_per_s)
        row nbd-redis - "4k-randwrite-qd$depth nbdhost-redis IOPS" "$iops" "engine alone, SET 4 KiB, $depth client(s)/s" "$(engine_fig $figure)" ""
      done
      grep -E 'CPU|peak RSS|engine anchor' "$log" | sed 's/^/| nbd-redis     | -         | /; s/$/ |/' ;;
    resync) # "FIGURE resync <repair> MiB/s, bare copy <bare> MiB/s, ratio ..."
      read -r repair bare < <(sed -nE 's/^FIGURE resync ([0-9.]+) MiB\/s, bare copy ([0-9.]+) MiB\/s.*/\1 \2/p' "$log" | tail -n 1)
      row resync - "tmp-outage repair MiB/s" "${repair:-}" "bare pipelined copy MiB/s" "${bare:-}" "≥ 0.9x" ;;
    clusterstate|logcollector)
      for build in $(awk -v b="$bench" '$1 == "@result" && $2 == b { print $3 }' "$log" | awk '!seen[$0]++'); do
        # The mean of the build's rounds (each round is one run of the bench with its own anchor).
        fig() { awk -v b="$bench" -v l="$build" -v f="$1" '$1 == "@result" && $2 == b && $3 == l && $4 == f { s += $5; n++ } END { if (n) printf "%.1f", s / n }' "$log"; }
        if [ "$bench" = clusterstate ]; then
          row clusterstate "$build" "burst events/s" "$(fig burst_events_per_s)" "etcd txn/s, 32 callers" "$(fig anchor_txn_per_s)" "≥ 3,000/s"
          row clusterstate "$build" "paced publish→etcd p50 ms" "$(fig paced_p50_ms)" "etcd txn p50 ms" "$(fig anchor_txn_p50_ms)" ""
          row clusterstate "$build" "paced publish→etcd p99 ms" "$(fig paced_p99_ms)" "etcd txn p99 ms" "$(fig anchor_txn_p99_ms)" "< 25 ms"
          row clusterstate "$build" "burst ClusterState CPU ms/report" "$(fig burst_cpu_ms_per_report)" "" "" ""
          row clusterstate "$build" "warm: burst events/s" "$(fig burst_warm_events_per_s)" "etcd txn/s, 32 callers" "$(fig anchor_txn_per_s)" "≥ 3,000/s"
          row clusterstate "$build" "warm: paced publish→etcd p99 ms" "$(fig paced_warm_p99_ms)" "etcd txn p99 ms" "$(fig anchor_txn_p99_ms)" "< 25 ms"
          row clusterstate "$build" "warm: burst CPU ms/report" "$(fig burst_warm_cpu_ms_per_report)" "" "" ""
        else
          row logcollector "$build" "events/s through the collector" "$(fig throughput_events_per_s)" "direct C# publish, consumed/s" "$(fig anchor_consumed_per_s)" "≥ 0.8x"
          row logcollector "$build" "collector CPU µs/event" "$(fig throughput_cpu_us_per_event)" "" "" ""
          row logcollector "$build" "latency p99 ms" "$(fig latency_p99_ms)" "" "" "< 100 ms"
          row logcollector "$build" "peak RSS MiB, live" "$(fig live_peak_rss_mib)" "limit MiB" 150 "≤ 1.00x"
          row logcollector "$build" "peak RSS MiB, backlog" "$(fig backlog_peak_rss_mib)" "limit MiB" 150 "≤ 1.00x"
          row logcollector "$build" "peak RSS MiB, catch-up" "$(fig catchup_peak_rss_mib)" "limit MiB" 150 "≤ 1.00x"
          row logcollector "$build" "catch-up events/s" "$(fig catchup_events_per_s)" "direct C# publish, consumed/s" "$(fig anchor_consumed_per_s)" ""
        fi
      done ;;
  esac
done
echo
echo "load average now: $(bench_load) ($(nproc) cores); a ratio compares figures taken minutes apart on this machine"
for bench in "${benches[@]}"; do [ "${status[$bench]:-}" = ok ] || exit 1; done
