#!/usr/bin/env bash
# Builds the project with ThreadSanitizer in build-tsan/ and runs the test
# suite there (the fuzz replays aside, which run on one thread): gatewayd's
# event loops (every gateway, directory, pipeline, control and auth
# integration test runs gatewayd with two), the spool's thread pool (queue,
# qmgr and control tests) and the directory client (categorizer tests against
# slapd) all run instrumented. On demand, not in CI: TSan makes programs 5-15
# times slower. A data race fails its test like any sanitizer report; known
# false positives are named in tests/sanitizers/tsan.supp.
# Usage: tests/tsan.sh [extra ctest arguments, e.g. -R pipeline]
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/build_common.sh
build=${GW_TSAN_BUILD_DIR:-build-tsan}
timed "build (TSan)" configure_and_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DGW_SANITIZE=thread

# halt_on_error=0: a run lists every race it sees, not only the first; the
# process still exits non-zero (66) at the end, and the fixtures fail the test.
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/tests/sanitizers/tsan.supp"
timed "tests (TSan)" ctest --test-dir "$build" -j"$GW_JOBS" --output-on-failure --timeout 900 -LE fuzz "$@"
