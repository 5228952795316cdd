#!/usr/bin/env bash
# Builds the project with AddressSanitizer and UndefinedBehaviorSanitizer in
# build-asan/ and runs the whole test suite there: unit tests, fuzz corpus
# replays and the integration tests, whose gatewayd, metabase-sync and
# gatewayctl are instrumented too. Any sanitizer report (memory error, leak,
# undefined behaviour) fails its test; tests/README.md says how.
# Usage: tests/sanitize.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/build_common.sh
build=${GW_ASAN_BUILD_DIR:-build-asan}
# -O1 -g1: under the sanitizers this compiles in little more than half the CPU
# time of -O2 -g, and reports still name file:line in every frame.
timed "build (ASan+UBSan)" configure_and_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DGW_SANITIZE=address,undefined

# Inherited by every test and every program a test starts. The first report
# ends the process with a non-zero status, and the fixtures that start
# gatewayd, metabase-sync and gatewayctl fail the test on a report whatever
# the status (tests/integration/fixtures: sanitizer.py, process.h).
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
timed "tests (ASan+UBSan)" ctest --test-dir "$build" -j"$GW_JOBS" --output-on-failure --timeout 900 "$@"
