# What tests/run.sh, tests/sanitize.sh and tests/tsan.sh share (sourced, not run).
# GW_JOBS: parallel jobs for the build and ctest (default 2).
# GW_TIMES_FILE: when set, timed() appends "<what> <wall> <CPU>" there.
GW_JOBS=${GW_JOBS:-2}

# configure_and_build <build dir> [cmake options...]: one Ninja configure and
# build; through ccache when it is installed, so a second build of the same
# sources and flags (another worktree, a rerun) is mostly cache hits.
configure_and_build() {
  local dir=$1
  shift
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$dir" -G Ninja "${launcher[@]}" "$@" >/dev/null
  cmake --build "$dir" -j"$GW_JOBS"
}

# Sets $1 to the CPU seconds (user + system) of this shell's finished child
# processes (`times` runs in this shell: in a subshell it would count none).
children_cpu() {
  local file
  file=$(mktemp)
  times >"$file"
  printf -v "$1" '%s' "$(awk 'NR == 2 {
    total = 0
    for (i = 1; i <= 2; ++i) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] }
    printf "%d", total
  }' "$file")"
  rm -f "$file"
}

# timed <what> <command...>: runs the command; records its wall time and the
# CPU time of its processes (also when it fails) and returns its status.
timed() {
  local what=$1
  shift
  local start=$SECONDS cpu_start cpu_end status=0
  children_cpu cpu_start
  "$@" || status=$?
  children_cpu cpu_end
  if [ -n "${GW_TIMES_FILE:-}" ]; then
    printf '%-24s %5d s wall %6d s CPU%s\n' "$what" $((SECONDS - start)) $((cpu_end - cpu_start)) \
      "$([ "$status" -eq 0 ] || echo "  (failed: $status)")" >>"$GW_TIMES_FILE"
  fi
  return "$status"
}
