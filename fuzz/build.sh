#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ (FUZZ_BUILD_DIR):
# every library they use gets coverage instrumentation, ASan and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
dir=${FUZZ_BUILD_DIR:-build-fuzz}
flags="-O1 -fsanitize=fuzzer-no-link"
cmake -S . -B "$dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DJOBD_SANITIZE=address,undefined -DJOBD_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$dir" -j 2 --target jobd_fuzz
