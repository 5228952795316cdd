#!/usr/bin/env bash
# Builds the project and runs the whole test suite (unit and integration).
# Usage: tests/run.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${GW_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${GW_JOBS:-2}"
ctest --test-dir "$build" -j"${GW_JOBS:-2}" --output-on-failure --timeout 600 "$@"
