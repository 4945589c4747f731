#!/usr/bin/env bash
# A quick measurement, not the benchmark harness: no-op `echo` tasks per
# second through `jobctl map` with 2 workers, and the round trip of
# `jobctl ping`. Prints the median of RUNS runs (default 5) and every run.
#   bench/quick.sh [TASKS]      (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=${1:-20000}
runs=${RUNS:-5}

bash scripts/build.sh >/dev/null
bin=$PWD/build/bin
dir=$(mktemp -d /tmp/jobd-bench.XXXXXX)
export JOBD_SOCKET="ipc://$dir/jobd.sock"
"$bin/jobd" --workers 2 --state-dir "$dir/state" --log-dir "$dir/log" 2>"$dir/jobd.stderr" &
jobd_pid=$!
trap 'kill -TERM $jobd_pid 2>/dev/null; wait $jobd_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do "$bin/jobctl" ping >/dev/null 2>&1 && break; sleep 0.1; done

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

args=$(seq "$tasks")
rates=()
for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$bin/jobctl" --json map echo $args >/dev/null
  end=$(date +%s.%N)
  rates+=("$(awk -v n="$tasks" -v a="$start" -v b="$end" 'BEGIN {print n / (b - a)}')")
done
rtts=()
for _ in $(seq 50); do
  rtts+=("$("$bin/jobctl" --json ping | sed -E 's/.*"rtt_ms":([0-9.e+-]+).*/\1/')")
done
printf 'echo tasks/s through jobctl map (%d tasks, 2 workers): median %.0f  (runs: %s)\n' \
  "$tasks" "$(printf '%s\n' "${rates[@]}" | median)" "$(printf '%.0f ' "${rates[@]}")"
printf 'jobctl ping round trip: median %.3f ms, max %.3f ms (50 pings)\n' \
  "$(printf '%s\n' "${rtts[@]}" | median)" "$(printf '%s\n' "${rtts[@]}" | sort -g | tail -1)"
