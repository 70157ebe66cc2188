#!/usr/bin/env bash
# NBD throughput and latency: the same fio jobs (nbd engine) against NbdHost serve-memory, nbdkit memory (the
# anchor) and, with ZD_BENCH_REDIS=1, NbdHost over Redis. Prints IOPS, MiB/s, p99 latency and the ratio to nbdkit
# per job, and NbdHost's peak RSS. See bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_JOB="${ZD_BENCH_SECONDS:-20}"
SIZE_MIB="${ZD_BENCH_SIZE_MIB:-1024}"
MEMORY_PORT="${ZD_BENCH_MEMORY_PORT:-21809}"
NBDKIT_PORT="${ZD_BENCH_NBDKIT_PORT:-21810}"
REDIS_URI="${ZD_BENCH_REDIS_URI:-}"
WORK="$(mktemp -d /tmp/zd-bench-nbd.XXXXXX)"
# ZD_BENCH_NBDHOST: another build of nbdhost (e.g. a published "before" tree) to measure instead of this tree's.
NBDHOST="${ZD_BENCH_NBDHOST:-$ROOT/services/NbdHost/bin/Release/net10.0/nbdhost}"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in fio nbdkit jq nbdinfo; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }; done

if [[ "${ZD_BENCH_NO_BUILD:-0}" != 1 && -z "${ZD_BENCH_NBDHOST:-}" ]]; then
  dotnet build -c Release "$ROOT/services/NbdHost/ZeroDisk.NbdHost.csproj" -v q -nologo >/dev/null
fi

wait_for_nbd() { # uri
  for _ in $(seq 1 100); do nbdinfo --size "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "no NBD server at $1" >&2; exit 1
}

# The servers run in the bench's own empty directory: the .NET host watches its working directory tree for
# appsettings changes, and a busy one (this repository's bin/, obj/ and run/ during builds and tests) cost the server
# ~12% of its CPU in a profile (the ".NET File Watch" thread).
cd "$WORK"
# Handlers run inline on the socket's completion: no thread-pool hop per request.
DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 "$NBDHOST" serve-memory \
  --listen "127.0.0.1:$MEMORY_PORT" --export "bench:$SIZE_MIB" >"$WORK/nbdhost.log" 2>&1 &
NBDHOST_PID=$!
PIDS+=("$NBDHOST_PID")

# nbdkit sets PR_SET_PDEATHSIG: keep it in the foreground (-f) under a parent that waits for it.
( nbdkit -f -p "$NBDKIT_PORT" memory "${SIZE_MIB}M" & echo $! >"$WORK/nbdkit.pid"; wait ) &
PIDS+=("$!")

declare -A URI=( [nbdhost-memory]="nbd://127.0.0.1:$MEMORY_PORT/bench" [nbdkit-memory]="nbd://127.0.0.1:$NBDKIT_PORT/" )
TARGETS=(nbdkit-memory nbdhost-memory)
# ZD_BENCH_SKIP_MEMORY=1: only nbdkit (the anchor) and NbdHost over Redis, for before/after runs on a busy machine.
[[ "${ZD_BENCH_SKIP_MEMORY:-0}" != 1 ]] || TARGETS=(nbdkit-memory)

REDIS_PID=""
if [[ "${ZD_BENCH_REDIS:-0}" == 1 ]]; then
  if "$NBDHOST" serve --help >/dev/null 2>&1 && [[ -n "$REDIS_URI" ]]; then
    # The Redis-backed server's arguments (cluster config, vdisk) come from the environment: see bench/README.md.
    # shellcheck disable=SC2086
    DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 "$NBDHOST" serve ${ZD_BENCH_REDIS_ARGS:-} >"$WORK/nbdhost-redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    URI[nbdhost-redis]="$REDIS_URI"
    TARGETS+=(nbdhost-redis)
  else
    echo "ZD_BENCH_REDIS=1 needs an 'nbdhost serve' verb and ZD_BENCH_REDIS_URI; skipping the Redis backend" >&2
  fi
