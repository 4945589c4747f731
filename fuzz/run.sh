#!/usr/bin/env bash
# Runs the fuzz targets built by fuzz/build.sh, one after the other (one core),
# each for SECONDS (default 20) from its corpus in fuzz/corpus/<target>/.
#
#   fuzz/run.sh [-t SECONDS] [--seed] [--update] [TARGET...]
#
#   TARGET     decode_request decode_reply decode_to_worker decode_from_worker
#              supervisor (default: all)
#   --seed     first add the generated seeds (fuzz_make_corpus) to the corpus
#   --update   merge what the run found into fuzz/corpus/<target>/, minimized
#              (libFuzzer's -merge=1); without it the tree is left as it is
#
# A crash, a sanitizer report, a leak or a 10 s input fails the run; the input
# is kept in build-fuzz/artifacts/ (replay: build-fuzz/bin/fuzz_<target> FILE).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
seed=0
update=0
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t) seconds=$2; shift 2 ;;
    --seed) seed=1; shift ;;
    --update) update=1; shift ;;
    -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] ||
  targets=(decode_request decode_reply decode_to_worker decode_from_worker supervisor)

dir=${FUZZ_BUILD_DIR:-build-fuzz}
artifacts="$dir/artifacts"
mkdir -p "$artifacts"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ $seed -eq 1 ]]; then
  "$dir/bin/fuzz_make_corpus" "$work/seeds"
fi

failed=0
passed=0
for target in "${targets[@]}"; do
  bin="$dir/bin/fuzz_$target"
  corpus="fuzz/corpus/$target"
  mkdir -p "$work/$target"
  [[ -d $corpus ]] && cp -r "$corpus/." "$work/$target/"
  [[ -d $work/seeds/$target ]] && cp -r "$work/seeds/$target/." "$work/$target/"
  max_len=4096
  [[ $target == supervisor ]] && max_len=8192
  echo "== $target: $seconds s from $(find "$work/$target" -type f | wc -l) inputs"
  set +e
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" "$work/$target" \
    >"$dir/fuzz-$target.log" 2>&1
  status=$?
  set -e
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' \
    "$dir/fuzz-$target.log" || true
  if [[ $status -ne 0 ]]; then
    echo "== $target FAILED (exit $status); the end of $dir/fuzz-$target.log:"
    tail -n 40 "$dir/fuzz-$target.log"
    failed=$((failed + 1))
    continue
  fi
  passed=$((passed + 1))
  if [[ $update -eq 1 ]]; then
    rm -rf "$work/merged" && mkdir -p "$work/merged"
    mkdir -p "$corpus"
    "$bin" -merge=1 -max_len="$max_len" "$work/merged" "$corpus" "$work/$target" \
      >"$dir/fuzz-$target-merge.log" 2>&1
    rm -rf "$corpus" && mv "$work/merged" "$corpus"
    echo "== $target: corpus now $(find "$corpus" -type f | wc -l) inputs"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
