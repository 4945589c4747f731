#!/usr/bin/env bash
# Kept for old habits: the quick smoke run of the benchmark harness (bench/run).
#   bench/quick.sh [bench/run options]
exec "$(dirname "$0")/run" --quick "$@"
