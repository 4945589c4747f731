#!/usr/bin/env bash
# What the durable store costs, side by side with --no-store, in one run:
#  1. submit of one job of 100,000 tasks (jobctl submit, until acknowledged);
#  2. end-to-end no-op tasks/s through jobctl map (20,000 echo tasks);
#  3. jobctl ping round trips while a stored 100,000-task job runs (the loop
#     must not wait on the store's fsyncs);
#  4. the coordinator's RSS with 1,000,000 tasks queued.
# Medians of RUNS runs (default 5), runs alternating store / no store.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}

bash scripts/build.sh >/dev/null
bin=$PWD/build/bin
dir=$(mktemp -d /tmp/jobd-bench.XXXXXX)
export JOBD_SOCKET="ipc://$dir/jobd.sock"
jobd_pid=""
stop_jobd() {
  if [[ -n "$jobd_pid" ]]; then kill -TERM "$jobd_pid" 2>/dev/null || true; wait "$jobd_pid" 2>/dev/null || true; fi
  jobd_pid=""
}
trap 'stop_jobd; rm -rf "$dir"' EXIT
start_jobd() {  # start_jobd [--no-store]
  rm -rf "$dir/state" "$dir/log"
  "$bin/jobd" --workers 2 --state-dir "$dir/state" --log-dir "$dir/log" "$@" 2>>"$dir/jobd.stderr" &
  jobd_pid=$!
  for _ in $(seq 100); do "$bin/jobctl" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "jobd did not start" >&2; exit 1
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
seconds_of() { local s=$(date +%s.%N); "$@" >/dev/null; local e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN {print b - a}'; }

items100k=$(seq 100000)
items20k=$(seq 20000)
declare -A submit map
for mode in store no-store; do submit[$mode]=""; map[$mode]=""; done
for _ in $(seq "$runs"); do
  for mode in store no-store; do
    flag=(); [[ $mode == no-store ]] && flag=(--no-store)
    start_jobd "${flag[@]}"
    # shellcheck disable=SC2086
    submit[$mode]+="$(seconds_of "$bin/jobctl" submit echo $items100k) "
    "$bin/jobctl" --json watch 1 >/dev/null  # let it finish before the next measurement
    # shellcheck disable=SC2086
    t=$(seconds_of "$bin/jobctl" --json map echo $items20k)
    map[$mode]+="$(awk -v t="$t" 'BEGIN {print 20000 / t}') "
    stop_jobd
  done
done
for mode in store no-store; do
  printf '%-9s submit of 100,000 tasks: median %.3f s (runs: %s)\n' "$mode" \
    "$(tr ' ' '\n' <<<"${submit[$mode]}" | grep . | median)" "${submit[$mode]}"
  printf '%-9s map of 20,000 echo tasks: median %.0f tasks/s (runs: %s)\n' "$mode" \
    "$(tr ' ' '\n' <<<"${map[$mode]}" | grep . | median)" "${map[$mode]}"
done

for mode in store no-store; do
  flag=(); [[ $mode == no-store ]] && flag=(--no-store)
  start_jobd "${flag[@]}"
  # shellcheck disable=SC2086
  "$bin/jobctl" --json map echo $items100k >/dev/null &
  map_pid=$!
  rtts=()
  while kill -0 "$map_pid" 2>/dev/null && [[ ${#rtts[@]} -lt 400 ]]; do
    rtts+=("$("$bin/jobctl" --json ping | sed -E 's/.*"rtt_ms":([0-9.e+-]+).*/\1/')")
  done
  wait "$map_pid"
  printf '%-9s ping while 100,000 tasks run: %d pings, median %.3f ms, p99 %.3f ms, max %.3f ms\n' \
    "$mode" "${#rtts[@]}" "$(printf '%s\n' "${rtts[@]}" | median)" \
    "$(printf '%s\n' "${rtts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int(NR*0.99)+ (NR*0.99>int(NR*0.99))]}')" \
    "$(printf '%s\n' "${rtts[@]}" | sort -g | tail -1)"
  stop_jobd
done

for mode in store no-store; do
  flag=(); [[ $mode == no-store ]] && flag=(--no-store)
  start_jobd "${flag[@]}"
  "$bin/jobctl" submit --no-store spin 600000 600000 >/dev/null  # both workers busy
  for _ in $(seq 10); do
    # shellcheck disable=SC2086
    "$bin/jobctl" submit echo $items100k >/dev/null
  done
  queued=$("$bin/jobctl" --json ping | sed -E 's/.*"queued":([0-9]+).*/\1/')
  rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$jobd_pid/status")
  printf '%-9s RSS with %s tasks queued: %.0f MiB (%.0f bytes a task)\n' "$mode" "$queued" \
    "$(awk -v k="$rss_kb" 'BEGIN {print k / 1024}')" "$(awk -v k="$rss_kb" -v q="$queued" 'BEGIN {print k * 1024 / q}')"
  stop_jobd
done
