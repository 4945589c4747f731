#!/usr/bin/env bash
# Installs what is missing and builds jobd.
#   scripts/build.sh                 Release build in build/
#   BUILD_TYPE=Debug BUILD_DIR=build-debug scripts/build.sh
#   SANITIZE=address,undefined BUILD_DIR=build-asan scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DJOBD_SANITIZE="${SANITIZE:-}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
