#!/usr/bin/env bash
# Builds the project and runs the whole test suite (unit and integration).
# Usage: tests/run.sh [extra ctest arguments]
# GW_TIMES_FILE: when set, the build and test times are appended there.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/build_common.sh
build=${GW_BUILD_DIR:-build}
timed "build (normal)" configure_and_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
timed "tests (normal)" ctest --test-dir "$build" -j"$GW_JOBS" --output-on-failure --timeout 600 "$@"
