#!/usr/bin/env bash
# The main job: builds jobd, starts it in user mode with its built-in
# defaults under a temporary runtime directory, runs the seed example through
# jobctl (results print as they complete), and stops jobd cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

# Only what the demo runs: the programs and the example plugins, not the tests.
bash scripts/build.sh jobd jobctl jobd-worker jobd_example_plugins >&2
bin=$PWD/build/bin
run_dir=$(mktemp -d /tmp/jobd-demo.XXXXXX)
export JOBD_SOCKET="ipc://$run_dir/jobd.sock"
jobd_pid=""
cleanup() {
  if [[ -n "$jobd_pid" ]] && kill -0 "$jobd_pid" 2>/dev/null; then
    kill -TERM "$jobd_pid"; wait "$jobd_pid" || true
  fi
  rm -rf "$run_dir"
}
trap cleanup EXIT

"$bin/jobd" --workers 2 --state-dir "$run_dir/state" --log-dir "$run_dir/log" 2>"$run_dir/jobd.stderr" &
jobd_pid=$!
for _ in $(seq 100); do  # up to 10 s for jobd to bind
  "$bin/jobctl" ping >/dev/null 2>&1 && break
  kill -0 "$jobd_pid" 2>/dev/null || { cat "$run_dir/jobd.stderr" >&2; exit 1; }
  sleep 0.1
done
"$bin/jobctl" ping

echo "== jobctl map sum_to_num 200000000 50000000   (completion order)"
"$bin/jobctl" map sum_to_num 200000000 50000000
echo "== the same with --ordered   (submission order)"
"$bin/jobctl" map --ordered sum_to_num 200000000 50000000
echo "== expected: (N+10)(N+11)/2 = $(( (200000000+10)*(200000000+11)/2 )) and $(( (50000000+10)*(50000000+11)/2 ))"
echo "== jobctl workers"
"$bin/jobctl" workers
echo "== jobctl logs (the last records)"
"$bin/jobctl" logs | tail -n 8

kill -TERM "$jobd_pid"
rc=0; wait "$jobd_pid" || rc=$?
jobd_pid=""
echo "== jobd stopped with exit status $rc"
exit "$rc"
