#!/usr/bin/env bash
# Installs what is missing and builds jobd; a second run rebuilds only what
# changed.
#   scripts/build.sh                 Release build of everything in build/
#   scripts/build.sh TARGET...       only these targets (and what they need)
#   BUILD_TYPE=Debug BUILD_DIR=build-debug scripts/build.sh
#   SANITIZE=address,undefined BUILD_DIR=build-asan scripts/build.sh
# A build folder keeps the generator it was made with (the README's plain
# `cmake -S . -B build` makes Unix Makefiles; this script makes Ninja).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-Release}
sanitize=${SANITIZE:-}

# The value of one cache entry, empty when the folder has no cache yet.
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" 2>/dev/null; }

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  generator=(-G Ninja)
  command -v ninja >/dev/null || generator=()
  cmake -S . -B "$build_dir" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE="$build_type" -DJOBD_SANITIZE="$sanitize" >/dev/null
elif [[ "$(cached CMAKE_BUILD_TYPE)" != "$build_type" || "$(cached JOBD_SANITIZE)" != "$sanitize" ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" -DJOBD_SANITIZE="$sanitize" >/dev/null
fi
# Otherwise the build itself runs cmake again when a CMakeLists.txt changed.
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
