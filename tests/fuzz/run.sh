#!/bin/bash
# Runs one fuzz target at the lowest CPU priority, then merges what it found
# into the kept corpus (tests/fuzz/corpus/<target>, only inputs that add
# coverage) and prints the figures tests/fuzz/README.md records.
#   tests/fuzz/run.sh TARGET [SECONDS] [BUILD_DIR]
# BUILD_DIR (default build-fuzz) is a -DGW_FUZZ=ON clang build (README.md).
# A crash reproducer is left in <work>/artifacts: copy it to
# tests/fuzz/findings/TARGET/ and fix the code.
set -euo pipefail
target=$1
seconds=${2:-3600}
build=${3:-build-fuzz}
here=$(cd "$(dirname "$0")" && pwd)
binary=$build/tests/fuzz/fuzz_$target
work=$(mktemp -d "/tmp/fuzz-$target-XXXXXX")
mkdir -p "$work/corpus" "$work/artifacts" "$here/corpus/$target"
cp "$here/corpus/$target/"* "$work/corpus/" 2>/dev/null || true
status=0
nice -n 19 "$binary" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 -timeout=25 \
  -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/log.txt" 2>&1 || status=$?
nice -n 19 "$binary" -merge=1 "$here/corpus/$target" "$work/corpus" > "$work/merge.txt" 2>&1
last=$(grep -E '^#[0-9]+' "$work/log.txt" | tail -1)
echo "target:     $target"
echo "commit:     $(git -C "$here" rev-parse --short HEAD)"
echo "status:     $status (0 = no finding)"
echo "executions: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log.txt" | grep -o '[0-9]*$')"
echo "coverage:   $(grep -o 'cov: [0-9]* ft: [0-9]*' <<< "$last")"
echo "kept:       $(ls "$here/corpus/$target" | wc -l) inputs, $(du -sh "$here/corpus/$target" | cut -f1)"
echo "findings:   $(ls "$work/artifacts" | wc -l) in $work/artifacts"
echo "log:        $work/log.txt"
exit "$status"
