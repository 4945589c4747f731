#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
#   scripts/test.sh             Release build in build/
#   scripts/test.sh --sanitize  the same under AddressSanitizer and UBSan, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--sanitize" ]]; then
  export BUILD_DIR=build-asan BUILD_TYPE=Debug SANITIZE=address,undefined
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh
ctest --test-dir "$build_dir" --output-on-failure --timeout 180 -j 2