fi

[[ -s "$WORK/nbdkit.pid" ]] || sleep 0.5
for target in "${TARGETS[@]}"; do wait_for_nbd "${URI[$target]}"; done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime + stime of a process, in clock ticks
TICK_US=$((1000000 / $(getconf CLK_TCK)))

run_fio() { # target name rw bs iodepth seconds(0 = one pass over the size)
  local uri="${URI[$1]}" out="$WORK/$1-$2.json" timing=()
  [[ "$6" == 0 ]] || timing=(--time_based "--runtime=$6" --ramp_time=1)
  fio --name="$2" --ioengine=nbd --uri="$uri" --rw="$3" --bs="$4" --iodepth="$5" --size="${SIZE_MIB}m" \
      --norandommap --randrepeat=0 "${timing[@]}" --output-format=json --output="$out" >/dev/null 2>"$WORK/fio.err" \
    || { echo "fio $2 on $1 failed:" >&2; cat "$WORK/fio.err" >&2; tail -n 40 "$WORK/$1.log" >&2 2>/dev/null || true; exit 1; }
  echo "$out"
}

# Fill every store first so reads return data, not holes.
for target in "${TARGETS[@]}"; do run_fio "$target" prefill write 1m 8 0 >/dev/null; done

JOBS=(
  "4k-randread-qd1 randread 4k 1"
  "4k-randread-qd32 randread 4k 32"
  "4k-randwrite-qd1 randwrite 4k 1"
  "4k-randwrite-qd32 randwrite 4k 32"
  "1m-read-qd8 read 1m 8"
  "1m-write-qd8 write 1m 8"
)
# ZD_BENCH_JOBS: a space-separated subset of the job names above, for a focused before/after run.
if [[ -n "${ZD_BENCH_JOBS:-}" ]]; then
  selected=()
  for job in "${JOBS[@]}"; do [[ " $ZD_BENCH_JOBS " == *" ${job%% *} "* ]] && selected+=("$job"); done
  [[ ${#selected[@]} -gt 0 ]] || { echo "ZD_BENCH_JOBS='$ZD_BENCH_JOBS' names none of: ${JOBS[*]%% *}" >&2; exit 1; }
  JOBS=("${selected[@]}")
fi

printf "fio --ioengine=nbd, %ss per job, %s MiB export, %s, nbdhost %s\n" "$SECONDS_PER_JOB" "$SIZE_MIB" "$(date -u +%FT%TZ)" "$NBDHOST"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "$REDIS_PID" ]]; then
  # What the Redis-backed server burns with no I/O at all (timers, heartbeats, etcd watch and lease): part of every
  # CPU/op figure below, the larger the fewer I/Os a job completes.
  idle_before=$(cpu_ticks "$REDIS_PID"); sleep 5
  echo "nbdhost-redis idle CPU: $(awk -v t=$(($(cpu_ticks "$REDIS_PID") - idle_before)) -v us="$TICK_US" 'BEGIN { printf "%.0f ms/s", t * us / 5000 }')"
fi
# The engines behind the Redis-backed server (ZD_BENCH_ENGINES, "host:port,..."), when they run on this machine: what
# one of them does alone (SET of 4 KiB, one client and 32 clients: the ceiling of a mirrored write, which is one such
# write on each of two engines at once), and their CPU per I/O in each job (the other half of a write's cost).
ENGINE_PIDS=()
if [[ -n "$REDIS_PID" && -n "${ZD_BENCH_ENGINES:-}" ]]; then
  IFS=, read -ra engines <<<"$ZD_BENCH_ENGINES"
  for engine in "${engines[@]}"; do
    pid=$(ss -Hltnp "sport = :${engine##*:}" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
    [[ -z "$pid" ]] || ENGINE_PIDS+=("$pid")
  done
  anchor_engine="${engines[0]}"
  engine_cli=(redis-cli -h "${anchor_engine%:*}" -p "${anchor_engine##*:}")
  value="$(head -c 4096 /dev/zero | tr '\0' x)"
  engine_set() { # clients requests: SET/s of 4 KiB values on the first engine, on keys removed afterwards
    redis-benchmark -h "${anchor_engine%:*}" -p "${anchor_engine##*:}" -c "$1" -n "$2" -r 1000000 --csv \
      SET "zd-bench-anchor:__rand_int__" "$value" 2>/dev/null | awk -F'","' 'NR == 2 { printf "%.0f", $2 }'
  }
  ENGINE_SET_1=$(engine_set 1 4000)
  ENGINE_SET_32=$(engine_set 32 40000)
  # One client's GET of a 4 KiB value: the engine round trip every read at queue depth 1 waits for, whatever the server
  # does (its floor, with nbdkit's own round trip, is printed after the table).
  "${engine_cli[@]}" SET zd-bench-anchor:get "$value" >/dev/null
  ENGINE_GET_1=$(redis-benchmark -h "${anchor_engine%:*}" -p "${anchor_engine##*:}" -c 1 -n 20000 --csv \
    GET zd-bench-anchor:get 2>/dev/null | awk -F'","' 'NR == 2 { printf "%.0f", $2 }')
  "${engine_cli[@]}" --scan --pattern 'zd-bench-anchor:*' | xargs -r "${engine_cli[@]}" unlink >/dev/null
  echo "engine anchor: $anchor_engine alone (appendfsync $("${engine_cli[@]}" config get appendfsync | tail -n 1)), SET 4 KiB:" \
    "1 client ${ENGINE_SET_1:-?}/s, 32 clients ${ENGINE_SET_32:-?}/s; GET 4 KiB, 1 client ${ENGINE_GET_1:-?}/s"
  echo "@result nbd-redis engine set_1_client_per_s ${ENGINE_SET_1:-}"
  echo "@result nbd-redis engine get_1_client_per_s ${ENGINE_GET_1:-}"
  echo "@result nbd-redis engine set_32_clients_per_s ${ENGINE_SET_32:-}"
  # The disk under the engines, which fsync every write (appendfsync always): fsynced 256 KiB appends by one writer
  # per engine. A mirrored write lands on two engines' logs, so half of this is what any client write can reach here.
  engine_dir=$("${engine_cli[@]}" config get dir | tail -n 1)
  if [[ -d "$engine_dir" ]]; then
    disk_dir=$(mktemp -d "$engine_dir/zd-bench-disk.XXXXXX")
    DISK_MIBS=$(fio --name=disk --directory="$disk_dir" --rw=write --bs=256k --size=64m --numjobs=${#engines[@]} --fdatasync=1 \
      --time_based --runtime=5 --group_reporting --output-format=json 2>/dev/null | jq -r '.jobs[0].write.bw_bytes / 1048576 | floor')
    rm -rf "$disk_dir"
    echo "disk anchor: fsynced 256 KiB writes, ${#engines[@]} writers, in $engine_dir: ${DISK_MIBS:-?} MiB/s" \
      "(mirrored client writes: at most $(( ${DISK_MIBS:-0} / 2 )) MiB/s)"
    echo "@result nbd-redis disk fsynced_mib_per_s ${DISK_MIBS:-}"
  fi
fi
# Append-only-file rewrites of the engines (INFO persistence): each forks and writes the whole dataset again beside
# the fsynced appends, and they, not the data path, set the pace of large writes when they come often.
engines_aof_rewrites() {
  local sum=0 engine n
  for engine in "${engines[@]}"; do
    n=$(redis-cli -h "${engine%:*}" -p "${engine##*:}" info persistence 2>/dev/null | awk -F: '/^aof_rewrites:/ { print $2 + 0 }')
    sum=$((sum + ${n:-0}))
  done
  echo "$sum"
}
engines_cpu_ticks() { local sum=0 pid; for pid in "${ENGINE_PIDS[@]}"; do sum=$((sum + $(cpu_ticks "$pid"))); done; echo "$sum"; }
per_io() { # ticks ios: microseconds of CPU per I/O (ramp excluded: its I/Os are counted at the job's mean rate)
  awk -v t="$1" -v us="$TICK_US" -v n="$2" -v s="$SECONDS_PER_JOB" 'BEGIN { if (n > 0) printf "%.0f", t * us / (n * (s + 1) / s); else print "-" }'
}
echo
# CPU/op: the server's process CPU time (user + system) during the job divided by the I/Os fio completed, NbdHost over Redis only: the cost of one request in the server, whatever the load does to the IOPS.
printf "%-18s %-15s %10s %10s %12s %10s %12s %12s\n" job target IOPS MiB/s "p99 (us)" "x nbdkit" "CPU/op (us)" "engines (us)"
[[ ${#ENGINE_PIDS[@]} -eq 0 ]] || aof_rewrites_before=$(engines_aof_rewrites)
for job in "${JOBS[@]}"; do
  read -r name rw bs depth <<<"$job"
  direction=$([[ "$rw" == *read ]] && echo read || echo write)
  anchor=""
  for target in "${TARGETS[@]}"; do
    cpu_before=""; engines_before=""
    [[ "$target" != nbdhost-redis ]] || { cpu_before=$(cpu_ticks "$REDIS_PID"); engines_before=$(engines_cpu_ticks); }
    out=$(run_fio "$target" "$name" "$rw" "$bs" "$depth" "$SECONDS_PER_JOB")
    read -r iops mibs p99 ios < <(jq -r --arg d "$direction" \
      '.jobs[0][$d] | "\(.iops) \(.bw_bytes / 1048576) \((.clat_ns.percentile["99.000000"] // 0) / 1000) \(.total_ios)"' "$out")
    cpu="-"; engines_cpu="-"
    [[ -z "$cpu_before" ]] || cpu=$(per_io $(($(cpu_ticks "$REDIS_PID") - cpu_before)) "$ios")
    [[ -z "$engines_before" || ${#ENGINE_PIDS[@]} -eq 0 ]] || engines_cpu=$(per_io $(($(engines_cpu_ticks) - engines_before)) "$ios")
    [[ "$target" == nbdkit-memory ]] && anchor="$iops"
    ratio=$(awk -v a="$iops" -v b="$anchor" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf "%-18s %-15s %10.0f %10.1f %12.0f %10s %12s %12s\n" "$name" "$target" "$iops" "$mibs" "$p99" "$ratio" "$cpu" "$engines_cpu"
    if [[ "$name" == 4k-randread-qd1 && "$target" == nbdhost-redis && -n "${ENGINE_GET_1:-}" && -n "$anchor" ]]; then
      # A read at queue depth 1 is nbdkit's round trip (client to server and back) plus one engine round trip, one
      # after the other: with a server that took no time at all, this is the most it could do.
      QD1_READ_FLOOR=$(awk -v k="$anchor" -v e="$ENGINE_GET_1" -v r="$iops" \
        'BEGIN { f = 1 / (1 / k + 1 / e); printf "%.0f IOPS (%.2fx nbdkit); NbdHost over Redis reached %.2f of it", f, f / k, r / f }')
    fi
  done
done
[[ -z "${QD1_READ_FLOOR:-}" ]] || echo "4k-randread-qd1 floor, nbdkit's round trip plus one engine GET after it: $QD1_READ_FLOOR"

echo
[[ ${#ENGINE_PIDS[@]} -eq 0 ]] || echo "engine append-only-file rewrites during the jobs: $(( $(engines_aof_rewrites) - aof_rewrites_before ))"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ "${ZD_BENCH_SKIP_MEMORY:-0}" == 1 ]] || echo "nbdhost-memory peak RSS: $(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$NBDHOST_PID/status")"
[[ -z "$REDIS_PID" ]] || echo "nbdhost-redis peak RSS: $(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$REDIS_PID/status")"
